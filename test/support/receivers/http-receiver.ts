import http from 'node:http'

/**
 * An HTTP server on 127.0.0.1 port 0 that records every request (method, path, headers, raw body)
 * and answers with what `respond` returns — a real receiver for webhook, Telegram and Discord tests.
 */
export interface ReceivedRequest {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  body: string
}

export interface HttpReply {
  status?: number
  body?: string
  headers?: Record<string, string>
}

export interface HttpReceiver {
  port: number
  url: string
  requests: ReceivedRequest[]
  close(): Promise<void>
}

export async function startHttpReceiver(
  respond: (req: ReceivedRequest) => HttpReply = () => ({}),
): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const r: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      }
      requests.push(r)
      const reply = respond(r)
      res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', ...reply.headers })
      res.end(reply.body ?? '')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('HTTP receiver has no port')
  return {
    port: address.port,
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
