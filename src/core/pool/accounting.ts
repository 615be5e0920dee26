/**
 * Share accounting per worker, per connection and for the whole pool, as plain in-memory
 * aggregates: O(1) work per share, no I/O. The pool persists what `drain()` returns at a bounded
 * rate (worker totals and per-minute rows, see stats-repo.ts) and reads the live numbers here.
 *
 * Hashrate is estimated from accepted shares as Σ difficulty · 2³² / seconds (research §0), over
 * 1-minute, 10-minute and 1-hour windows of time buckets (10 s buckets for the minute, 1-minute
 * buckets for the hour). A window younger than its length (a miner that just connected) is divided
 * by the time it actually covers, so a new miner's rate is not under-reported.
 */
import type { ShareEvent } from '../stratum'

const TWO_32 = 2 ** 32
const FINE_MS = 10_000
const FINE_N = 6
const COARSE_MS = 60_000
const COARSE_N = 60

export interface Hashrates {
  h1m: number
  h10m: number
  h1h: number
}

/** Difficulty summed into time buckets; `rates()` turns them into hashes per second. */
export class RateWindows {
  private readonly fine = new Float64Array(FINE_N)
  private readonly coarse = new Float64Array(COARSE_N)
  private fineAt: number
  private coarseAt: number

  constructor(readonly startMs: number) {
    this.fineAt = Math.floor(startMs / FINE_MS)
    this.coarseAt = Math.floor(startMs / COARSE_MS)
  }

  private advance(nowMs: number): void {
    const f = Math.floor(nowMs / FINE_MS)
    if (f > this.fineAt) {
      for (let b = this.fineAt + 1; b <= Math.min(f, this.fineAt + FINE_N); b++) this.fine[b % FINE_N] = 0
      this.fineAt = f
    }
    const c = Math.floor(nowMs / COARSE_MS)
    if (c > this.coarseAt) {
      for (let b = this.coarseAt + 1; b <= Math.min(c, this.coarseAt + COARSE_N); b++) this.coarse[b % COARSE_N] = 0
      this.coarseAt = c
    }
  }

  add(difficulty: number, tsMs: number): void {
    this.advance(tsMs)
    // A share stamped before the current bucket (clock step) still counts, in the current bucket.
    this.fine[this.fineAt % FINE_N]! += difficulty
    this.coarse[this.coarseAt % COARSE_N]! += difficulty
  }

  private sum(ring: Float64Array, at: number, n: number, count: number): number {
    let s = 0
    for (let i = 0; i < count; i++) s += ring[(((at - i) % n) + n) % n]!
    return s
  }

  /** Hashes per second over the last 1 m / 10 m / 1 h. */
  rates(nowMs: number): Hashrates {
    this.advance(nowMs)
    const age = Math.max(1000, nowMs - this.startMs)
    const span = (bucketMs: number, count: number): number =>
      Math.max(1000, Math.min(age, (count - 1) * bucketMs + (nowMs % bucketMs)))
    const rate = (diff: number, spanMs: number): number => (diff * TWO_32) / (spanMs / 1000)
    return {
      h1m: rate(this.sum(this.fine, this.fineAt, FINE_N, FINE_N), span(FINE_MS, FINE_N)),
      h10m: rate(this.sum(this.coarse, this.coarseAt, COARSE_N, 10), span(COARSE_MS, 10)),
      h1h: rate(this.sum(this.coarse, this.coarseAt, COARSE_N, COARSE_N), span(COARSE_MS, COARSE_N)),
    }
  }
}

export interface WorkerTotals {
  worker: string
  firstSeenMs: number
  lastShareTsMs: number | null
  accepted: number
  rejected: number
  rejectedByReason: Record<string, number>
  stale: number
  diffAccepted: number
  diffRejected: number
  bestShareDifficulty: number
  blocks: number
  latencySumMs: number
  latencyCount: number
  userAgent: string
  remoteAddress: string
}

export interface MinuteRow {
  /** Start of the minute, ms. */
  tsMs: number
  worker: string
  accepted: number
  rejected: number
  stale: number
  diffAccepted: number
  bestShareDifficulty: number
}

