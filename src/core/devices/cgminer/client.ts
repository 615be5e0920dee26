/**
 * cgminer API over TCP: connect, write one request, read until the server closes, decode.
 * One request per connection (the server closes after replying, research §3.1). Every failure
 * is a value: refused, timed out, too large, unparsable, or an E/F STATUS.
 */
import net from 'node:net'
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { deviceError } from '../device-error'
import { asRecord, type JsonRecord } from '../field-map'
import { type CgminerRequest, checkStatus, decodeReply, encodeRequest, splitMulti } from './codec'

export const CGMINER_PORT = 4028

export interface CgminerCallOptions {
  /** Whole-call budget: connect, write and read. Default 5000 ms. */
  timeoutMs?: number
  /** Replies larger than this are cut off and reported; default 4 MiB (Avalon estats is ~10 KB). */
  maxReplyBytes?: number
}

export interface CgminerTarget {
  host: string
  port?: number
}

/** Sends raw bytes and collects the reply until EOF. Exposed for Whatsminer's encrypted frames. */
export function exchange(
  target: CgminerTarget,
  payload: Buffer,
  opts: CgminerCallOptions = {},
): Promise<Result<Buffer, AppError>> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const maxBytes = opts.maxReplyBytes ?? 4 * 1024 * 1024
  const port = target.port ?? CGMINER_PORT
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let settled = false
    const sock = net.connect({ host: target.host, port })
    const finish = (r: Result<Buffer, AppError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sock.destroy()
      resolve(r)
    }
    const timer = setTimeout(
      () => finish(err(deviceError('TIMEOUT', `No complete reply from ${target.host}:${port} within ${timeoutMs} ms`))),
      timeoutMs,
    )
    sock.on('connect', () => sock.end(payload))
    sock.on('data', (d: Buffer) => {
      size += d.length
      if (size > maxBytes) {
        finish(err(deviceError('TOO_LARGE', `Reply from ${target.host}:${port} exceeded ${maxBytes} bytes`)))
        return
      }
      chunks.push(d)
    })
    sock.on('end', () => finish(ok(Buffer.concat(chunks))))
    sock.on('error', (e: NodeJS.ErrnoException) => {
      // A reset after a full reply still counts as the reply (some embedded daemons RST on close).
      if (chunks.length > 0 && e.code === 'ECONNRESET') finish(ok(Buffer.concat(chunks)))
      else finish(err(deviceError('CONNECT_FAILED', `Cannot reach ${target.host}:${port}: ${e.code ?? e.message}`)))
    })
  })
}

/** Sends one request and returns the parsed JSON without interpreting STATUS. */
export async function cgminerRaw(
  target: CgminerTarget,
  req: CgminerRequest,
  opts: CgminerCallOptions = {},
): Promise<Result<unknown, AppError>> {
  const bytes = await exchange(target, encodeRequest(req), opts)
  if (!bytes.ok) return bytes
  const decoded = decodeReply(bytes.value)
  return decoded.ok ? ok(decoded.value.json) : decoded
}

/** One command; an E/F STATUS (e.g. code 45 access denied) becomes an error value. */
export async function cgminerCommand(
  target: CgminerTarget,
  req: CgminerRequest,
  opts: CgminerCallOptions = {},
): Promise<Result<JsonRecord, AppError>> {
  const json = await cgminerRaw(target, req, opts)
  if (!json.ok) return json
  return checkStatus(req.command, json.value)
}

/**
 * Several report commands in one round trip (`summary+pools`). Each part is its own Result.
 * When the daemon rejects the joined command as a whole (forks that cannot join), falls back to
 * one request per command, as pyasic does.
 */
export async function cgminerMulti(
  target: CgminerTarget,
  commands: readonly string[],
  opts: CgminerCallOptions = {},
): Promise<Result<Record<string, Result<JsonRecord, AppError>>, AppError>> {
  const json = await cgminerRaw(target, { command: commands.join('+') }, opts)
  if (!json.ok) return json
  const rec = asRecord(json.value)
  const joined = rec !== undefined && commands.some((c) => Object.hasOwn(rec, c))
  if (joined) return ok(splitMulti(json.value, commands))
  const out: Record<string, Result<JsonRecord, AppError>> = {}
  for (const c of commands) out[c] = await cgminerCommand(target, { command: c }, opts)
  return ok(out)
}
