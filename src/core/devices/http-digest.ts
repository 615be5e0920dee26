/**
 * HTTP Digest client authentication (RFC 7616, which keeps RFC 2617's MD5 and `qop=auth`).
 * Antminer, Elphapex and Hammer web CGIs require it on every call (research §4.1).
 * Pure: the caller supplies the cnonce and nonce count, so the result is testable against the
 * RFC's own example.
 */
import { createHash } from 'node:crypto'

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess'

export interface DigestChallenge {
  realm: string
  nonce: string
  opaque?: string
  /** The qop values the server offers; empty for RFC 2069 servers. */
  qop: string[]
  algorithm: DigestAlgorithm
  stale: boolean
}

/** Splits `key=value, key="quoted, value"` pairs; quoted values may contain commas and `\"`. */
function parseParams(text: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g
  for (const m of text.matchAll(re)) {
    const key = (m[1] ?? '').toLowerCase()
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '')
    if (!out.has(key)) out.set(key, value)
  }
  return out
}

/**
 * Reads the Digest challenge from a `WWW-Authenticate` header value (or several joined by the
 * HTTP layer). Returns undefined when there is no usable Digest challenge.
 */
export function parseDigestChallenge(header: string | readonly string[] | undefined): DigestChallenge | undefined {
  if (header === undefined) return undefined
  const values = typeof header === 'string' ? [header] : header
  for (const v of values) {
    const at = v.search(/\bdigest\s/i)
    if (at < 0) continue
    const params = parseParams(v.slice(at + 'digest'.length))
    const realm = params.get('realm')
    const nonce = params.get('nonce')
    if (realm === undefined || nonce === undefined) continue
    const algoText = (params.get('algorithm') ?? 'MD5').toUpperCase()
    const algorithm = (['MD5', 'MD5-SESS', 'SHA-256', 'SHA-256-SESS'] as const).find((a) => a === algoText)
    if (!algorithm) continue
    const qop = (params.get('qop') ?? '')
      .split(',')
      .map((q) => q.trim().toLowerCase())
      .filter((q) => q !== '')
    const opaque = params.get('opaque')
    const challenge: DigestChallenge = {
      realm,
      nonce,
      qop,
      algorithm: algorithm.replace('SESS', 'sess') as DigestAlgorithm,
      stale: (params.get('stale') ?? '').toLowerCase() === 'true',
    }
    if (opaque !== undefined) challenge.opaque = opaque
    return challenge
  }
  return undefined
}

export interface DigestInput {
  challenge: DigestChallenge
  method: string
  /** The request-target exactly as sent on the request line, e.g. `/cgi-bin/get_miner_conf.cgi`. */
  uri: string
  username: string
  password: string
  cnonce: string
  /** Nonce count, starting at 1 for each new server nonce. */
  nc: number
}

function hashHex(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm.startsWith('SHA-256') ? 'sha256' : 'md5')
    .update(text, 'utf8')
    .digest('hex')
}

/** The `response` value (RFC 7616 §3.4.1). `qop=auth` when offered, legacy RFC 2069 otherwise. */
export function digestResponse(input: DigestInput): { response: string; qop: 'auth' | null; ncText: string } {
  const { challenge: c, method, uri, username, password, cnonce, nc } = input
  const h = (t: string) => hashHex(c.algorithm, t)
  let ha1 = h(`${username}:${c.realm}:${password}`)
  if (c.algorithm.endsWith('-sess')) ha1 = h(`${ha1}:${c.nonce}:${cnonce}`)
  const ha2 = h(`${method}:${uri}`)
  const ncText = nc.toString(16).padStart(8, '0')
  if (c.qop.includes('auth')) {
    return { response: h(`${ha1}:${c.nonce}:${ncText}:${cnonce}:auth:${ha2}`), qop: 'auth', ncText }
  }
  return { response: h(`${ha1}:${c.nonce}:${ha2}`), qop: null, ncText }
}

const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/** The full `Authorization` header value. */
export function digestAuthorization(input: DigestInput): string {
  const { response, qop, ncText } = digestResponse(input)
  const parts = [
    `username=${quote(input.username)}`,
    `realm=${quote(input.challenge.realm)}`,
    `nonce=${quote(input.challenge.nonce)}`,
    `uri=${quote(input.uri)}`,
    `algorithm=${input.challenge.algorithm}`,
    `response=${quote(response)}`,
  ]
  if (input.challenge.opaque !== undefined) parts.push(`opaque=${quote(input.challenge.opaque)}`)
  if (qop) parts.push(`qop=${qop}`, `nc=${ncText}`, `cnonce=${quote(input.cnonce)}`)
  return `Digest ${parts.join(', ')}`
}
