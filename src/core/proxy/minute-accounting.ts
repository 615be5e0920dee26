/**
 * Turns the proxy's running counters into per-minute increments for the store. The proxy counts
 * per connection and per pool (O(1) per share, no I/O); this reads those counters at each flush,
 * keeps the last reading, and adds the difference to the row of the current minute. A counter that
 * went down (a pool replaced by a new config, a restart) starts a new series from zero.
 */
import type { ProxyMinuteRow } from './stats-repo'

export interface CounterSnapshot {
  accepted: number
  rejected: number
  stale: number
  diffAccepted: number
  upstreamAccepted: number
  upstreamRejected: number
}

const FIELDS = [
  'accepted',
  'rejected',
  'stale',
  'diffAccepted',
  'upstreamAccepted',
  'upstreamRejected',
] as const satisfies ReadonlyArray<keyof CounterSnapshot>

export class MinuteAccounting {
  private readonly last = new Map<string, CounterSnapshot>()
  private readonly pending = new Map<string, ProxyMinuteRow>()

  /**
   * Records a reading. `series` identifies one running counter (a connection, a pool state);
   * `key` is what the row is stored under (a worker name, a pool id). `final` forgets the series.
   */
  note(
    kind: ProxyMinuteRow['kind'],
    series: string,
    key: string,
    now: CounterSnapshot,
    nowMs: number,
    final = false,
  ): void {
    const id = `${kind}\u0000${series}`
    const prev = this.last.get(id)
    const reset = prev !== undefined && FIELDS.some((f) => now[f] < prev[f])
    const base = prev === undefined || reset ? undefined : prev
    if (final) this.last.delete(id)
    else this.last.set(id, { ...now })
    const tsMs = Math.floor(nowMs / 60_000) * 60_000
    let any = false
    const delta = {} as CounterSnapshot
    for (const f of FIELDS) {
      delta[f] = now[f] - (base?.[f] ?? 0)
      if (delta[f] !== 0) any = true
    }
    if (!any) return
    const rowKey = `${tsMs}\u0000${kind}\u0000${key}`
    const row = this.pending.get(rowKey)
    if (row) for (const f of FIELDS) row[f] += delta[f]
    else this.pending.set(rowKey, { tsMs, kind, key, ...delta })
  }

  /** Forgets series not in `live` (closed connections whose final reading was missed). */
  retain(kind: ProxyMinuteRow['kind'], live: ReadonlySet<string>): void {
    const prefix = `${kind}\u0000`
    for (const id of this.last.keys())
      if (id.startsWith(prefix) && !live.has(id.slice(prefix.length))) this.last.delete(id)
  }

  /** The rows gathered since the last drain. */
  drain(): ProxyMinuteRow[] {
    const rows = [...this.pending.values()]
    this.pending.clear()
    return rows
  }
}
