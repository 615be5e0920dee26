import { resolve, sep } from 'node:path'

/** Maps an `app://hashyard/...` URL to a file under the renderer folder, or undefined (traversal, other host). */
export function appUrlToFile(rendererRoot: string, rawUrl: string): string | undefined {
  let u: URL
  try {
    u = new URL(rawUrl)
  } catch {
    return undefined
  }
  if (u.protocol !== 'app:' || u.host !== 'hashyard') return undefined
  let path: string
  try {
    path = decodeURIComponent(u.pathname)
  } catch {
    return undefined
  }
  if (path.includes('\0') || path.includes('\\')) return undefined
  const root = resolve(rendererRoot)
  const file = resolve(root, `.${path === '/' ? '/index.html' : path}`)
  return file.startsWith(root + sep) ? file : undefined
}
