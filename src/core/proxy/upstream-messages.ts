/**
 * What an upstream pool sends the proxy, decoded and validated as pure functions. Pools differ
 * (research/stratum.md §1.2, §1.4): subscribe results with one or two tuples, error replies as
 * arrays, objects, strings or a ckpool `reject-reason`; every shape seen in the wild is accepted and
 * anything else is a precise `{ ok: false, message }` — the client logs it and reconnects.
 */
import type { RpcId } from '../stratum/codec'
import { parseUint32 } from '../stratum/messages'

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string }

const HEX = /^(?:[0-9a-fA-F]{2})*$/
const HASH = /^[0-9a-fA-F]{64}$/

export interface SubscribeResult {
  extranonce1: Buffer
  extranonce2Size: number
  /** The pool's subscription id for session resume (the `mining.notify` tuple's id), when given. */
  sessionId?: string
}

/** `[[["mining.set_difficulty", id], ["mining.notify", id]] | ["mining.notify", id], en1, en2Size]`. */
export function parseSubscribeResult(result: unknown): Parsed<SubscribeResult> {
  if (!Array.isArray(result) || result.length < 3)
    return { ok: false, message: 'subscribe result is not [subscriptions, extranonce1, extranonce2_size]' }
  const [subs, en1, size] = result
  if (typeof en1 !== 'string' || !HEX.test(en1) || en1.length > 32)
    return { ok: false, message: 'subscribe extranonce1 is not hex of at most 16 bytes' }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 32)
    return { ok: false, message: `subscribe extranonce2_size ${String(size)} is not 1..32` }
  const out: SubscribeResult = { extranonce1: Buffer.from(en1, 'hex'), extranonce2Size: size }
  const sid = notifySubscriptionId(subs)
  if (sid !== undefined) out.sessionId = sid
  return { ok: true, value: out }
}

function notifySubscriptionId(subs: unknown): string | undefined {
  if (!Array.isArray(subs)) return undefined
  // Either a single tuple ["mining.notify", id] or a list of tuples.
  const tuples = typeof subs[0] === 'string' ? [subs] : subs
  for (const t of tuples) {
    if (Array.isArray(t) && t[0] === 'mining.notify' && typeof t[1] === 'string' && /^[0-9a-fA-F]{1,32}$/.test(t[1]))
      return t[1]
  }
  return undefined
}

/** A validated `mining.notify`, fields as the pool sent them (lower-cased hex). */
export interface UpstreamNotify {
  jobId: string
  /** Stratum form (word-swapped, research §0). */
  prevhash: string
  coinb1: string
  coinb2: string
  branch: string[]
  version: number
  nbits: number
  ntime: number
  clean: boolean
}

export function parseNotify(params: unknown[]): Parsed<UpstreamNotify> {
  if (params.length < 9) return { ok: false, message: `mining.notify has ${params.length} params, expected 9` }
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime] = params
  // ESP-Miner reads clean_jobs from the last element; some pools append a 10th param.
  const clean = params[params.length - 1]
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 64)
    return { ok: false, message: 'notify job_id is not a string of 1..64 characters' }
  if (typeof prevhash !== 'string' || !HASH.test(prevhash))
    return { ok: false, message: 'notify prevhash is not 32-byte hex' }
  if (typeof coinb1 !== 'string' || !HEX.test(coinb1) || coinb1.length === 0 || coinb1.length > 8192)
    return { ok: false, message: 'notify coinb1 is not hex' }
  if (typeof coinb2 !== 'string' || !HEX.test(coinb2) || coinb2.length > 8192)
    return { ok: false, message: 'notify coinb2 is not hex' }
  if (!Array.isArray(branch) || branch.length > 32 || !branch.every((b) => typeof b === 'string' && HASH.test(b)))
    return { ok: false, message: 'notify merkle branch is not a list of 32-byte hex hashes' }
  const v = parseUint32(version)
  const b = parseUint32(nbits)
  const t = parseUint32(ntime)
  if (v === undefined || b === undefined || t === undefined)
    return { ok: false, message: 'notify version/nbits/ntime are not 32-bit hex' }
  if (typeof clean !== 'boolean') return { ok: false, message: 'notify clean_jobs is not a boolean' }
  return {
    ok: true,
    value: {
      jobId,
      prevhash: prevhash.toLowerCase(),
      coinb1: coinb1.toLowerCase(),
      coinb2: coinb2.toLowerCase(),
      branch: (branch as string[]).map((x) => x.toLowerCase()),
      version: v,
      nbits: b,
      ntime: t,
      clean,
    },
  }
}

export function parseSetDifficulty(params: unknown[]): Parsed<number> {
  const d = typeof params[0] === 'number' ? params[0] : typeof params[0] === 'string' ? Number(params[0]) : Number.NaN
  return Number.isFinite(d) && d > 0
    ? { ok: true, value: d }
    : { ok: false, message: `mining.set_difficulty ${JSON.stringify(params[0] ?? null)} is not a positive number` }
}

