import http from 'node:http'
import type { AppError, Result } from '../../../shared/errors'
import type { Logger } from '../../logger'
import { authorizeMetricsRequest } from './access'
import { METRICS_CONTENT_TYPE } from './exposition'

export interface MetricsServerOptions {
  logger: Logger
  /** Builds the exposition text for one scrape. */
  render: () => Result<string, AppError>
  /** The bearer token now in force (undefined: loopback scrapers only). */
  token: () => string | undefined
  /** Called with the bound address after each successful listen, and with null on close. */
  onListening?: (addr: { host: string; port: number } | null) => void
}

export interface ListenState {
  listening: boolean
  host: string | null
  port: number | null
  /** Plain words when the listener should be up and is not. */
  error: string | null
}

const STATUS: Partial<Record<AppError['code'], number>> = { NOT_FOUND: 404, FORBIDDEN: 403, UNAUTHORIZED: 401 }

/**
 * The opt-in Prometheus `/metrics` listener (issue 7 §5): its own small HTTP server, separate from
 * the app's API port, so a scraper never reaches the API and the API's auth is not involved.
 * Every request passes `authorizeMetricsRequest` (loopback, or the bearer token). GET /metrics only;
 * no request body is read.
 */
export class MetricsServer {
  readonly #o: MetricsServerOptions
  #server: http.Server | undefined
  #state: ListenState = { listening: false, host: null, port: null, error: null }

  constructor(opts: MetricsServerOptions) {
    this.#o = opts
  }

  get state(): ListenState {
    return { ...this.#state }
  }

  /** Listens on host:port (closing any previous listener first), or just closes when `enabled` is false. */
  async apply(cfg: { enabled: boolean; host: string; port: number }): Promise<ListenState> {
    await this.close()
    if (!cfg.enabled) return this.state
    const server = http.createServer((req, res) => this.#handle(req, res))
    server.headersTimeout = 10_000
    server.requestTimeout = 15_000
    server.keepAliveTimeout = 5_000
    const bound = await new Promise<Result<{ host: string; port: number }, string>>((resolve) => {
      const onError = (e: NodeJS.ErrnoException) => {
        resolve({ ok: false, error: listenError(e, cfg.host, cfg.port) })
      }
      server.once('error', onError)
      server.listen(cfg.port, cfg.host, () => {
        server.off('error', onError)
        const a = server.address()
        resolve({ ok: true, value: { host: cfg.host, port: typeof a === 'object' && a ? a.port : cfg.port } })
      })
    })
    if (!bound.ok) {
      this.#o.logger.warn('metrics listener did not start', { host: cfg.host, port: cfg.port, error: bound.error })
      this.#state = { listening: false, host: cfg.host, port: cfg.port, error: bound.error }
      return this.state
    }
    server.on('error', (e) => this.#o.logger.error('metrics listener failed', { error: String(e) }))
    this.#server = server
    this.#state = { listening: true, host: bound.value.host, port: bound.value.port, error: null }
    this.#o.onListening?.(bound.value)
    this.#o.logger.info('metrics listener started', bound.value)
    return this.state
  }

  async close(): Promise<void> {
    const s = this.#server
    this.#server = undefined
    this.#state = { listening: false, host: null, port: null, error: null }
    if (!s) return
    this.#o.onListening?.(null)
    await new Promise<void>((resolve) => {
      s.close(() => resolve())
      s.closeAllConnections()
    })
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics') {
      send(404, 'not found: scrape /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'GET only\n')
      return
    }
    const auth = authorizeMetricsRequest(
      { remoteAddress: req.socket.remoteAddress, authorization: req.headers.authorization },
      { enabled: true, token: this.#o.token() },
    )
    if (!auth.ok) {
      if (auth.error.code === 'UNAUTHORIZED') res.setHeader('www-authenticate', 'Bearer realm="hashyard"')
      send(STATUS[auth.error.code] ?? 403, `${auth.error.message}\n`)
      return
    }
    const body = this.#o.render()
    if (!body.ok) {
      this.#o.logger.error('metrics rendering failed', { error: body.error.message })
      send(500, 'metrics could not be rendered; see the Hashyard log\n')
      return
    }
    send(200, body.value, METRICS_CONTENT_TYPE)
  }
}

function listenError(e: NodeJS.ErrnoException, host: string, port: number): string {
  if (e.code === 'EADDRINUSE') return `Port ${port} on ${host} is already in use: choose another port.`
  if (e.code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine.`
  if (e.code === 'EACCES') return `Not allowed to listen on port ${port}: choose a port above 1024.`
  return `Could not listen on ${host}:${port} (${e.code ?? e.message}).`
}
