import type { ShareTally } from './ingest'

/**
 * Running counters of one miner connection as the pool (`PoolConnection`) or the proxy
 * (`ProxyDevice`) report them: totals since the connection opened.
 */
export interface ConnectionCounters {
  /** Unique per source: `pool:<id>`, `proxy:<id>`. */
  key: string
  /** The device record this connection belongs to, when known. */
  deviceId: string | null
  connectedAtMs: number
  accepted: number
  rejectedByReason: Readonly<Record<string, number>>
  stale: number
  diffAccepted: number
  difficulty: number
  /** Hashrate from accepted difficulty over the source's shortest window, H/s. */
  hashrateHs: number
  bestShareDifficulty: number
}

/** What a device did on Hashyard's pool and proxy since Hashyard started (for `/metrics`). */
export interface DeviceShareTotals {
  accepted: number
  rejectedByReason: Record<string, number>
  stale: number
  diffAccepted: number
  difficulty: number | null
  shareHashrateThs: number | null
  bestShareDifficulty: number | null
}

const emptyTally = (): ShareTally & { rejectedByReason: Record<string, number> } => ({
  accepted: 0,
  rejectedByReason: {},
  stale: 0,
  diffAccepted: 0,
  diffRejected: 0,
  diffStale: 0,
  difficulty: null,
  shareHashrateThs: null,
})

/**
 * Turns successive snapshots of connection counters into per-device increments (`ShareTally`)
 * and per-device totals. A connection seen for the first time counts from zero if it opened after
 * `startedAtMs`; one already open at start-up only sets the baseline, so shares from before the
 * start are not replayed as if they had just happened. A counter that went down (the source
 * restarted the connection's numbers) counts from zero again.
 */
export class ShareTallies {
  readonly #startedAtMs: number
  readonly #prev = new Map<string, ConnectionCounters>()
  readonly #totals = new Map<string, DeviceShareTotals>()

  constructor(startedAtMs: number) {
    this.#startedAtMs = startedAtMs
  }

  /**
   * One snapshot of every live connection of every source. Returns the increments per device
   * (devices with no connection or no change are absent) and, separately, the sum over all
   * connections including those with no device record.
   */
  update(conns: readonly ConnectionCounters[]): { byDevice: Map<string, ShareTally>; all: ShareTally } {
    const byDevice = new Map<string, ShareTally & { rejectedByReason: Record<string, number> }>()
    const all = emptyTally()
    const live = new Set<string>()
    const gauges = new Map<string, { difficulty: number; hashrateHs: number; best: number }>()
    for (const c of conns) {
      live.add(c.key)
      const p = this.#prev.get(c.key)
      this.#prev.set(c.key, c)
      if (c.deviceId !== null) {
        const g = gauges.get(c.deviceId) ?? { difficulty: 0, hashrateHs: 0, best: 0 }
        g.difficulty = Math.max(g.difficulty, c.difficulty)
        g.hashrateHs += c.hashrateHs
        g.best = Math.max(g.best, c.bestShareDifficulty)
        gauges.set(c.deviceId, g)
      }
      if (!p && c.connectedAtMs < this.#startedAtMs) continue
      const d = (cur: number, prev: number | undefined) => (prev === undefined || cur < prev ? cur : cur - prev)
      const accepted = d(c.accepted, p?.accepted)
      const stale = d(c.stale, p?.stale)
      const diffAccepted = d(c.diffAccepted, p?.diffAccepted)
      const rejected: Record<string, number> = {}
      for (const [reason, n] of Object.entries(c.rejectedByReason)) {
        const inc = d(n, p?.rejectedByReason[reason])
        if (inc > 0) rejected[reason] = inc
      }
      const any = accepted > 0 || stale > 0 || Object.keys(rejected).length > 0
      if (!any) continue
      const targets = [all]
      if (c.deviceId !== null) {
        let t = byDevice.get(c.deviceId)
        if (!t) {
          t = emptyTally()
          byDevice.set(c.deviceId, t)
        }
        targets.push(t)
      }
      for (const t of targets) {
        t.accepted += accepted
        t.stale += stale
        t.diffAccepted += diffAccepted
        for (const [reason, n] of Object.entries(rejected))
          t.rejectedByReason[reason] = (t.rejectedByReason[reason] ?? 0) + n
      }
    }
    for (const k of this.#prev.keys()) if (!live.has(k)) this.#prev.delete(k)
    for (const [id, g] of gauges) {
      const t = byDevice.get(id)
      if (t) {
        t.difficulty = g.difficulty
        t.shareHashrateThs = g.hashrateHs / 1e12
      }
    }
    this.#addTotals(byDevice, gauges)
    return { byDevice, all }
  }

  #addTotals(
    byDevice: Map<string, ShareTally>,
    gauges: Map<string, { difficulty: number; hashrateHs: number; best: number }>,
  ): void {
    for (const [id, g] of gauges) {
      const tot = this.#total(id)
      tot.difficulty = g.difficulty
      tot.shareHashrateThs = g.hashrateHs / 1e12
      tot.bestShareDifficulty = Math.max(tot.bestShareDifficulty ?? 0, g.best)
    }
    for (const [id, t] of byDevice) {
      const tot = this.#total(id)
      tot.accepted += t.accepted
      tot.stale += t.stale
      tot.diffAccepted += t.diffAccepted
      for (const [reason, n] of Object.entries(t.rejectedByReason))
        tot.rejectedByReason[reason] = (tot.rejectedByReason[reason] ?? 0) + n
    }
    // A device with no live connection keeps its totals (counters never go down) but loses its gauges.
    for (const [id, tot] of this.#totals) {
      if (gauges.has(id)) continue
      tot.difficulty = null
      tot.shareHashrateThs = null
    }
  }

  #total(id: string): DeviceShareTotals {
    let t = this.#totals.get(id)
    if (!t) {
      t = {
        accepted: 0,
        rejectedByReason: {},
        stale: 0,
        diffAccepted: 0,
        difficulty: null,
        shareHashrateThs: null,
        bestShareDifficulty: null,
      }
      this.#totals.set(id, t)
    }
    return t
  }

  totals(deviceId: string): DeviceShareTotals | undefined {
    return this.#totals.get(deviceId)
  }
}
