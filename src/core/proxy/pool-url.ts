/**
 * Upstream pool addresses as owners paste them: `host:port`, `stratum+tcp://host:port`,
 * `stratum+ssl://…` / `stratum+tls://…` (TLS), with stray whitespace, a trailing slash, or an IPv6
 * literal in brackets. The result is normalised (`host:port` plus a TLS flag) so a URL is never
 * stored wrong; every refusal says exactly what is wrong.
 *
 * Why not `src/core/devices/pool-url.ts`: that parser validates what gets *written into a device*
 * (it accepts `stratum2+tcp`, which the proxy cannot speak, and refuses a pasted trailing slash).
 * The proxy needs the TLS flag, a Stratum V2 refusal with a reason, and friendlier leniency.
 */
import { isIP } from 'node:net'

export type PoolUrlErrorCode =
  | 'POOL_URL_EMPTY'
  | 'POOL_URL_BAD_CHARACTERS'
  | 'POOL_URL_UNSUPPORTED_SCHEME'
  | 'POOL_URL_HAS_PATH'
  | 'POOL_URL_HAS_CREDENTIALS'
  | 'POOL_URL_MISSING_HOST'
  | 'POOL_URL_MISSING_PORT'
  | 'POOL_URL_BAD_PORT'
  | 'POOL_URL_BAD_HOST'

export interface PoolUrlError {
  code: PoolUrlErrorCode
  message: string
}

export interface PoolEndpoint {
  /** Host name, IPv4 literal, or IPv6 literal without brackets (what `net.connect` takes). */
  host: string
  port: number
  tls: boolean
  /** Canonical stored form: `host:port`, IPv6 in brackets, host lower-cased. */
  hostPort: string
  /** Canonical URL: `stratum+tcp://host:port` or `stratum+ssl://host:port`. */
  url: string
}

export type PoolUrlResult = { ok: true; value: PoolEndpoint } | { ok: false; error: PoolUrlError }

const fail = (code: PoolUrlErrorCode, message: string): PoolUrlResult => ({ ok: false, error: { code, message } })

const LABEL = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/

/**
 * Parses and normalises a pool address. `tls` from the scheme wins over `opts.tls` (the separate
 * "use TLS" switch of a form) — except that a switch set to true upgrades a bare `host:port`.
 */
export function parsePoolUrl(input: string, opts: { tls?: boolean } = {}): PoolUrlResult {
  const text = input.trim()
  if (text === '') return fail('POOL_URL_EMPTY', 'Enter the pool address as host:port (e.g. pool.example.com:3333)')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\s,;"'<>\\]/.test(text) || /[\u0000-\u001f\u007f]/.test(text)) {
    return fail(
      'POOL_URL_BAD_CHARACTERS',
      'The pool address contains spaces, quotes or control characters; enter only host:port',
    )
  }
  let tls = opts.tls === true
  let rest = text
  const sep = text.indexOf('://')
  if (sep >= 0) {
    const scheme = text.slice(0, sep).toLowerCase()
    if (scheme === 'stratum+tcp' || scheme === 'stratum' || scheme === 'tcp') tls = opts.tls === true
    else if (scheme === 'stratum+ssl' || scheme === 'stratum+tls' || scheme === 'ssl' || scheme === 'tls') tls = true
    else if (scheme.startsWith('stratum2'))
      return fail('POOL_URL_UNSUPPORTED_SCHEME', 'This is a Stratum V2 address; the proxy speaks Stratum V1 only')
    else
      return fail(
        'POOL_URL_UNSUPPORTED_SCHEME',
        `Unsupported scheme "${scheme}://"; use stratum+tcp:// or stratum+ssl:// (or just host:port)`,
      )
    rest = text.slice(sep + 3)
  }
  // A pasted URL often ends with '/'; anything after it is a path a stratum pool never has.
  if (rest.endsWith('/')) rest = rest.slice(0, -1)
  if (rest.includes('/')) return fail('POOL_URL_HAS_PATH', 'A stratum address has no path; enter only host:port')
  if (rest.includes('@')) {
    return fail(
      'POOL_URL_HAS_CREDENTIALS',
      'Put the account name in the user field, not in the address; enter only host:port',
    )
  }
  if (rest === '') return fail('POOL_URL_MISSING_HOST', 'The pool address has no host')

  let host: string
  let portText: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close < 0) return fail('POOL_URL_BAD_HOST', 'An IPv6 address is missing its closing "]"')
    host = rest.slice(1, close)
    const after = rest.slice(close + 1)
    if (after !== '' && !after.startsWith(':'))
      return fail('POOL_URL_BAD_HOST', 'Expected ":port" after the IPv6 address in brackets')
    portText = after === '' ? undefined : after.slice(1)
    if (isIP(host) !== 6) return fail('POOL_URL_BAD_HOST', `"${host}" is not a valid IPv6 address`)
  } else {
    const colons = rest.split(':').length - 1
    if (colons > 1) {
      return fail(
        'POOL_URL_BAD_HOST',
        isIP(rest) === 6
          ? 'Put an IPv6 address in brackets and add the port, e.g. [2001:db8::1]:3333'
          : 'Put an IPv6 address in brackets, e.g. [2001:db8::1]:3333',
      )
    }
    const colon = rest.indexOf(':')
    host = colon < 0 ? rest : rest.slice(0, colon)
    portText = colon < 0 ? undefined : rest.slice(colon + 1)
    if (host === '') return fail('POOL_URL_MISSING_HOST', 'The pool address has no host before ":port"')
    host = host.toLowerCase()
    if (isIP(host) !== 4) {
      if (/^[0-9.]+$/.test(host)) return fail('POOL_URL_BAD_HOST', `"${host}" is not a valid IPv4 address`)
      const name = host.endsWith('.') ? host.slice(0, -1) : host
      if (name.length > 253 || !name.split('.').every((l) => LABEL.test(l)))
        return fail('POOL_URL_BAD_HOST', `"${host}" is not a valid host name`)
      host = name
    }
  }

  if (portText === undefined || portText === '') {
    return fail(
      'POOL_URL_MISSING_PORT',
      'The pool address has no port; add it after a colon, e.g. pool.example.com:3333 (the pool’s help page lists it)',
    )
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return fail('POOL_URL_BAD_PORT', `Port "${portText}" is not a number`)
  const port = Number(portText)
  if (port < 1 || port > 65535) return fail('POOL_URL_BAD_PORT', `Port ${port} is out of range (1–65535)`)

  const shown = host.includes(':') ? `[${host}]` : host
  const hostPort = `${shown}:${port}`
  return { ok: true, value: { host, port, tls, hostPort, url: `${tls ? 'stratum+ssl' : 'stratum+tcp'}://${hostPort}` } }
}
