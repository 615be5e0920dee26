/**
 * The live share feed behind `poolShares.stream`: numbered frames in a bounded ring, for a UI list
 * of recent shares. A big farm answers thousands of shares a second, which no screen can show and
 * no IPC channel should carry, so frames are capped per second; the shares over the cap are only
 * counted (`skippedBefore` on the next frame). The accounting itself sees every share.
 */
import type { ShareFrame } from '../../shared/contract/pool'
import type { ShareEvent } from '../stratum'

export interface ShareFeedOptions {
  /** Frames kept for replay. Default 1,000. */
  ringSize?: number
  /** Frames per wall-clock second at most. Default 50. */
  maxPerSecond?: number
}

export class ShareFeed {
  private ring: ShareFrame[] = []
  private seq = 0
  private second = -1
  private inSecond = 0
  private skipped = 0
  private readonly listeners = new Set<(f: ShareFrame) => void>()
  private readonly ringSize: number
  private readonly maxPerSecond: number

  constructor(opts: ShareFeedOptions = {}) {
    this.ringSize = opts.ringSize ?? 1000
    this.maxPerSecond = opts.maxPerSecond ?? 50
  }

  push(e: ShareEvent): void {
    const sec = Math.floor(e.tsMs / 1000)
    if (sec !== this.second) {
      this.second = sec
      this.inSecond = 0
    }
    // Blocks always make it into the feed.
    if (this.inSecond >= this.maxPerSecond && !e.isBlock) {
      this.skipped++
      return
    }
    this.inSecond++
    const f: ShareFrame = {
      seq: ++this.seq,
      tsMs: e.tsMs,
      connectionId: e.connectionId,
      remoteAddress: e.remoteAddress,
      worker: e.worker,
      jobId: e.jobId,
      height: e.height,
      accepted: e.accepted,
      reason: e.reason ?? null,
      difficulty: e.difficulty,
      shareDifficulty: e.shareDifficulty,
      isBlock: e.isBlock,
      latencyMs: e.latencyMs ?? null,
      skippedBefore: this.skipped,
    }
    this.skipped = 0
    this.ring.push(f)
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize)
    for (const cb of this.listeners) cb(f)
  }

  get lastSeq(): number {
    return this.seq
  }

  /** Frames after `sinceSeq` (all held ones when absent), or 'gone' when the ring lost some of them. */
  replay(sinceSeq?: number): ShareFrame[] | 'gone' {
    if (sinceSeq === undefined) return [...this.ring]
    if (sinceSeq >= this.seq) return []
    const oldest = this.ring[0]?.seq ?? this.seq + 1
    if (sinceSeq < oldest - 1) return 'gone'
    return this.ring.filter((f) => f.seq > sinceSeq)
  }

  onFrame(cb: (f: ShareFrame) => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }
}
