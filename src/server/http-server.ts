import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { WebSocketServer } from 'ws'
import type { Logger } from '../core/logger'
import type { RpcServer } from '../core/rpc/rpc-server'
import type { AppError, ErrorCode } from '../shared/errors'
import { type HostPolicy, hostAllowed, originAllowed, tokenFromRequest, tokenMatches } from './access'
import { CSP, SECURITY_HEADERS } from './csp'
import { loadStatic } from './static-files'
import { wsServerTransport } from './ws-transport'

export interface HttpServerOptions {
  rpc: RpcServer
  logger: Logger
  host: string
  port: number
  /** Built renderer (out/renderer). Missing → the API still works and `/` says how to build. */
  rendererDir: string
  /** Required on every request when set (non-loopback binds). */
  token?: string
  allowedHosts?: string[]
  /** Largest accepted HTTP JSON body and WebSocket message. Default 1 MiB. */
  maxBodyBytes?: number
}

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_PARAMS: 400,
  UNKNOWN_METHOD: 404,
  UNKNOWN_TOPIC: 404,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_SUPPORTED: 501,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  CORE_DOWN: 503,
  INTERNAL: 500,
}

export interface RunningHttpServer {
  server: Server
  url: string
  port: number
  close(): Promise<void>
}

/**
 * The headless server's one listener: the UI (static), the API as HTTP JSON (`POST /api/<method>`)
 * and as WebSocket (`/rpc`), all behind the same Host, Origin and token checks.
 */
