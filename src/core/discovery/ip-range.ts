/**
 * Scan targets as owners type them: CIDR (`10.0.1.0/24`), octet ranges and wildcards
 * (`10.0.1-3.*`, the Braiins Toolbox form), start–end (`10.0.0.5-10.0.0.40`), single addresses,
 * or any mix pasted with commas, spaces or newlines. IPv4 only. The total is bounded before
 * anything is expanded, so a typo like `10.0.0.0/8` is a clear error, not a 16-million-host scan.
 */
import { type AppError, appError, err, ok, type Result } from '../../shared/errors'

/** Default bound: four /24s is the benchmark case; 4096 leaves room for a /20. */
export const DEFAULT_MAX_ADDRESSES = 4096

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m) return undefined
  let n = 0
  for (let i = 1; i <= 4; i++) {
    const part = m[i] ?? ''
    if (part.length > 1 && part.startsWith('0')) return undefined // leading zeros read as octal by some tools
    const o = Number(part)
    if (o > 255) return undefined
    n = n * 256 + o
  }
  return n
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** One token as a list of [start, end] inclusive integer spans. */
type Spans = [number, number][]

const bad = (token: string, why: string): Result<never, AppError> =>
  err(
    appError(
      'INVALID_PARAMS',
      `"${token.length > 60 ? `${token.slice(0, 57)}...` : token}" is not a valid address range: ${why}`,
    ),
  )

function parseToken(token: string): Result<Spans, AppError> {
  if (token.includes(':')) return bad(token, 'IPv6 ranges are not supported')
  // CIDR
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(token)
  if (cidr) {
    const base = ipToInt(cidr[1] ?? '')
    const bits = Number(cidr[2])
    if (base === undefined) return bad(token, 'bad address')
    if (bits > 32) return bad(token, 'prefix longer than 32')
    const size = 2 ** (32 - bits)
    const network = Math.floor(base / size) * size
    // Skip the network and broadcast addresses where they exist (prefixes up to /30).
    return ok(bits <= 30 ? [[network + 1, network + size - 2]] : [[network, network + size - 1]])
  }
  // start-end with full addresses on both sides (also an en dash, as pasted from documents)
  const se = /^([\d.]+)\s*[-–]\s*([\d.]+)$/.exec(token)
  if (se && (se[1] ?? '').split('.').length === 4 && (se[2] ?? '').split('.').length === 4) {
    const a = ipToInt(se[1] ?? '')
    const b = ipToInt(se[2] ?? '')
    if (a === undefined || b === undefined) return bad(token, 'bad address')
    if (b < a) return bad(token, 'the end is before the start')
    return ok([[a, b]])
  }
  // octet form: each octet is N, N-M or *
  const octets = token.split('.')
  if (octets.length !== 4) return bad(token, 'expected four octets, a CIDR or start-end')
  const ranges: [number, number][] = []
  for (const [i, o] of octets.entries()) {
    if (o === '*') {
      // A wildcard last octet means the usable hosts of that /24.
      ranges.push(i === 3 ? [1, 254] : [0, 255])
      continue
    }
    const m = /^(\d{1,3})(?:[-–](\d{1,3}))?$/.exec(o)
    if (!m) return bad(token, `octet "${o}" is not a number, a range or *`)
    const lo = Number(m[1])
    const hi = m[2] === undefined ? lo : Number(m[2])
    if (lo > 255 || hi > 255) return bad(token, `octet "${o}" is above 255`)
    if (hi < lo) return bad(token, `octet range "${o}" runs backwards`)
    ranges.push([lo, hi])
  }
  const [r0, r1, r2, r3] = ranges as [[number, number], [number, number], [number, number], [number, number]]
  const spans: Spans = []
  for (let a = r0[0]; a <= r0[1]; a++)
    for (let b = r1[0]; b <= r1[1]; b++)
      for (let c = r2[0]; c <= r2[1]; c++) {
        const base = ((a * 256 + b) * 256 + c) * 256
        spans.push([base + r3[0], base + r3[1]])
        // Stop building spans early for absurd inputs; the size check below reports it.
        if (spans.length > 65_536) return ok(spans)
      }
  return ok(spans)
}

/**
 * Parses a pasted list into unique addresses in input order. Errors name the offending token;
 * a total above `maxAddresses` is an error that says how many it would have been.
 */
export function parseTargets(input: string, maxAddresses = DEFAULT_MAX_ADDRESSES): Result<string[], AppError> {
  const tokens = input
    .split(/[\s,;]+/)
    .map((t) => t.trim().replace(/^["']|["']$/g, ''))
    .filter((t) => t !== '')
  if (tokens.length === 0) return err(appError('INVALID_PARAMS', 'No addresses given'))
  const all: Spans = []
  let total = 0
  for (const t of tokens) {
    const spans = parseToken(t)
    if (!spans.ok) return spans
    for (const s of spans.value) total += s[1] - s[0] + 1
    if (total > maxAddresses)
      return err(
        appError(
          'INVALID_PARAMS',
          `Too many addresses: the ranges cover more than ${maxAddresses} (at least ${total}); scan a smaller range`,
          {
            max: maxAddresses,
          },
        ),
      )
    all.push(...spans.value)
  }
  const seen = new Set<number>()
  const out: string[] = []
  for (const [a, b] of all)
    for (let n = a; n <= b; n++) {
      if (seen.has(n)) continue
      seen.add(n)
      out.push(intToIp(n))
    }
  return ok(out)
}
