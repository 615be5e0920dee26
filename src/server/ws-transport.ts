import type { WebSocket } from 'ws'
import type { ServerTransport } from '../core/rpc/rpc-server'

/** Wraps one WebSocket as an RPC transport: JSON text frames, send-buffer size for backpressure. */
export function wsServerTransport(ws: WebSocket): ServerTransport {
  const closeCbs = new Set<(r: string) => void>()
  ws.on('close', (code, reason) => {
    for (const cb of closeCbs) cb(`websocket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`)
  })
  return {
    send(msg) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg))
    },
    onMessage(cb) {
      const h = (data: Buffer, isBinary: boolean): void => {
        if (isBinary) {
          cb({ invalid: 'binary frame' })
          return
        }
        let v: unknown
        try {
          v = JSON.parse(data.toString('utf8'))
        } catch {
          v = { invalid: 'not JSON' }
        }
        cb(v)
      }
      ws.on('message', h)
      return () => ws.off('message', h)
    },
    onClose(cb) {
      closeCbs.add(cb)
      return () => closeCbs.delete(cb)
    },
    close() {
      ws.close(1001, 'server closing')
    },
    bufferedBytes: () => ws.bufferedAmount,
  }
}
