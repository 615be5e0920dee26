/**
 * The only API the preload exposes (`window.hashyardBridge`). A fixed-channel message pipe: the
 * main process checks the sender of every message and the core validates every message against
 * the contract, so nothing here widens what the page can do.
 */
export interface HashyardBridge {
  readonly protocol: number
  send(msg: unknown): void
  /** Returns the unsubscribe function. The IPC event object is never passed to the page. */
  onMessage(cb: (msg: unknown) => void): () => void
}

export const BRIDGE_KEY = 'hashyardBridge'
export const IPC_CHANNEL = 'hashyard:rpc'
