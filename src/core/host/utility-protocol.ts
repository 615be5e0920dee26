/**
 * Messages between the Electron main process and the core running in a utility process.
 * The renderer's RPC messages travel inside `msg` untouched; main only relays them after checking
 * which window sent them. The core asks main for what only main can do (safeStorage, opening links).
 */
export type MainToCore =
  | { k: 'init'; dataDir: string; cipher: { available: boolean; backend: string } }
  | { k: 'open'; conn: number }
  | { k: 'msg'; conn: number; msg: unknown }
  | { k: 'close'; conn: number }
  | { k: 'cipher-res'; id: number; ok: true; data: string }
  | { k: 'cipher-res'; id: number; ok: false; error: string }
  | { k: 'external-res'; id: number; opened: boolean }
  | { k: 'stop' }

export type CoreToMain =
  | { k: 'ready'; version: string }
  | { k: 'msg'; conn: number; msg: unknown }
  | { k: 'cipher-req'; id: number; op: 'encrypt' | 'decrypt'; data: string }
  | { k: 'external-req'; id: number; url: string }
  | { k: 'fatal'; message: string }
  | { k: 'stopped' }

/** The shape of Electron's `process.parentPort` that the core uses (so tests can pass an EventEmitter). */
export interface ParentPortLike {
  on(event: 'message', cb: (e: { data: unknown }) => void): unknown
  postMessage(msg: unknown): void
}
