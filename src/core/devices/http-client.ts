/**
 * The HTTP client for device web APIs. Runs in Node (never the renderer) and sends no `Origin`
 * header: AxeOS answers 401 to a non-private Origin (research §4.10). One connection per request
 * (`Connection: close`) because embedded web servers handle few sockets. Every failure is a value.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { type AppError, err, ok, type Result } from '../../shared/errors'
import { deviceError } from './device-error'
import { type DigestChallenge, digestAuthorization, parseDigestChallenge } from './http-digest'
import type { DeviceCredentials } from './types'

export interface HttpRequest {
  host: string
  port?: number
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  headers?: Record<string, string>
  body?: string
  /** Whole-request budget. Default 5000 ms. */
  timeoutMs?: number
  /** Bodies larger than this are an error; default 2 MiB. */
  maxBodyBytes?: number
}

export interface HttpResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export function httpRequest(req: HttpRequest): Promise<Result<HttpResponse, AppError>> {
  const timeoutMs = req.timeoutMs ?? 5000
  const maxBytes = req.maxBodyBytes ?? 2 * 1024 * 1024
  const port = req.port ?? 80
  const where = `${req.host}:${port}`
  return new Promise((resolve) => {
    let settled = false
    const finish = (r: Result<HttpResponse, AppError>) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(r)
    }
    const headers: Record<string, string> = { Connection: 'close', Accept: 'application/json, */*', ...req.headers }
    if (req.body !== undefined) {
      headers['Content-Length'] = String(Buffer.byteLength(req.body))
      headers['Content-Type'] ??= 'application/json'
    }
    const r = http.request(
      { host: req.host, port, method: req.method, path: req.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (d: Buffer) => {
          size += d.length
          if (size > maxBytes) {
            finish(err(deviceError('TOO_LARGE', `Response from ${where}${req.path} exceeded ${maxBytes} bytes`)))
            res.destroy()
            return
          }
          chunks.push(d)
        })
        res.on('end', () =>
          finish(
            ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
          ),
        )
        res.on('error', (e) =>
          finish(err(deviceError('CONNECT_FAILED', `Response from ${where} broke off: ${e.message}`))),
        )
      },
    )
    const timer = setTimeout(() => {
      finish(err(deviceError('TIMEOUT', `No response from ${where}${req.path} within ${timeoutMs} ms`)))
      r.destroy()
    }, timeoutMs)
    r.on('error', (e: NodeJS.ErrnoException) =>
      finish(err(deviceError('CONNECT_FAILED', `Cannot reach ${where}: ${e.code ?? e.message}`))),
    )
    r.end(req.body)
  })
}

/** Parses a JSON body; a non-JSON body (an HTML error page) is a BAD_JSON value. */
export function jsonBody(res: HttpResponse, what: string): Result<unknown, AppError> {
  try {
    return ok(JSON.parse(res.body) as unknown)
  } catch {
    // Expected for HTML error pages and truncated bodies: reported as a value.
    return err(deviceError('BAD_JSON', `${what}: the device did not return JSON`))
  }
}

/** A non-2xx status as an error value (401/403 as AUTH_FAILED). */
export function expectOk(res: HttpResponse, what: string): Result<HttpResponse, AppError> {
  if (res.status >= 200 && res.status < 300) return ok(res)
  if (res.status === 401 || res.status === 403)
    return err(deviceError('AUTH_FAILED', `${what}: the device refused the credentials (HTTP ${res.status})`))
  return err(deviceError('HTTP_STATUS', `${what}: HTTP ${res.status}`, { status: res.status }))
}

/**
 * Digest auth across calls to one device: keeps the server nonce and counts `nc` up, so most
 * requests take one round trip. A 401 gets exactly one retry with the fresh challenge; a second
 * 401 means the credentials are wrong.
 */
export class DigestSession {
  private challenge: DigestChallenge | undefined
  private nc = 0

  constructor(
    private readonly credentials: DeviceCredentials,
    private readonly cnonce: () => string = () => randomBytes(12).toString('hex'),
  ) {}

  private authorize(req: HttpRequest): HttpRequest {
    if (!this.challenge) return req
    this.nc += 1
    const authorization = digestAuthorization({
      challenge: this.challenge,
      method: req.method,
      uri: req.path,
      username: this.credentials.username,
      password: this.credentials.password,
      cnonce: this.cnonce(),
      nc: this.nc,
    })
    return { ...req, headers: { ...req.headers, Authorization: authorization } }
  }

  async request(req: HttpRequest): Promise<Result<HttpResponse, AppError>> {
    const first = await httpRequest(this.authorize(req))
    if (!first.ok || first.value.status !== 401) return first
    const challenge = parseDigestChallenge(first.value.headers['www-authenticate'])
    if (!challenge)
      return err(deviceError('AUTH_FAILED', 'The device asked for authentication but offered no Digest challenge'))
    this.challenge = challenge
    this.nc = 0
    const second = await httpRequest(this.authorize(req))
    if (second.ok && second.value.status === 401) {
      this.challenge = undefined
      return err(deviceError('AUTH_FAILED', 'Wrong username or password for the device web interface'))
    }
    return second
  }
}