interface WorkerState {
  totals: WorkerTotals
  windows: RateWindows | undefined
  lastActivityMs: number
  dirty: boolean
  /** This worker's row in `minutes` for the current minute, valid while `minuteGen` matches. */
  minuteRow?: MinuteRow
  minuteGen?: number
}

export interface PoolTotals {
  accepted: number
  rejected: number
  stale: number
  diffAccepted: number
  bestShareDifficulty: number
}

export interface AccountingOptions {
  /** Workers kept in memory; past this the least recently active ones are forgotten (their totals are in the store). Default 5,000. */
  maxWorkers?: number
}

const ZERO_RATES: Hashrates = { h1m: 0, h10m: 0, h1h: 0 }

export class ShareAccounting {
  private readonly workersByName = new Map<string, WorkerState>()
  private readonly connWindows = new Map<number, RateWindows>()
  private minutes = new Map<string, MinuteRow>()
  /** Bumped by `drain`, which hands the minute rows over: cached rows of older generations are gone. */
  private minutesGen = 0
  private poolWindows: RateWindows
  private readonly maxWorkers: number
  readonly totals: PoolTotals = { accepted: 0, rejected: 0, stale: 0, diffAccepted: 0, bestShareDifficulty: 0 }

  constructor(opts: AccountingOptions = {}, nowMs = Date.now()) {
    this.maxWorkers = opts.maxWorkers ?? 5000
    this.poolWindows = new RateWindows(nowMs)
  }

  /** Seeds the persisted totals (at pool start), so counts continue across restarts. */
  load(rows: WorkerTotals[]): void {
    for (const t of rows) {
      if (this.workersByName.size >= this.maxWorkers) break
      this.workersByName.set(t.worker, {
        totals: { ...t, rejectedByReason: { ...t.rejectedByReason } },
        windows: undefined,
        lastActivityMs: t.lastShareTsMs ?? t.firstSeenMs,
        dirty: false,
      })
    }
  }

  /** Restarts the pool-wide figures (a new pool run); worker totals are kept. */
  resetPool(nowMs: number): void {
    Object.assign(this.totals, { accepted: 0, rejected: 0, stale: 0, diffAccepted: 0, bestShareDifficulty: 0 })
    this.poolWindows = new RateWindows(nowMs)
    this.connWindows.clear()
    for (const w of this.workersByName.values()) w.windows = undefined
  }

  private worker(name: string, nowMs: number, userAgent: string, remoteAddress: string): WorkerState {
    let w = this.workersByName.get(name)
    if (w === undefined) {
      w = {
        totals: {
          worker: name,
          firstSeenMs: nowMs,
          lastShareTsMs: null,
          accepted: 0,
          rejected: 0,
          rejectedByReason: {},
          stale: 0,
          diffAccepted: 0,
          diffRejected: 0,
          bestShareDifficulty: 0,
          blocks: 0,
          latencySumMs: 0,
          latencyCount: 0,
          userAgent,
          remoteAddress,
        },
        windows: undefined,
        lastActivityMs: nowMs,
        dirty: true,
      }
      this.workersByName.set(name, w)
    }
    return w
  }

  /** A miner authorized a name: it shows in the worker list before its first share. */
  noteWorker(name: string, userAgent: string, remoteAddress: string, nowMs: number, connectionId?: number): void {
    const w = this.worker(name, nowMs, userAgent, remoteAddress)
    w.totals.userAgent = userAgent
    w.totals.remoteAddress = remoteAddress
    w.lastActivityMs = nowMs
    w.dirty = true
    // Windows start when the miner starts, not at its first share: a rate from one share divided
    // by "no time at all" would be absurd.
    w.windows ??= new RateWindows(nowMs)
    if (connectionId !== undefined && !this.connWindows.has(connectionId)) {
      this.connWindows.set(connectionId, new RateWindows(nowMs))
    }
  }

