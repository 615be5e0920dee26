/**
 * Whatsminer API v2 and v3 as pure functions (research §4.3; sources pyasic `rpc/btminer.py` and
 * MicroBT's own MDK `wm-api-v2.js` / `wm-api-v3.js`).
 *
 * v2 (TCP 4028, cgminer framing): reads are plain JSON; a write needs a token from `get_token`
 * and travels AES-256-ECB encrypted:
 *   key  = md5crypt(password, salt)       (hash part)
 *   sign = md5crypt(key + time, newsalt)  (hash part), sent as `token`
 *   aes  = SHA-256(key) (32 raw bytes); body = base64(AES(JSON + NUL padding)) in {"enc":1,"data":…}
 * v3 (TCP 4433): every message is a 4-byte little-endian length and that many bytes of JSON.
 *   token = base64(SHA-256(cmd + password + salt + ts)).slice(0, 8); the `param` of
 *   `set.miner.pools` is base64(AES-256-ECB-PKCS7(key = that SHA-256 digest, JSON)).
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto'
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { deviceError } from '../device-error'
import { asRecord, at, type JsonRecord, toText } from '../field-map'
import { md5cryptHash } from './md5crypt'

// ---- v2 ----

export interface V2TokenInput {
  time: string
  salt: string
  newsalt: string
}

export interface V2Token {
  /** md5crypt(password, salt): the AES key material. Secret. */
  key: string
  /** The `token` field of every encrypted command. */
  sign: string
}

/** Reads `get_token`'s `Msg`; "over max connect" and code 136 (IP limit) are errors. */
export function parseV2TokenReply(json: unknown): Result<V2TokenInput, AppError> {
  const msg = at(json, 'Msg')
  const rec = asRecord(msg)
  if (!rec) {
    const text = toText(msg) ?? 'no Msg'
    const code = at(json, 'Code')
    return err(
      deviceError(code === 136 ? 'ACCESS_DENIED' : 'COMMAND_FAILED', `Whatsminer refused get_token: ${text}`, {
        code,
      }),
    )
  }
  const time = toText(rec.time)
  const salt = toText(rec.salt)
  const newsalt = toText(rec.newsalt)
  if (!time || !salt || !newsalt) return err(deviceError('BAD_REPLY', 'get_token reply lacks time, salt or newsalt'))
  return ok({ time, salt, newsalt })
}

export function v2Token(password: string, t: V2TokenInput): V2Token {
  const key = md5cryptHash(password, t.salt)
  const sign = md5cryptHash(key + t.time, t.newsalt)
  return { key, sign }
}

export function v2AesKey(token: V2Token): Buffer {
  return createHash('sha256').update(token.key, 'utf8').digest()
}

/** NUL padding to 16 bytes, as pyasic does; the firmware reads the plaintext as a C string. */
function nulPad(b: Buffer): Buffer {
  const rem = b.length % 16
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(16 - rem)])
}

/** The encrypted request `{"enc":1,"data":"<base64>"}` for a privileged command. */
export function encodeV2Encrypted(command: Record<string, string>, token: V2Token): Buffer {
  const plain = Buffer.from(JSON.stringify({ ...command, token: token.sign }), 'utf8')
  const c = createCipheriv('aes-256-ecb', v2AesKey(token), null)
  c.setAutoPadding(false)
  const data = Buffer.concat([c.update(nulPad(plain)), c.final()]).toString('base64')
  return Buffer.from(JSON.stringify({ enc: 1, data }), 'utf8')
}

/** Decrypts base64 AES-256-ECB text, removing NUL or PKCS7 padding (either may come back). */
export function aesEcbDecrypt(key: Buffer, base64: string): Result<string, AppError> {
  try {
    const d = createDecipheriv('aes-256-ecb', key, null)
    d.setAutoPadding(false)
    let out = Buffer.concat([d.update(Buffer.from(base64, 'base64')), d.final()])
    const last = out[out.length - 1] ?? 0
    if (last > 0 && last <= 16 && out.subarray(out.length - last).every((x) => x === last))
      out = out.subarray(0, out.length - last)
    return ok(out.toString('utf8').replace(/\0+$/, ''))
  } catch {
    // A wrong key or a truncated body: reported as a value, the cause is not more specific.
    return err(deviceError('BAD_REPLY', 'The encrypted reply could not be decrypted (wrong password?)'))
  }
}

// ---- v3 ----

export const V3_PORT = 4433

/** 4-byte little-endian length, then the JSON bytes. */
export function encodeV3Frame(msg: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8')
  const head = Buffer.alloc(4)
  head.writeUInt32LE(body.length)
  return Buffer.concat([head, body])
}

export type V3FrameResult =
  | { done: false }
  | { done: true; json: unknown; rest: Buffer }
  | { done: true; error: AppError }

/** Accumulated bytes → one decoded frame once complete. Frames above `maxBytes` are an error. */
export function decodeV3Frame(buf: Buffer, maxBytes = 4 * 1024 * 1024): V3FrameResult {
  if (buf.length < 4) return { done: false }
  const len = buf.readUInt32LE(0)
  if (len > maxBytes) return { done: true, error: deviceError('TOO_LARGE', `Whatsminer v3 frame of ${len} bytes`) }
  if (buf.length < 4 + len) return { done: false }
  const text = buf.subarray(4, 4 + len).toString('utf8')
  try {
    return { done: true, json: JSON.parse(text) as unknown, rest: buf.subarray(4 + len) }
  } catch {
    // Reported as a value; the frame length was right but the body is not JSON.
    return { done: true, error: deviceError('BAD_JSON', 'Whatsminer v3 reply is not JSON') }
  }
}

export interface V3Auth {
  account: string
  password: string
  salt: string
  /** Unix seconds. */
  ts: number
}

export function v3Digest(cmd: string, a: V3Auth): Buffer {
  return createHash('sha256').update(`${cmd}${a.password}${a.salt}${a.ts}`, 'utf8').digest()
}

/** A signed v3 write; `encrypt` wraps the param as `set.miner.pools` requires. */
export function v3WriteRequest(cmd: string, param: unknown, a: V3Auth, encrypt: boolean): JsonRecord {
  const digest = v3Digest(cmd, a)
  const token = digest.toString('base64').slice(0, 8)
  const req: JsonRecord = { cmd, ts: a.ts, token, account: a.account }
  if (param !== undefined) {
    if (encrypt) {
      const c = createCipheriv('aes-256-ecb', digest, null)
      req.param = Buffer.concat([c.update(JSON.stringify(param), 'utf8'), c.final()]).toString('base64')
    } else req.param = param
  }
  return req
}

/** v3 replies: `code` 0 OK, −1 fail, −2 invalid command, −4 no permission. */
export function checkV3(cmd: string, json: unknown): Result<JsonRecord, AppError> {
  const rec = asRecord(json)
  if (!rec) return err(deviceError('BAD_REPLY', `Reply to ${cmd} is not a JSON object`))
  const code = rec.code
  if (code === 0) return ok(rec)
  const msg = toText(rec.msg) ?? `code ${String(code)}`
  if (code === -4) return err(deviceError('AUTH_FAILED', `Whatsminer refused ${cmd}: ${msg}`, { code }))
  return err(deviceError('COMMAND_FAILED', `Whatsminer refused ${cmd}: ${msg}`, { code }))
}
