import type { AlertFrame } from '../../shared/contract/health'

/**
 * The `alerts.stream` feed: numbered frames in a bounded ring, so a client that reconnects with
 * `sinceSeq` gets what it missed, and one that fell further behind is told to resync (it then
 * reloads `alerts.list`). A new subscriber without `sinceSeq` gets only new frames: the backlog is
 * `alerts.list`'s job, and replaying it would pop old OS notifications.
 */
export class AlertFeed {
  readonly #ring: AlertFrame[] = []
  readonly #size: number
  readonly #listeners = new Set<(f: AlertFrame) => void>()
  #seq = 0

  constructor(size = 500) {
    this.#size = Math.max(1, size)
  }

  push(frame: Omit<AlertFrame, 'seq'>): AlertFrame {
    const f: AlertFrame = { ...frame, seq: ++this.#seq }
    this.#ring.push(f)
    if (this.#ring.length > this.#size) this.#ring.shift()
    for (const cb of this.#listeners) cb(f)
    return f
  }

  replay(sinceSeq: number | undefined): AlertFrame[] | 'gone' {
    if (sinceSeq === undefined || sinceSeq >= this.#seq) return []
    const first = this.#ring[0]
    if (!first || first.seq > sinceSeq + 1) return 'gone'
    return this.#ring.filter((f) => f.seq > sinceSeq)
  }

  onFrame(cb: (f: AlertFrame) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }
}
