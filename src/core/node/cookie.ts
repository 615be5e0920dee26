import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Result } from '../../shared/errors'
import { type NodeError, nodeError } from './errors'

export interface RpcCredentials {
  user: string
  password: string
}

/**
 * Reads Bitcoin Core's cookie file (`<datadir>/.cookie`, one line `__cookie__:<hex secret>`). A
 * directory is taken as the data directory. The node writes a new secret every time it starts and
 * deletes the file when it stops, so a missing file usually means "node not running".
 */
export async function readCookieFile(path: string): Promise<Result<RpcCredentials, NodeError>> {
  let file = path
  try {
    if ((await stat(path)).isDirectory()) file = join(path, '.cookie')
  } catch {
    // Fall through: readFile reports the precise problem for the path as given.
  }
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    const errno = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : ''
    if (errno === 'ENOENT') {
      return fail(
        `The cookie file ${file} does not exist: the node writes it when it starts, so it may not be running, or this is not its data directory (testnet, signet and regtest use a subdirectory).`,
      )
    }
    if (errno === 'EACCES' || errno === 'EPERM') {
      return fail(
        `Permission denied reading the cookie file ${file}: run Hashyard as the node's user or make the cookie group-readable (bitcoind -rpccookieperms=group).`,
      )
    }
    return fail(`Could not read the cookie file ${file}: ${e instanceof Error ? e.message : String(e)}`)
  }
  const line = text.trim()
  const colon = line.indexOf(':')
  if (colon <= 0 || colon === line.length - 1 || line.includes('\n')) {
    return fail(`The cookie file ${file} is not in the form user:secret.`)
  }
  return { ok: true, value: { user: line.slice(0, colon), password: line.slice(colon + 1) } }
}

function fail(message: string): { ok: false; error: NodeError } {
  return { ok: false, error: nodeError('NODE_AUTH', message) }
}
