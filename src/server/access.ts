import { randomBytes, timingSafeEqual } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'

/**
 * Who may talk to the headless server. Pure predicates, tested exhaustively: the server is
 * reachable from a browser, so DNS rebinding (Host) and cross-site WebSocket hijacking (Origin)
 * are real attacks even on loopback (transmission CVE-2018-5702 is the classic case).
 */

export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (h === 'localhost') return true
  if (isIP(h) === 4) return h.startsWith('127.')
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.')
  return false
}

export function isWildcardAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '')
  return h === '0.0.0.0' || h === '::'
}

/** Splits a Host header into name and port; undefined when it is not a valid host[:port]. */
export function parseHostHeader(value: string | undefined): { name: string; port?: number } | undefined {
  if (!value || value.length > 255) return undefined
  const m = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+)(?::(\d{1,5}))?$/.exec(value)
  if (!m?.[1]) return undefined
  const port = m[2] === undefined ? undefined : Number(m[2])
  if (port !== undefined && (port < 1 || port > 65535)) return undefined
  return port === undefined ? { name: m[1].toLowerCase() } : { name: m[1].toLowerCase(), port }
}

export interface HostPolicy {
  bindHost: string
  /** Extra names (a reverse proxy's, the machine's hostname) the owner allows. */
  allowedNames: string[]
}

/**
 * A request's Host must name this server: a loopback name, an IP literal (the LAN address a
 * browser on another PC uses), or a name the owner allowed. Any other name means a page on some
 * domain resolved to us: DNS rebinding.
 */
export function hostAllowed(hostHeader: string | undefined, p: HostPolicy): boolean {
  const h = parseHostHeader(hostHeader)
  if (!h) return false
  const bare = h.name.replace(/^\[|\]$/g, '')
  if (isLoopbackAddress(bare)) return true
  if (p.allowedNames.map((n) => n.toLowerCase()).includes(h.name)) return true
  if (isIP(bare) !== 0) {
    // When bound to one address only that address reaches us; on a wildcard any of our IPs may.
    return isWildcardAddress(p.bindHost) || bare === p.bindHost.replace(/^\[|\]$/g, '')
  }
  return false
}

/** Browsers send Origin on WebSocket upgrades and cross-site POSTs; it must be this very server. */
export function originAllowed(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true // curl and scripts: no browser, no ambient credentials to abuse
  if (origin === 'null') return false
  let u: URL
  try {
    u = new URL(origin)
  } catch {
    return false
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false
  return u.host.toLowerCase() === (hostHeader ?? '').toLowerCase()
}

export const TOKEN_FILE = 'access-token'

/** Loads the access token, creating it (mode 0600) on first use. `created` tells the caller to show it once. */
export function loadOrCreateToken(dataDir: string): { token: string; created: boolean; file: string } {
  const file = join(dataDir, TOKEN_FILE)
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim()
    if (/^[A-Za-z0-9_-]{32,}$/.test(token)) return { token, created: false, file }
  }
  const token = randomBytes(24).toString('base64url')
  writeFileSync(file, `${token}\n`, { mode: 0o600 })
  return { token, created: true, file }
}

export function tokenMatches(given: string | undefined, expected: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The token from `Authorization: Bearer …` or the session cookie set by the login form. */
export function tokenFromRequest(headers: {
  authorization?: string | undefined
  cookie?: string | undefined
}): string | undefined {
  const auth = headers.authorization
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim()
  for (const part of (headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === 'hashyard_token') return decodeURIComponent(v.join('='))
  }
  return undefined
}
