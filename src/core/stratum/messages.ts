/**
 * Stratum V1 message types, parameter validation for what miners send, and encoders for what we
 * send. Encoders return the exact wire line including the trailing `\n`, so the server can encode
 * once (a notify for thousands of connections) and write the same string everywhere.
 *
 * Shapes follow research/stratum.md §1.2–§1.4: error replies are `[code, "message", null]` with the
 * standard codes 20–25 and `result: null`, plus a ckpool-style `reject-reason` string.
 */
import type { RpcId } from './codec'

// ---------------------------------------------------------------------------------------------
// Error codes and reject reasons

/** The de-facto standard Stratum V1 error codes (slush / public-pool `eStratumErrorCode`). */
export const StratumErrorCode = {
  Other: 20,
  JobNotFound: 21,
  Duplicate: 22,
  LowDifficulty: 23,
  Unauthorized: 24,
  NotSubscribed: 25,
} as const
export type StratumErrorCodeValue = (typeof StratumErrorCode)[keyof typeof StratumErrorCode]

/** Why a share was refused; stable strings for stats, logs and the API. */
export type RejectReason =
  | 'job-not-found'
  | 'stale'
  | 'duplicate'
  | 'low-difficulty'
  | 'unauthorized'
  | 'not-subscribed'
  | 'bad-params'
  | 'bad-extranonce2'
  | 'bad-version'
  | 'version-not-negotiated'
  | 'ntime-out-of-range'

const REJECTS: Record<RejectReason, { code: StratumErrorCodeValue; message: string }> = {
  'job-not-found': { code: 21, message: 'Job not found' },
  stale: { code: 21, message: 'Stale share' },
  duplicate: { code: 22, message: 'Duplicate share' },
  'low-difficulty': { code: 23, message: 'Low difficulty share' },
  unauthorized: { code: 24, message: 'Unauthorized worker' },
  'not-subscribed': { code: 25, message: 'Not subscribed' },
  'bad-params': { code: 20, message: 'Invalid submit parameters' },
  'bad-extranonce2': { code: 20, message: 'Invalid extranonce2 length' },
  'bad-version': { code: 20, message: 'Version bits outside the negotiated mask' },
  'version-not-negotiated': { code: 20, message: 'Version rolling not negotiated: send mining.configure first' },
  'ntime-out-of-range': { code: 20, message: 'Ntime out of range' },
}

export function rejectCode(reason: RejectReason): StratumErrorCodeValue {
  return REJECTS[reason].code
}

export function rejectMessage(reason: RejectReason): string {
  return REJECTS[reason].message
}

// ---------------------------------------------------------------------------------------------
// Client → server parameters

export interface SubscribeParams {
  /** Sanitised user agent (printable ASCII, ≤ 128 chars) or '' when absent. */
  userAgent: string
  /** cgminer's session-resume id; we never resume, but keep it for logs. */
  sessionId?: string
}

export interface AuthorizeParams {
  username: string
  password: string
}

export interface ConfigureParams {
  extensions: string[]
  versionRolling?: { mask: number; minBitCount?: number }
  minimumDifficulty?: { value?: number }
  subscribeExtranonce: boolean
  info: boolean
}

export interface SubmitParams {
  worker: string
  jobId: string
  /** Lower-case hex as sent; its length is checked against the session's extranonce2 size. */
  extranonce2Hex: string
  ntime: number
  nonce: number
  /** The 6th parameter, when present. */
  versionBits?: number
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string }

const MAX_NAME_CHARS = 128

/** `mining.subscribe [user_agent?, session_id?]` — every parameter optional, never fails. */
export function parseSubscribe(params: unknown[]): SubscribeParams {
  const ua = typeof params[0] === 'string' ? sanitise(params[0]) : ''
  const sid = params[1]
  return typeof sid === 'string' && /^[0-9a-fA-F]{1,32}$/.test(sid)
    ? { userAgent: ua, sessionId: sid.toLowerCase() }
    : { userAgent: ua }
}

/** `mining.authorize [username, password?]`. */
export function parseAuthorize(params: unknown[]): ParseResult<AuthorizeParams> {
  const user = params[0]
  if (typeof user !== 'string' || user.trim().length === 0)
    return { ok: false, message: 'username must be a non-empty string' }
  if (user.length > MAX_NAME_CHARS) return { ok: false, message: `username longer than ${MAX_NAME_CHARS} characters` }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(user)) return { ok: false, message: 'username contains control characters' }
  const pass = params[1]
  return {
    ok: true,
    value: { username: user.trim(), password: typeof pass === 'string' ? pass.slice(0, MAX_NAME_CHARS) : '' },
  }
}

/**
 * Extracts a `d=N` difficulty request from a password such as `x`, `d=512`, `x,d=2048` or `d=1e3;foo`
 * (the convention of ckpool-derived and many public pools). Returns undefined when absent or not
 * a positive finite number.
 */