export function parseSetExtranonce(params: unknown[]): Parsed<{ extranonce1: Buffer; extranonce2Size: number }> {
  const [en1, size] = params
  if (typeof en1 !== 'string' || !HEX.test(en1) || en1.length > 32)
    return { ok: false, message: 'mining.set_extranonce extranonce1 is not hex of at most 16 bytes' }
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 32)
    return { ok: false, message: 'mining.set_extranonce extranonce2_size is not 1..32' }
  return { ok: true, value: { extranonce1: Buffer.from(en1, 'hex'), extranonce2Size: size } }
}

export function parseSetVersionMask(params: unknown[]): Parsed<number> {
  const m = parseUint32(params[0])
  return m === undefined ? { ok: false, message: 'mining.set_version_mask is not 32-bit hex' } : { ok: true, value: m }
}

/** BIP310 configure reply: the granted mask, or 0 when version rolling was declined or is unknown. */
export function parseConfigureResult(result: unknown, error: unknown): number {
  if (error !== null && error !== undefined) return 0
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return 0
  const r = result as Record<string, unknown>
  if (r['version-rolling'] !== true) return 0
  return parseUint32(r['version-rolling.mask']) ?? 0
}

/** `client.reconnect [host?, port?, wait?]` — port may be a number or a numeric string (ckpool). */
export function parseReconnect(params: unknown[]): Parsed<{ host?: string; port?: number; waitS: number }> {
  if (params.length === 0) return { ok: true, value: { waitS: 0 } }
  const [host, portRaw, waitRaw] = params
  if (typeof host !== 'string' || host.length === 0 || host.length > 253 || !/^[A-Za-z0-9.:[\]-]+$/.test(host))
    return { ok: false, message: 'client.reconnect host is not a host name' }
  const port = typeof portRaw === 'number' ? portRaw : typeof portRaw === 'string' ? Number(portRaw) : Number.NaN
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return { ok: false, message: 'client.reconnect port is not 1..65535' }
  const wait = typeof waitRaw === 'number' ? waitRaw : typeof waitRaw === 'string' ? Number(waitRaw) : 0
  return { ok: true, value: { host, port, waitS: Number.isFinite(wait) && wait > 0 ? wait : 0 } }
}

/** Why the upstream refused a share, grouped for stats; `message` keeps the pool's own words. */
export type UpstreamRejectKind =
  | 'stale'
  | 'duplicate'
  | 'low-difficulty'
  | 'unauthorized'
  | 'not-subscribed'
  | 'bad-share'
  | 'other'

export interface SubmitVerdict {
  accepted: boolean
  kind?: UpstreamRejectKind
  /** The pool's text (error message or reject-reason), sanitised and capped. */
  message?: string
  code?: number
}

/**
 * Decodes a reply to `mining.submit` in any of the shapes of research §1.4: `result: true`;
 * `error: [code, msg, …]`; `error: {code, message}` (miningcore); `error: "msg"` (ckpool);
 * `result: false` with a `reject-reason`.
 */
export function classifySubmitReply(result: unknown, error: unknown, rejectReason?: unknown): SubmitVerdict {
  if (result === true && (error === null || error === undefined)) return { accepted: true }
  let code: number | undefined
  let message: string | undefined
  if (Array.isArray(error)) {
    if (typeof error[0] === 'number') code = error[0]
    if (typeof error[1] === 'string') message = error[1]
  } else if (typeof error === 'object' && error !== null) {
    const e = error as Record<string, unknown>
    if (typeof e.code === 'number') code = e.code
    if (typeof e.message === 'string') message = e.message
  } else if (typeof error === 'string') {
    message = error
  }
  if (typeof rejectReason === 'string' && rejectReason.length > 0) message = message ?? rejectReason
  const text = clean(message ?? (result === false ? 'rejected' : 'unexpected reply'))
  const out: SubmitVerdict = { accepted: false, kind: kindOf(code, text), message: text }
  if (code !== undefined) out.code = code
  return out
}

function kindOf(code: number | undefined, text: string): UpstreamRejectKind {
  const t = text.toLowerCase()
  if (/dup/.test(t) || code === 22) return 'duplicate'
  if (/stale|job not found|invalid jobid|unknown-work|time-too/.test(t) || code === 21) return 'stale'
  if (/low diff|difficulty too low|above target|high-hash|low-diff/.test(t) || code === 23) return 'low-difficulty'
  if (/unauthori[sz]ed|worker mismatch|not authori/.test(t) || code === 24) return 'unauthorized'
  if (/not subscribed/.test(t) || code === 25) return 'not-subscribed'
  if (/nonce2|version|ntime|invalid|bad/.test(t)) return 'bad-share'
  return 'other'
}

function clean(s: string): string {
  let out = ''
  for (let i = 0; i < s.length && out.length < 160; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c !== 0x7f) out += s[i]
  }
  return out
}

/** A client-side request line. */
export function encodeRequest(id: RpcId, method: string, params: readonly unknown[]): string {
  return `${JSON.stringify({ id, method, params })}\n`
}