export async function startHttpServer(o: HttpServerOptions): Promise<RunningHttpServer> {
  const maxBody = o.maxBodyBytes ?? 1 << 20
  const policy: HostPolicy = { bindHost: o.host, allowedNames: o.allowedHosts ?? [] }
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxBody })

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    const data = JSON.stringify(body)
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(data),
    })
    res.end(data)
  }
  const fail = (res: ServerResponse, e: AppError, status = STATUS[e.code]): void => json(res, status, { error: e })

  /** Returns an error when the request may not proceed. */
  const gate = (req: IncomingMessage): AppError | undefined => {
    if (!hostAllowed(req.headers.host, policy)) {
      return {
        code: 'FORBIDDEN',
        message: `Host "${String(req.headers.host ?? '').slice(0, 100)}" is not allowed. Use the server's IP address, or start it with --allow-host NAME.`,
      }
    }
    if (!originAllowed(req.headers.origin, req.headers.host)) {
      return { code: 'FORBIDDEN', message: 'Cross-origin requests are not allowed.' }
    }
    if (o.token !== undefined && !tokenMatches(tokenFromRequest(req.headers), o.token)) {
      return {
        code: 'UNAUTHORIZED',
        message:
          'An access token is required: send "Authorization: Bearer <token>" (the token is in the data folder, file access-token).',
      }
    }
    return undefined
  }

  const readBody = (req: IncomingMessage): Promise<Buffer | 'too-large'> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      let over = false
      req.on('data', (c: Buffer) => {
        if (over) return
        size += c.length
        if (size > maxBody) {
          // Answer now and drop the connection once the answer is out; the rest is never buffered.
          over = true
          chunks.length = 0
          resolve('too-large')
          return
        }
        chunks.push(c)
      })
      req.on('end', () => {
        if (!over) resolve(Buffer.concat(chunks))
      })
      req.on('error', reject)
    })

  const handleApi = async (req: IncomingMessage, res: ServerResponse, method: string): Promise<void> => {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST')
      return fail(res, { code: 'BAD_REQUEST', message: `Use POST /api/${method} with a JSON body.` }, 405)
    }
    const body = await readBody(req)
    if (body === 'too-large') {
      res.setHeader('Connection', 'close')
      res.on('finish', () => req.destroy())
      return fail(res, { code: 'BAD_REQUEST', message: `The request body is larger than ${maxBody} bytes.` })
    }
    let params: unknown = {}
    const text = body.toString('utf8').trim()
    if (text.length > 0) {
      try {
        params = JSON.parse(text)
      } catch {
        return fail(res, { code: 'BAD_REQUEST', message: 'The request body is not valid JSON.' })
      }
    }
    const r = await o.rpc.invoke(method, params, { transport: 'http', remote: req.socket.remoteAddress ?? '' })
    if (r.ok) json(res, 200, r.value ?? null)
    else fail(res, r.error)
  }

  const handleLogin = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // A browser on another PC cannot send a header: it posts the token once and gets an HttpOnly cookie.
    const body = await readBody(req)
    const given = body === 'too-large' ? '' : (new URLSearchParams(body.toString('utf8')).get('token') ?? '')
    if (o.token === undefined || !tokenMatches(given.trim(), o.token)) {
      res.writeHead(303, { Location: '/login?failed=1' })
      res.end()
      return
    }
    res.writeHead(303, {
      Location: '/',
      'Set-Cookie': `hashyard_token=${encodeURIComponent(o.token)}; HttpOnly; SameSite=Strict; Path=/`,
    })
    res.end()
  }

  const loginPage = (res: ServerResponse, failed: boolean): void => {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hashyard — access token</title>
<meta name="viewport" content="width=device-width,initial-scale=1"></head><body style="font-family:system-ui;max-width:32rem;margin:4rem auto">
<h1>Hashyard</h1><p>This Hashyard is reachable from the network, so it asks for its access token. It was printed when the server first started and is stored in the data folder, file <code>access-token</code>.</p>
${failed ? '<p role="alert"><strong>That token is not right.</strong></p>' : ''}
<form method="post" action="/login"><label for="t">Access token</label><br><input id="t" name="token" type="password" autocomplete="current-password" size="40" required>
<button type="submit">Open Hashyard</button></form></body></html>`
    res.writeHead(failed ? 401 : 200, {
      ...SECURITY_HEADERS,
      'Content-Security-Policy': CSP.replace("form-action 'none'", "form-action 'self'"),
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
    })
    res.end(html)
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    void (async () => {
      if (url.pathname === '/healthz') return json(res, 200, { ok: true })
      if (url.pathname === '/login' && o.token !== undefined) {
        if (!hostAllowed(req.headers.host, policy))
          return fail(res, { code: 'FORBIDDEN', message: 'Host not allowed.' })
        if (req.method === 'POST') {
          if (!originAllowed(req.headers.origin, req.headers.host))
            return fail(res, { code: 'FORBIDDEN', message: 'Cross-origin requests are not allowed.' })
          return handleLogin(req, res)
        }
        return loginPage(res, url.searchParams.has('failed'))
      }
      const denied = gate(req)
      if (denied) {
        const wantsHtml = req.method === 'GET' && !url.pathname.startsWith('/api/') && denied.code === 'UNAUTHORIZED'
        if (wantsHtml) {
          res.writeHead(303, { Location: '/login' })
          res.end()
          return
        }
        return fail(res, denied)
      }
      if (url.pathname.startsWith('/api/')) return handleApi(req, res, decodeURIComponent(url.pathname.slice(5)))
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return fail(res, { code: 'BAD_REQUEST', message: 'Only GET for the UI.' })
      const file = await loadStatic(o.rendererDir, url.pathname)
      if (!file) {
        if (url.pathname === '/' || url.pathname === '/index.html') {
          res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
          res.end(
            'The UI is not built yet: run `npm run build` (npm run serve does it for you). The API works at POST /api/<method>.',
          )
          return
        }
        return fail(res, { code: 'NOT_FOUND', message: `No such file: ${url.pathname.slice(0, 200)}` })
      }
      res.writeHead(file.status, {
        ...SECURITY_HEADERS,
        'Content-Type': file.type,
        'Content-Length': file.body.length,
        'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-store',
      })
      res.end(req.method === 'HEAD' ? undefined : file.body)
    })().catch((e: unknown) => {
      o.logger.error('http request failed', { path: url.pathname, error: String(e) })
      if (!res.headersSent)
        fail(res, { code: 'INTERNAL', message: 'The request failed inside Hashyard; the details are in the log.' })
      else res.destroy()
    })
  })

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const denied = url.pathname !== '/rpc' ? { code: 'NOT_FOUND' as const, message: 'No such endpoint.' } : gate(req)
    if (denied) {
      socket.end(
        `HTTP/1.1 ${STATUS[denied.code]} ${denied.code}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ error: denied })}`,
      )
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      o.rpc.attach(wsServerTransport(ws), { transport: 'ws', remote: req.socket.remoteAddress ?? '' })
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  return {
    server,
    port: addr.port,
    url: `http://${shownHost === '0.0.0.0' || shownHost === '[::]' ? '127.0.0.1' : shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.close(1001, 'server shutting down')
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