export function difficultyFromPassword(password: string): number | undefined {
  const m = /(?:^|[,;\s])d=([0-9][0-9.]*(?:e[+-]?[0-9]+)?)(?=$|[,;\s])/i.exec(password)
  if (!m) return undefined
  const d = Number(m[1])
  return Number.isFinite(d) && d > 0 ? d : undefined
}

/**
 * `mining.configure [[ext…], {ext.param: value…}]` (BIP310). Every parameter is optional and
 * accepted as string or number, because real firmware differs (ESP-Miner sends no
 * min-bit-count, cpuminer sends it as a string, S9 as a number; research §1.3).
 */
export function parseConfigure(params: unknown[]): ParseResult<ConfigureParams> {
  const exts = params[0]
  if (!Array.isArray(exts)) return { ok: false, message: 'first parameter must be the list of extensions' }
  const extensions: string[] = []
  for (const e of exts.slice(0, 16)) if (typeof e === 'string' && e.length <= 64) extensions.push(e)
  const raw = params[1]
  const p: Record<string, unknown> =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {}
  const out: ConfigureParams = { extensions, subscribeExtranonce: false, info: false }
  for (const ext of extensions) {
    if (ext === 'version-rolling') {
      // BIP310: an absent mask means "any bit".
      const mask = p['version-rolling.mask'] === undefined ? 0xffffffff : parseUint32(p['version-rolling.mask'])
      if (mask === undefined) return { ok: false, message: 'version-rolling.mask must be a 32-bit hex string' }
      const mbc = parseCount(p['version-rolling.min-bit-count'])
      out.versionRolling = mbc === undefined ? { mask } : { mask, minBitCount: mbc }
    } else if (ext === 'minimum-difficulty') {
      const v = parseDifficulty(p['minimum-difficulty.value'])
      out.minimumDifficulty = v === undefined ? {} : { value: v }
    } else if (ext === 'subscribe-extranonce') {
      out.subscribeExtranonce = true
    } else if (ext === 'info') {
      out.info = true
    }
  }
  return { ok: true, value: out }
}

/** `mining.suggest_difficulty [diff]` — a number or numeric string. */
export function parseSuggestDifficulty(params: unknown[]): ParseResult<number> {
  const d = parseDifficulty(params[0])
  return d === undefined ? { ok: false, message: 'difficulty must be a positive number' } : { ok: true, value: d }
}

/**
 * `mining.submit [worker, job_id, extranonce2, ntime, nonce, version_bits?]`.
 * ntime/nonce/version_bits: hex of up to 8 digits (short values are left-padded, NerdMiner sent
 * un-padded nonces, research §7.9) or JSON numbers (SRI accepts those). Hex case is irrelevant.
 */
export function parseSubmit(params: unknown[]): ParseResult<SubmitParams> {
  if (params.length !== 5 && params.length !== 6) {
    return { ok: false, message: `mining.submit takes 5 or 6 parameters, got ${params.length}` }
  }
  const [worker, jobId, en2, ntimeRaw, nonceRaw, vbRaw] = params
  if (typeof worker !== 'string' || worker.length > MAX_NAME_CHARS)
    return { ok: false, message: 'worker must be a string' }
  if (typeof jobId !== 'string' || jobId.length === 0 || jobId.length > 64)
    return { ok: false, message: 'job_id must be a string' }
  if (typeof en2 !== 'string' || en2.length > 64 || !isHex(en2))
    return { ok: false, message: 'extranonce2 must be hex' }
  const ntime = parseUint32(ntimeRaw)
  if (ntime === undefined) return { ok: false, message: 'ntime must be hex of at most 8 digits' }
  const nonce = parseUint32(nonceRaw)
  if (nonce === undefined) return { ok: false, message: 'nonce must be hex of at most 8 digits' }
  const value: SubmitParams = { worker, jobId, extranonce2Hex: en2.toLowerCase(), ntime, nonce }
  if (params.length === 6) {
    const vb = parseUint32(vbRaw)
    if (vb === undefined) return { ok: false, message: 'version_bits must be hex of at most 8 digits' }
    value.versionBits = vb
  }
  return { ok: true, value }
}

function isHex(s: string): boolean {
  if (s.length % 2 !== 0) return false
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70))) return false
  }
  return true
}

/** Hex string of 1–8 digits (no prefix) or an integer number in [0, 2³²). */
export function parseUint32(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : undefined
  if (typeof v !== 'string' || v.length === 0 || v.length > 8) return undefined
  let n = 0
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    let d: number
    if (c >= 48 && c <= 57) d = c - 48
    else if (c >= 97 && c <= 102) d = c - 87
    else if (c >= 65 && c <= 70) d = c - 55
    else return undefined
    n = n * 16 + d
  }
  return n
}

