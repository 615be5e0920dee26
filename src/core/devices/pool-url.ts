/**
 * Stratum pool URLs as users paste them and as firmware want them. Validation happens before
 * any write (write-safety protocol, research §7 step 2): a scheme we know, a host, a port in
 * range, and no characters that break a firmware's own encoding (commas split cgminer
 * parameters; whitespace and controls are never valid).
 */

import type { AppError } from '../../shared/errors'
import { err, ok, type Result } from '../../shared/errors'
import { deviceError } from './device-error'
import { hasControlChars } from './untrusted-text'

export type StratumScheme = 'stratum+tcp' | 'stratum+tls' | 'stratum+ssl' | 'stratum2+tcp'

export interface PoolUrl {
  scheme: StratumScheme
  host: string
  port: number
}

const SCHEMES: readonly StratumScheme[] = ['stratum+tcp', 'stratum+tls', 'stratum+ssl', 'stratum2+tcp']
const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/
const IPV6 = /^\[[0-9a-fA-F:.]+\]$/

/** Parses `stratum+tcp://host:port`; a bare `host:port` means stratum+tcp. The port is required. */
export function parsePoolUrl(input: string): Result<PoolUrl, AppError> {
  const bad = (why: string) => err(deviceError('INVALID_POOL', `Invalid pool URL: ${why}`))
  const text = input.trim()
  if (text === '') return bad('empty')
  if (/[\s,]/.test(text) || hasControlChars(text)) return bad('contains spaces, commas or control characters')
  let scheme: StratumScheme = 'stratum+tcp'
  let rest = text
  const sep = text.indexOf('://')
  if (sep >= 0) {
    const s = text.slice(0, sep).toLowerCase()
    const known = SCHEMES.find((k) => k === s)
    if (!known) return bad(`unsupported scheme "${s}"`)
    scheme = known
    rest = text.slice(sep + 3)
  }
  if (rest.includes('/') || rest.includes('@')) return bad('expected host:port with no path or credentials')
  const colon = rest.lastIndexOf(':')
  if (colon <= 0) return bad('missing port')
  const host = rest.slice(0, colon)
  const portText = rest.slice(colon + 1)
  if (!/^\d{1,5}$/.test(portText)) return bad('port is not a number')
  const port = Number(portText)
  if (port < 1 || port > 65535) return bad('port out of range 1-65535')
  if (!HOSTNAME.test(host) && !IPV6.test(host)) return bad(`host "${host}" is not a valid name or address`)
  return ok({ scheme, host, port })
}

export function formatPoolUrl(u: PoolUrl): string {
  return `${u.scheme}://${u.host}:${u.port}`
}
