import { z } from 'zod'
import type { AppError } from './errors'

/**
 * The wire envelope shared by every transport (IPC, WebSocket, in-memory). Version 1.
 * The client speaks first only after `hello`; ids are chosen by the client and unique per connection.
 */
export { PROTOCOL_VERSION } from './protocol-version'

export const ClientMsg = z.discriminatedUnion('t', [
  z.object({ t: z.literal('call'), id: z.number().int().nonnegative(), m: z.string().max(128), p: z.unknown() }),
  z.object({ t: z.literal('sub'), id: z.number().int().nonnegative(), topic: z.string().max(128), p: z.unknown() }),
  z.object({ t: z.literal('unsub'), id: z.number().int().nonnegative() }),
])
export type ClientMsg = z.infer<typeof ClientMsg>

export type ServerMsg =
  | { t: 'hello'; protocol: number; server: { app: 'hashyard'; version: string; host: string } }
  | { t: 'ok'; id: number; v: unknown }
  | { t: 'err'; id: number; e: AppError }
  /** A topic frame; `seq` increases by exactly 1 per frame of one subscription. */
  | { t: 'frame'; id: number; seq: number; v: unknown }
  /** The server could not deliver every frame of an ordered topic: refetch state. The subscription
   *  continues and its next frame is numbered 1. */
  | { t: 'resync'; id: number; reason: string }
  /** The core went away (desktop: the utility process died and is being restarted). */
  | { t: 'down'; reason: string }

/**
 * A bidirectional message pipe. Implementations: Electron IPC via the preload bridge, WebSocket
 * (browser ↔ headless server), and an in-memory pair for tests. Messages are plain JSON values.
 */
export interface Transport {
  send(msg: unknown): void
  onMessage(cb: (msg: unknown) => void): () => void
  onClose(cb: (reason: string) => void): () => void
  close(): void
}

/** Two connected in-memory transports; delivery is asynchronous like a real pipe. */
export function memoryTransportPair(): [Transport, Transport] {
  type Side = { msg: Set<(m: unknown) => void>; close: Set<(r: string) => void>; closed: boolean }
  const a: Side = { msg: new Set(), close: new Set(), closed: false }
  const b: Side = { msg: new Set(), close: new Set(), closed: false }
  const make = (self: Side, peer: Side): Transport => ({
    send(m) {
      if (self.closed) return
      // Round-trip through JSON so tests catch anything that would not survive a real wire.
      const copy: unknown = JSON.parse(JSON.stringify(m))
      queueMicrotask(() => {
        if (!peer.closed) for (const cb of peer.msg) cb(copy)
      })
    },
    onMessage(cb) {
      self.msg.add(cb)
      return () => self.msg.delete(cb)
    },
    onClose(cb) {
      self.close.add(cb)
      return () => self.close.delete(cb)
    },
    close() {
      for (const [side, reason] of [
        [self, 'closed'],
        [peer, 'peer closed'],
      ] as const) {
        if (side.closed) continue
        side.closed = true
        for (const cb of side.close) cb(reason)
      }
    },
  })
  return [make(a, b), make(b, a)]
}
