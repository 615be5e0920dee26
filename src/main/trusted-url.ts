/**
 * Pure predicates for the Electron edge, tested exhaustively (test/electron-edge.test.ts).
 * Always the URL parser, never substring checks: `https://evil.example/?next=app://hashyard`
 * contains "app://hashyard" and is not ours.
 */
export const APP_ORIGIN = 'app://hashyard'

/** True for the app's own pages (and the dev server when one is given). */
export function isTrustedUrl(raw: string, devServerUrl?: string): boolean {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return false
  }
  if (u.username || u.password) return false
  if (u.protocol === 'app:' && u.host === 'hashyard') return true
  if (devServerUrl) {
    try {
      const d = new URL(devServerUrl)
      return u.protocol === d.protocol && u.host === d.host
    } catch {
      return false
    }
  }
  return false
}

/** Links we hand to the OS browser: http(s) only, no credentials, no local files or custom schemes. */
export function isSafeExternalUrl(raw: unknown): raw is string {
  if (typeof raw !== 'string' || raw.length > 2048) return false
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return false
  }
  return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password && u.hostname.length > 0
}
