/**
 * A tiny HTTP server on 127.0.0.1:0 for simulated devices, with an optional Digest check that
 * really verifies the client's response (RFC 7616 MD5, qop=auth), written independently of the
 * client code so a client bug cannot hide behind a matching server bug.
 */
import { createHash, randomBytes } from 'node:crypto'
import http from 'node:http'

export interface SimRequest {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

export interface SimResponse {
  status?: number
  headers?: Record<string, string>
  body?: string
}

export interface HttpSim {
  port: number
  requests: SimRequest[]
  close(): Promise<void>
}

export interface DigestCheck {
  realm: string
  username: string
  password: string
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex')

function parseAuth(header: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const m of header.matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) out.set(m[1] ?? '', m[2] ?? m[3] ?? '')
  return out
}

export async function startHttpSim(
  handler: (req: SimRequest) => SimResponse | 'hang',
  digest?: DigestCheck,
  /** Where to listen; default 127.0.0.1 on an ephemeral port. Loopback addresses only. */
  listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
): Promise<HttpSim> {
  const requests: SimRequest[] = []
  /** Issued nonces and the highest nc seen for each (replays are refused). */
  const nonces = new Map<string, number>()
  const sockets = new Set<import('node:net').Socket>()

  const verify = (req: http.IncomingMessage): boolean => {
    if (!digest) return true
    const h = req.headers.authorization
    if (!h?.startsWith('Digest ')) return false
    const p = parseAuth(h.slice(7))
    const nonce = p.get('nonce') ?? ''
    const last = nonces.get(nonce)
    if (last === undefined) return false
    const nc = Number.parseInt(p.get('nc') ?? '', 16)
    if (!Number.isInteger(nc) || nc <= last) return false
    if (p.get('username') !== digest.username || p.get('realm') !== digest.realm) return false
    if (p.get('uri') !== req.url || p.get('qop') !== 'auth') return false
    const ha1 = md5(`${digest.username}:${digest.realm}:${digest.password}`)
    const ha2 = md5(`${req.method}:${req.url}`)
    const expected = md5(`${ha1}:${nonce}:${p.get('nc')}:${p.get('cnonce')}:auth:${ha2}`)
    if (expected !== p.get('response')) return false
    nonces.set(nonce, nc)
    return true
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (d: Buffer) => chunks.push(d))
    req.on('end', () => {
      if (!verify(req)) {
        const nonce = randomBytes(16).toString('hex')
        nonces.set(nonce, 0)
        res.writeHead(401, {
          'WWW-Authenticate': `Digest realm="${digest?.realm}", nonce="${nonce}", qop="auth", algorithm=MD5`,
          'Content-Type': 'text/html',
        })
        res.end('<html><body>401 Unauthorized</body></html>')
        return
      }
      const sreq: SimRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      requests.push(sreq)
      const out = handler(sreq)
      if (out === 'hang') return
      res.writeHead(out.status ?? 200, { 'Content-Type': 'application/json', ...out.headers })
      res.end(out.body ?? '')
    })
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  if (!listen.host.startsWith('127.')) throw new Error('simulated devices listen on loopback only')
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, resolve)
  })
  const addr = server.address()
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