function parseDifficulty(v: unknown): number | undefined {
  const d = typeof v === 'number' ? v : typeof v === 'string' && v.length <= 32 ? Number(v) : Number.NaN
  return Number.isFinite(d) && d > 0 ? d : undefined
}

function parseCount(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^[0-9]{1,2}$/.test(v) ? Number(v) : Number.NaN
  return Number.isInteger(n) && n >= 0 && n <= 32 ? n : undefined
}

/** Keeps printable ASCII only, so a user agent is safe to log and show. */
function sanitise(s: string): string {
  let out = ''
  for (let i = 0; i < s.length && out.length < MAX_NAME_CHARS; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x20 && c < 0x7f) out += s[i]
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Server → client encoders (each returns one complete line with '\n')

/** Formats a uint32 as 8 lower-case big-endian hex digits, zero-padded (cgminer needs the width). */
export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0')
}

const idJson = (id: RpcId): string => (typeof id === 'number' ? String(id) : JSON.stringify(id))

export function encodeResult(id: RpcId, result: unknown): string {
  return `{"id":${idJson(id)},"result":${JSON.stringify(result)},"error":null}\n`
}

/** `{"id":N,"result":true,"error":null}` — the hot path of every accepted share. */
export function encodeTrue(id: RpcId): string {
  return `{"id":${idJson(id)},"result":true,"error":null}\n`
}

/** A numeric-array error reply, optionally with a ckpool-style `reject-reason`. */
export function encodeError(id: RpcId, code: number, message: string, rejectReason?: string): string {
  const rr = rejectReason === undefined ? '' : `,"reject-reason":${JSON.stringify(rejectReason)}`
  return `{"id":${idJson(id)},"result":null,"error":[${code},${JSON.stringify(message)},null]${rr}}\n`
}

/**
 * A refusal that keeps `result: false` next to the error array (authorize: cgminer and ESP-Miner
 * treat either as failure, and the message reaches the miner's log).
 */
export function encodeRefusal(id: RpcId, code: number, message: string): string {
  return `{"id":${idJson(id)},"result":false,"error":[${code},${JSON.stringify(message)},null]}\n`
}

export function encodeReject(id: RpcId, reason: RejectReason, detail?: string): string {
  const r = REJECTS[reason]
  if (detail !== undefined) return encodeError(id, r.code, `${r.message}: ${detail}`, reason)
  // Rejects without detail are the common case under load (low difficulty): the part after the id
  // is encoded once per reason.
  let tail = rejectTails.get(reason)
  if (tail === undefined) {
    tail = encodeError(0, r.code, r.message, reason).slice('{"id":0'.length)
    rejectTails.set(reason, tail)
  }
  return `{"id":${idJson(id)}${tail}`
}

const rejectTails = new Map<RejectReason, string>()

/**
 * Subscribe result with both tuples (DATUM / Antpool shape, which every firmware parses):
 * `[[["mining.set_difficulty",sid],["mining.notify",sid]],extranonce1,extranonce2_size]`.
 */
export function encodeSubscribeResult(id: RpcId, extranonce1Hex: string, extranonce2Size: number): string {
  return encodeResult(id, [
    [
      ['mining.set_difficulty', extranonce1Hex],
      ['mining.notify', extranonce1Hex],
    ],
    extranonce1Hex,
    extranonce2Size,
  ])
}

export function encodeSetDifficulty(difficulty: number): string {
  return `{"id":null,"method":"mining.set_difficulty","params":[${JSON.stringify(difficulty)}]}\n`
}

export function encodeSetVersionMask(mask: number): string {
  return `{"id":null,"method":"mining.set_version_mask","params":["${hex32(mask)}"]}\n`
}

export function encodeSetExtranonce(extranonce1Hex: string, extranonce2Size: number): string {
  return `{"id":null,"method":"mining.set_extranonce","params":[${JSON.stringify(extranonce1Hex)},${extranonce2Size}]}\n`
}

/**
 * `mining.notify` from a job's 9 params (`[job_id, prevhash, coinb1, coinb2, branch, version, nbits,
 * ntime, clean_jobs]`). Called once per job per broadcast, never per connection.
 */
export function encodeNotify(params: readonly unknown[]): string {
  return `{"id":null,"method":"mining.notify","params":${JSON.stringify(params)}}\n`
}

/** `client.reconnect` — `[]` means "same host" (cgminer refuses other domains, research §7.12). */
export function encodeReconnect(target?: { host: string; port: number; waitS?: number }): string {
  const params = target === undefined ? [] : [target.host, target.port, target.waitS ?? 0]
  return `{"id":null,"method":"client.reconnect","params":${JSON.stringify(params)}}\n`
}

export function encodeShowMessage(text: string): string {
  return `{"id":null,"method":"client.show_message","params":[${JSON.stringify(text)}]}\n`
}

export function encodePing(id: number): string {
  return `{"id":${id},"method":"mining.ping","params":[]}\n`
}
