import type { Result } from '../../shared/errors'
import { type AddressNetwork, DEFAULT_RPC_PORT } from './chain'
import { type NodeError, nodeError } from './errors'

export interface NodeEndpoint {
  host: string
  port: number
  /** Request path: "/" or a wallet path such as "/wallet/x"; mining RPCs ignore the wallet. */
  path: string
  /** Credentials written in the URL (`http://user:pass@host:port`), the form bitcoin-cli users know. */
  user?: string
  password?: string
  /** `host:port` for messages; never includes credentials. */
  display: string
}

/**
 * Accepts what people type in a settings field: `http://host:port`, `host:port`, `host`, or
 * `[::1]:8332`; a missing port takes the network's default RPC port. Bitcoin Core's RPC server
 * speaks plain HTTP only, so `https://` is refused with an explanation rather than failing later.
 */
export function parseNodeEndpoint(input: string, network: AddressNetwork = 'mainnet'): Result<NodeEndpoint, NodeError> {
  const trimmed = input.trim()
  if (trimmed === '') return fail('The node address is empty: enter something like http://127.0.0.1:8332.')
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return fail(`"${trimmed}" is not a valid node address: use the form http://host:port.`)
  }
  if (url.protocol === 'https:') {
    return fail('Bitcoin Core RPC speaks plain http; use http://host:port (put TLS in a tunnel if you need it).')
  }
  if (url.protocol !== 'http:') return fail(`Unsupported scheme "${url.protocol}" in the node address: use http://.`)
  if (url.hostname === '') return fail('The node address has no host name.')
  const port = url.port === '' ? DEFAULT_RPC_PORT[network] : Number(url.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) return fail(`Port ${url.port} is out of range (1-65535).`)
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  const endpoint: NodeEndpoint = {
    host,
    port,
    path: url.pathname === '' ? '/' : url.pathname,
    display: `${url.hostname}:${port}`,
  }
  if (url.username !== '') endpoint.user = decodeURIComponent(url.username)
  if (url.password !== '') endpoint.password = decodeURIComponent(url.password)
  return { ok: true, value: endpoint }
}

function fail(message: string): { ok: false; error: NodeError } {
  return { ok: false, error: nodeError('NODE_CONFIG', message) }
}
