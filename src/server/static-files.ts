import { readFile, stat } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/**
 * Maps a URL path to a file under `root`, or undefined when it would escape it (`..`, encoded
 * slashes, NUL). The renderer is a single page: unknown paths fall back to index.html.
 */
export function resolveStaticPath(root: string, urlPath: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath.split('?')[0] ?? '/')
  } catch {
    return undefined
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined
  const rel = decoded === '/' || decoded === '' ? '/index.html' : decoded
  const base = resolve(root)
  const file = resolve(base, `.${rel}`)
  if (file !== base && !file.startsWith(base + sep)) return undefined
  return file
}

export async function loadStatic(
  root: string,
  urlPath: string,
): Promise<{ status: number; body: Buffer; type: string; immutable: boolean } | undefined> {
  const file = resolveStaticPath(root, urlPath)
  if (!file) return { status: 400, body: Buffer.from('Bad path'), type: 'text/plain; charset=utf-8', immutable: false }
  try {
    const s = await stat(file)
    if (s.isFile()) {
      return {
        status: 200,
        body: await readFile(file),
        type: MIME[extname(file)] ?? 'application/octet-stream',
        immutable: file.includes(`${sep}assets${sep}`),
      }
    }
  } catch {
    // fall through to the single-page fallback
  }
  if (extname(urlPath) !== '') return undefined
  try {
    return { status: 200, body: await readFile(resolve(root, 'index.html')), type: MIME['.html']!, immutable: false }
  } catch {
    return undefined
  }
}
