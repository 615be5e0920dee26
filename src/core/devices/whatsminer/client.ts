/**
 * Whatsminer transports. v2 shares the cgminer socket exchange (one request per connection, reply
 * until EOF); v3 sends one length-prefixed frame and reads one back, then closes (one request per
 * connection, as MicroBT's MDK does).
 */
import net from 'node:net'
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { exchange } from '../cgminer/client'
import { decodeReply } from '../cgminer/codec'
import { deviceError } from '../device-error'
import { asRecord, toText } from '../field-map'
import { aesEcbDecrypt, decodeV3Frame, encodeV2Encrypted, encodeV3Frame, type V2Token, v2AesKey } from './codec'

export interface Target {
  host: string
  port: number
}

export function v3Call(target: Target, msg: unknown, timeoutMs = 5000): Promise<Result<unknown, AppError>> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    let settled = false
    const sock = net.connect({ host: target.host, port: target.port })
    const finish = (r: Result<unknown, AppError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      sock.destroy()
      resolve(r)
    }
    const where = `${target.host}:${target.port}`
    const timer = setTimeout(
      () => finish(err(deviceError('TIMEOUT', `No complete reply from ${where} within ${timeoutMs} ms`))),
      timeoutMs,
    )
    sock.on('connect', () => sock.write(encodeV3Frame(msg)))
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      const f = decodeV3Frame(buf)
      if (!f.done) return
      finish('error' in f ? err(f.error) : ok(f.json))
    })
    sock.on('end', () => finish(err(deviceError('BAD_REPLY', `${where} closed before a complete v3 frame`))))
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish(err(deviceError('CONNECT_FAILED', `Cannot reach ${where}: ${e.code ?? e.message}`))),
    )
  })
}

/**
 * Sends an encrypted v2 command and decrypts the reply. An empty reply is success for commands
 * that close without answering (reboot); `allowEmpty` says which.
 */
export async function v2Encrypted(
  target: Target,
  command: Record<string, string>,
  token: V2Token,
  opts: { timeoutMs?: number; allowEmpty?: boolean } = {},
): Promise<Result<unknown, AppError>> {
  const bytes = await exchange(target, encodeV2Encrypted(command, token), { timeoutMs: opts.timeoutMs ?? 10_000 })
  if (!bytes.ok) return bytes
  if (bytes.value.toString('utf8').replace(/\0/g, '').trim() === '')
    return opts.allowEmpty ? ok({}) : err(deviceError('BAD_REPLY', 'Empty reply to an encrypted command'))
  const outer = decodeReply(bytes.value)
  if (!outer.ok) return outer
  const enc = toText(asRecord(outer.value.json)?.enc)
  // Errors before decryption (bad token, write API disabled) come back in plain text.
  if (enc === undefined) return ok(outer.value.json)
  const plain = aesEcbDecrypt(v2AesKey(token), enc)
  if (!plain.ok) return plain
  const inner = decodeReply(Buffer.from(plain.value, 'utf8'))
  return inner.ok ? ok(inner.value.json) : inner
}