  onShare(e: ShareEvent): void {
    const now = e.tsMs
    const w = this.worker(e.worker, now, e.userAgent, e.remoteAddress)
    const t = w.totals
    const minuteTs = Math.floor(now / 60_000) * 60_000
    // The worker's current minute row is cached on it: no key string or Map lookup per share.
    let m = w.minuteGen === this.minutesGen && w.minuteRow?.tsMs === minuteTs ? w.minuteRow : undefined
    if (m === undefined) {
      const key = `${minuteTs}|${e.worker}`
      m = this.minutes.get(key)
    }
    if (m === undefined) {
      m = {
        tsMs: minuteTs,
        worker: e.worker,
        accepted: 0,
        rejected: 0,
        stale: 0,
        diffAccepted: 0,
        bestShareDifficulty: 0,
      }
      this.minutes.set(`${minuteTs}|${e.worker}`, m)
    }
    w.minuteRow = m
    w.minuteGen = this.minutesGen
    w.lastActivityMs = now
    w.dirty = true
    t.remoteAddress = e.remoteAddress
    t.userAgent = e.userAgent
    if (e.accepted) {
      t.accepted++
      t.diffAccepted += e.difficulty
      if (e.shareDifficulty > t.bestShareDifficulty) t.bestShareDifficulty = e.shareDifficulty
      t.lastShareTsMs = now
      if (e.latencyMs !== undefined) {
        t.latencySumMs += e.latencyMs
        t.latencyCount++
      }
      m.accepted++
      m.diffAccepted += e.difficulty
      if (e.shareDifficulty > m.bestShareDifficulty) m.bestShareDifficulty = e.shareDifficulty
      const p = this.totals
      p.accepted++
      p.diffAccepted += e.difficulty
      if (e.shareDifficulty > p.bestShareDifficulty) p.bestShareDifficulty = e.shareDifficulty
      w.windows ??= new RateWindows(now)
      w.windows.add(e.difficulty, now)
      let cw = this.connWindows.get(e.connectionId)
      if (cw === undefined) {
        cw = new RateWindows(now)
        this.connWindows.set(e.connectionId, cw)
      }
      cw.add(e.difficulty, now)
      this.poolWindows.add(e.difficulty, now)
      return
    }
    const reason = e.reason ?? 'unknown'
    t.rejected++
    t.diffRejected += e.difficulty
    t.rejectedByReason[reason] = (t.rejectedByReason[reason] ?? 0) + 1
    m.rejected++
    this.totals.rejected++
    if (reason === 'stale') {
      t.stale++
      m.stale++
      this.totals.stale++
    }
  }

  onBlock(worker: string, nowMs: number): void {
    const w = this.workersByName.get(worker)
    if (!w) return
    w.totals.blocks++
    w.lastActivityMs = nowMs
    w.dirty = true
  }

  /** Drops the windows of connections that are gone (call periodically with the live ids). */
  retainConnections(isLive: (id: number) => boolean): void {
    for (const id of this.connWindows.keys()) if (!isLive(id)) this.connWindows.delete(id)
  }

  connectionRates(id: number, nowMs: number): Hashrates {
    return this.connWindows.get(id)?.rates(nowMs) ?? ZERO_RATES
  }

  workerRates(name: string, nowMs: number): Hashrates {
    return this.workersByName.get(name)?.windows?.rates(nowMs) ?? ZERO_RATES
  }

  poolRates(nowMs: number): Hashrates {
    return this.poolWindows.rates(nowMs)
  }

  workerTotals(): WorkerTotals[] {
    return [...this.workersByName.values()].map((w) => w.totals)
  }

  /**
   * What changed since the last drain: totals of changed workers (absolute values) and the
   * per-minute rows (increments). Also forgets the least recently active workers past the cap;
   * a drained worker's totals are safe in the store by then.
   */
  drain(): { workers: WorkerTotals[]; minutes: MinuteRow[] } {
    const workers: WorkerTotals[] = []
    for (const w of this.workersByName.values()) {
      if (!w.dirty) continue
      w.dirty = false
      workers.push({ ...w.totals, rejectedByReason: { ...w.totals.rejectedByReason } })
    }
    const minutes = [...this.minutes.values()]
    this.minutes = new Map()
    this.minutesGen++
    if (this.workersByName.size > this.maxWorkers) {
      const byAge = [...this.workersByName.values()].sort((a, b) => a.lastActivityMs - b.lastActivityMs)
      for (const w of byAge.slice(0, this.workersByName.size - this.maxWorkers)) {
        this.workersByName.delete(w.totals.worker)
      }
    }
    return { workers, minutes }
  }
}
