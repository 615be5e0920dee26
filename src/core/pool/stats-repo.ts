/**
 * Persisted share accounting: worker totals (absolute, replaced on each flush) and per-minute rows
 * per worker (increments, added on conflict). Writes come in batches from the pool's flush timer,
 * one transaction each, so the write rate is bounded by the number of active workers, not shares.
 */
import type { Database } from '../store/sqlite'
import type { MinuteRow, WorkerTotals } from './accounting'

interface WorkerRow {
  worker: string
  first_seen_ms: number
  last_share_ms: number | null
  accepted: number
  rejected: number
  stale: number
  diff_accepted: number
  diff_rejected: number
  best_share: number
  blocks: number
  rejected_by_reason_json: string
  latency_sum_ms: number
  latency_count: number
  user_agent: string
  remote_address: string
}

export interface HistoryQuery {
  worker?: string
  sinceMs?: number
  untilMs?: number
  limit?: number
}

export class PoolStatsRepo {
  readonly #upsertWorker
  readonly #addMinute
  readonly #write

  constructor(private readonly db: Database) {
    this.#upsertWorker = db.prepare(`
      INSERT INTO pool_workers (worker, first_seen_ms, last_share_ms, accepted, rejected, stale, diff_accepted,
        diff_rejected, best_share, blocks, rejected_by_reason_json, latency_sum_ms, latency_count, user_agent, remote_address)
      VALUES (@worker, @firstSeenMs, @lastShareTsMs, @accepted, @rejected, @stale, @diffAccepted, @diffRejected,
        @bestShareDifficulty, @blocks, @byReason, @latencySumMs, @latencyCount, @userAgent, @remoteAddress)
      ON CONFLICT(worker) DO UPDATE SET last_share_ms = excluded.last_share_ms, accepted = excluded.accepted,
        rejected = excluded.rejected, stale = excluded.stale, diff_accepted = excluded.diff_accepted,
        diff_rejected = excluded.diff_rejected, best_share = excluded.best_share, blocks = excluded.blocks,
        rejected_by_reason_json = excluded.rejected_by_reason_json, latency_sum_ms = excluded.latency_sum_ms,
        latency_count = excluded.latency_count, user_agent = excluded.user_agent, remote_address = excluded.remote_address`)
    this.#addMinute = db.prepare(`
      INSERT INTO pool_worker_minutes (ts_ms, worker, accepted, rejected, stale, diff_accepted, best_share)
      VALUES (@tsMs, @worker, @accepted, @rejected, @stale, @diffAccepted, @bestShareDifficulty)
      ON CONFLICT(ts_ms, worker) DO UPDATE SET accepted = accepted + excluded.accepted,
        rejected = rejected + excluded.rejected, stale = stale + excluded.stale,
        diff_accepted = diff_accepted + excluded.diff_accepted, best_share = MAX(best_share, excluded.best_share)`)
    this.#write = db.transaction((workers: WorkerTotals[], minutes: MinuteRow[]) => {
      for (const w of workers) this.#upsertWorker.run({ ...w, byReason: JSON.stringify(w.rejectedByReason) })
      for (const m of minutes) this.#addMinute.run(m)
    })
  }

  write(batch: { workers: WorkerTotals[]; minutes: MinuteRow[] }): void {
    if (batch.workers.length === 0 && batch.minutes.length === 0) return
    this.#write(batch.workers, batch.minutes)
  }

  loadWorkers(limit: number): WorkerTotals[] {
    const rows = this.db
      .prepare('SELECT * FROM pool_workers ORDER BY COALESCE(last_share_ms, first_seen_ms) DESC LIMIT ?')
      .all(limit) as WorkerRow[]
    return rows.map((r) => ({
      worker: r.worker,
      firstSeenMs: r.first_seen_ms,
      lastShareTsMs: r.last_share_ms,
      accepted: r.accepted,
      rejected: r.rejected,
      rejectedByReason: parseCounts(r.rejected_by_reason_json),
      stale: r.stale,
      diffAccepted: r.diff_accepted,
      diffRejected: r.diff_rejected,
      bestShareDifficulty: r.best_share,
      blocks: r.blocks,
      latencySumMs: r.latency_sum_ms,
      latencyCount: r.latency_count,
      userAgent: r.user_agent,
      remoteAddress: r.remote_address,
    }))
  }

  history(q: HistoryQuery): MinuteRow[] {
    const where: string[] = []
    const args: Array<string | number> = []
    if (q.worker !== undefined) {
      where.push('worker = ?')
      args.push(q.worker)
    }
    if (q.sinceMs !== undefined) {
      where.push('ts_ms >= ?')
      args.push(q.sinceMs)
    }
    if (q.untilMs !== undefined) {
      where.push('ts_ms < ?')
      args.push(q.untilMs)
    }
    const sql = `SELECT ts_ms AS tsMs, worker, accepted, rejected, stale, diff_accepted AS diffAccepted,
      best_share AS bestShareDifficulty FROM pool_worker_minutes ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ts_ms DESC, worker LIMIT ?`
    const rows = this.db.prepare(sql).all(...args, q.limit ?? 1440) as MinuteRow[]
    return rows.reverse()
  }

  /** Deletes minute rows older than `beforeMs`; returns how many. */
  prune(beforeMs: number): number {
    return this.db.prepare('DELETE FROM pool_worker_minutes WHERE ts_ms < ?').run(beforeMs).changes
  }
}

function parseCounts(json: string): Record<string, number> {
  try {
    const v: unknown = JSON.parse(json)
    if (typeof v !== 'object' || v === null) return {}
    const out: Record<string, number> = {}
    for (const [k, n] of Object.entries(v)) if (typeof n === 'number') out[k] = n
    return out
  } catch {
    // A hand-edited or damaged row: the counts restart rather than the pool failing to start.
    return {}
  }
}
