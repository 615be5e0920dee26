import { appError, err, ok, type Result } from '../../shared/errors'
import type { PoolTarget } from './nvs/editor'

/**
 * Bench mode: the worker name for the next device plugged in. The trailing number is incremented
 * with its zero padding kept (`rack1-01` → `rack1-02`, `rack1-09` → `rack1-10`, `r-99` → `r-100`);
 * a name without a trailing number gets `-2` (it was the first).
 */
export function nextWorkerName(name: string): string {
  const m = /^(.*?)(\d+)$/.exec(name)
  if (!m) return `${name}-2`
  const prefix = m[1] as string
  const digits = m[2] as string
  const next = (BigInt(digits) + 1n).toString()
  return prefix + next.padStart(digits.length, '0')
}

/** What the technician typed for a pool, before it is split into what AxeOS stores. */
export interface PoolInput {
  url: string
  port?: number | undefined
  user: string
  password?: string | undefined
}

/**
 * Turns a picked pool into ESP-Miner's stored shape: `stratum+tcp://host:port` is split into host
 * and port (AxeOS stores them apart and adds the scheme itself), and the worker name replaces the
 * part of the user after the first dot (`account.worker`, the convention of every pool we target).
 * TLS pools are refused: the TLS flag and certificate are not set over USB.
 */
export function toPoolTarget(input: PoolInput, workerName?: string): Result<PoolTarget> {
  let host = input.url.trim()
  let port = input.port
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(host)
  if (scheme) {
    const s = (scheme[1] as string).toLowerCase()
    if (s !== 'stratum+tcp' && s !== 'stratum' && s !== 'tcp') {
      return err(
        appError(
          'INVALID_PARAMS',
          `Pool URLs with "${s}://" cannot be set over USB; use stratum+tcp:// (set TLS in AxeOS afterwards).`,
        ),
      )
    }
    host = host.slice(scheme[0].length)
  }
  host = host.replace(/\/+$/, '')
  const withPort = /^(.*):(\d{1,5})$/.exec(host)
  if (withPort) {
    const fromUrl = Number(withPort[2])
    if (port !== undefined && port !== fromUrl) {
      return err(appError('INVALID_PARAMS', `The pool URL says port ${fromUrl} but the port field says ${port}.`))
    }
    host = withPort[1] as string
    port = fromUrl
  }
  // The same rule as the NVS editor, checked here so bad input never reaches the device.
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) {
    return err(appError('INVALID_PARAMS', 'The pool host must be a bare host name or IP address.'))
  }
  if (port === undefined) return err(appError('INVALID_PARAMS', 'The pool needs a port (for example 3333).'))
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return err(appError('INVALID_PARAMS', 'The pool port must be 1 to 65535.'))
  }
  const account = input.user.trim()
  const user = workerName ? `${account.split('.')[0]}.${workerName}` : account
  return ok({ url: host, port, user, password: input.password })
}
