/**
 * Persisted proxy accounting: per-minute rows per device (by worker name) and per pool. Rows are
 * increments added on conflict, written in batches from the service's flush timer, so the write
 * rate is bounded by the number of active devices and pools per flush, not by the share rate.
 */
import type { Database } from '../store/sqlite'

export interface ProxyMinuteRow {
  /** Start of the minute, ms. */
  tsMs: number
  kind: 'device' | 'pool'
  key: string
  accepted: number
  rejected: number
  stale: number
  diffAccepted: number
  upstreamAccepted: number
  upstreamRejected: number
}

export interface ProxyHistoryQuery {
  kind?: 'device' | 'pool'
  key?: string
  sinceMs?: number
  untilMs?: number
  limit?: number
}

export class ProxyStatsRepo {
  readonly #write

  constructor(private readonly db: Database) {
    const add = db.prepare(`
      INSERT INTO proxy_minutes (ts_ms, kind, key, accepted, rejected, stale, diff_accepted, upstream_accepted, upstream_rejected)
      VALUES (@tsMs, @kind, @key, @accepted, @rejected, @stale, @diffAccepted, @upstreamAccepted, @upstreamRejected)
      ON CONFLICT(ts_ms, kind, key) DO UPDATE SET accepted = accepted + excluded.accepted,
        rejected = rejected + excluded.rejected, stale = stale + excluded.stale,
        diff_accepted = diff_accepted + excluded.diff_accepted,
        upstream_accepted = upstream_accepted + excluded.upstream_accepted,
        upstream_rejected = upstream_rejected + excluded.upstream_rejected`)
    this.#write = db.transaction((rows: ProxyMinuteRow[]) => {
      for (const r of rows) add.run(r)
    })
  }

  /** Adds the rows in one transaction. */
  write(rows: ProxyMinuteRow[]): void {
    if (rows.length > 0) this.#write(rows)
  }

  history(q: ProxyHistoryQuery): ProxyMinuteRow[] {
    const where: string[] = []
    const args: Array<string | number> = []
    if (q.kind !== undefined) {
      where.push('kind = ?')
      args.push(q.kind)
    }
    if (q.key !== undefined) {
      where.push('key = ?')
      args.push(q.key)
    }
    if (q.sinceMs !== undefined) {
      where.push('ts_ms >= ?')
      args.push(q.sinceMs)
    }
    if (q.untilMs !== undefined) {
      where.push('ts_ms < ?')
      args.push(q.untilMs)
    }
    const sql = `SELECT ts_ms AS tsMs, kind, key, accepted, rejected, stale, diff_accepted AS diffAccepted,
      upstream_accepted AS upstreamAccepted, upstream_rejected AS upstreamRejected FROM proxy_minutes
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ts_ms DESC, kind, key LIMIT ?`
    const rows = this.db.prepare(sql).all(...args, q.limit ?? 1440) as ProxyMinuteRow[]
    return rows.reverse()
  }

  /** Deletes rows older than `beforeMs`; returns how many. */
  prune(beforeMs: number): number {
    return this.db.prepare('DELETE FROM proxy_minutes WHERE ts_ms < ?').run(beforeMs).changes
  }
}
