import type { AppEvent } from '../../shared/domain/system'
import type { Logger } from '../logger'
import type { Database } from '../store/sqlite'

export interface EventLogOptions {
  /** Events kept in memory for replay to subscribers that reconnect. Default 1,000. */
  ringSize?: number
  /** Events kept in the store; older ones are deleted. Default 50,000. */
  keepInStore?: number
}

/**
 * The app's event log: what the owner should see happened (a port opened, a miner connected, a
 * block found). In-memory ring for live subscribers, persisted for history. Messages never carry
 * secrets; text from the network is stored as given and rendered only as text by the UI.
 */
export class EventLog {
  #ring: AppEvent[] = []
  #seq: number
  #listeners = new Set<(e: AppEvent) => void>()
  readonly #insert
  readonly #ringSize: number
  readonly #keep: number
  #sinceTrim = 0

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    opts: EventLogOptions = {},
  ) {
    this.#ringSize = opts.ringSize ?? 1000
    this.#keep = opts.keepInStore ?? 50_000
    this.#insert = db.prepare(
      'INSERT INTO events (seq, ts_ms, level, source, message, data_json) VALUES (?, ?, ?, ?, ?, ?)',
    )
    const last = db.prepare('SELECT MAX(seq) AS s FROM events').get() as { s: number | null }
    this.#seq = last.s ?? 0
    this.#ring = this.list(Math.max(0, this.#seq - this.#ringSize), this.#ringSize)
  }

  get lastSeq(): number {
    return this.#seq
  }

  append(level: AppEvent['level'], source: string, message: string, data?: Record<string, unknown>): AppEvent {
    const e: AppEvent = { seq: ++this.#seq, tsMs: Date.now(), level, source, message, ...(data ? { data } : {}) }
    try {
      this.#insert.run(e.seq, e.tsMs, e.level, e.source, e.message, data ? JSON.stringify(data) : null)
      if (++this.#sinceTrim >= 1000) {
        this.#sinceTrim = 0
        this.db.prepare('DELETE FROM events WHERE seq <= ?').run(this.#seq - this.#keep)
      }
    } catch (err) {
      // The live stream must go on even if the disk is full; the failure itself is logged.
      this.logger.error('event log write failed', { error: String(err) })
    }
    this.#ring.push(e)
    if (this.#ring.length > this.#ringSize) this.#ring.shift()
    this.logger[level === 'debug' ? 'debug' : level](`${source}: ${message}`)
    for (const cb of this.#listeners) cb(e)
    return e
  }

  /** From the store, oldest first. */
  list(sinceSeq = 0, limit = 200): AppEvent[] {
    const rows = this.db
      .prepare('SELECT seq, ts_ms, level, source, message, data_json FROM events WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(sinceSeq, limit) as Array<{
      seq: number
      ts_ms: number
      level: AppEvent['level']
      source: string
      message: string
      data_json: string | null
    }>
    return rows.map((r) => ({
      seq: r.seq,
      tsMs: r.ts_ms,
      level: r.level,
      source: r.source,
      message: r.message,
      ...(r.data_json ? { data: JSON.parse(r.data_json) as Record<string, unknown> } : {}),
    }))
  }

  /** For subscribers: events after `sinceSeq` from the ring, or 'gone' if the ring has moved past it. */
  replay(sinceSeq: number | undefined): AppEvent[] | 'gone' {
    if (sinceSeq === undefined) return []
    if (sinceSeq >= this.#seq) return []
    const first = this.#ring[0]
    if (!first || first.seq > sinceSeq + 1) return 'gone'
    return this.#ring.filter((e) => e.seq > sinceSeq)
  }

  onAppend(cb: (e: AppEvent) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }
}
