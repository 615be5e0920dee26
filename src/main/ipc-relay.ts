/**
 * Relays renderer ↔ core messages. Every message from a renderer passes the sender check first:
 * it must come from the main frame of one of our windows, showing one of our pages. The core
 * then validates the envelope and params against the contract (one validation point for all hosts).
 * Written against small interfaces so it is tested in plain Node without Electron.
 */
export interface SenderLike {
  id: number
  mainFrameUrl: string | undefined
  isMainFrame: boolean
  isOurWindow: boolean
  send(channel: string, msg: unknown): void
  isDestroyed(): boolean
}

export interface CoreLink {
  open(conn: number): void
  message(conn: number, msg: unknown): void
  close(conn: number): void
}

export class IpcRelay {
  #conns = new Map<number, SenderLike>()

  constructor(
    private readonly channel: string,
    private readonly core: CoreLink,
    private readonly isTrusted: (url: string) => boolean,
    private readonly onRejected: (reason: string) => void,
    /** The envelope check (ClientMsg schema); the core validates method params again. */
    private readonly isEnvelope: (msg: unknown) => boolean = () => true,
  ) {}

  /** A message arrived from a renderer on our channel. */
  fromRenderer(sender: SenderLike, msg: unknown): void {
    if (!sender.isOurWindow || !sender.isMainFrame || !sender.mainFrameUrl || !this.isTrusted(sender.mainFrameUrl)) {
      this.onRejected(`IPC from an untrusted sender (${String(sender.mainFrameUrl).slice(0, 100)})`)
      return
    }
    if (!this.isEnvelope(msg)) {
      this.onRejected('IPC message that is not a protocol envelope')
      return
    }
    if (!this.#conns.has(sender.id)) {
      this.#conns.set(sender.id, sender)
      this.core.open(sender.id)
    }
    this.core.message(sender.id, msg)
  }

  /**
   * Opens a connection for a window without waiting for it to speak: after a core restart the
   * renderer's client rejects calls while down, so the core's fresh `hello` must come first.
   */
  adopt(sender: SenderLike): void {
    if (!sender.isOurWindow || !sender.mainFrameUrl || !this.isTrusted(sender.mainFrameUrl)) return
    if (this.#conns.has(sender.id)) return
    this.#conns.set(sender.id, sender)
    this.core.open(sender.id)
  }

  /** A message from the core for one renderer connection. */
  fromCore(conn: number, msg: unknown): void {
    const s = this.#conns.get(conn)
    if (!s || s.isDestroyed()) {
      this.rendererGone(conn)
      return
    }
    s.send(this.channel, msg)
  }

  rendererGone(conn: number): void {
    if (this.#conns.delete(conn)) this.core.close(conn)
  }

  /** The core died: tell every window, forget connections (they reopen on the next message). */
  coreDown(reason: string): void {
    for (const s of this.#conns.values()) if (!s.isDestroyed()) s.send(this.channel, { t: 'down', reason })
    this.#conns.clear()
  }

  /** The core is back: windows are told to reconnect by a fresh hello on their next message. */
  get connectionIds(): number[] {
    return [...this.#conns.keys()]
  }
}
