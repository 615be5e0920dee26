import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { SystemSample } from '../../shared/domain/system'
import { BatchWriter } from '../store/batch-writer'
import type { Database } from '../store/sqlite'

/**
 * Samples the core's own health (memory, event-loop delay, API connections) on an interval,
 * publishes the newest sample to `system.stream` and keeps it as telemetry in the store
 * (batched: a hard kill loses at most about one second of samples).
 */
export class SystemSampler {
  #latest: SystemSample | undefined
  #listeners = new Set<() => void>()
  #timer: ReturnType<typeof setInterval>
  #histogram = monitorEventLoopDelay({ resolution: 10 })
  #writer: BatchWriter<SystemSample>
  readonly #startedAtMs: number

  constructor(
    private readonly db: Database,
    private readonly connections: () => number,
    opts: { intervalMs: number; startedAtMs: number; flushMs?: number },
  ) {
    this.#startedAtMs = opts.startedAtMs
    const insert = db.prepare(
      'INSERT OR REPLACE INTO system_samples (ts_ms, uptime_s, rss_bytes, heap_used_bytes, event_loop_delay_p99_ms, connections) VALUES (?, ?, ?, ?, ?, ?)',
    )
    this.#writer = new BatchWriter<SystemSample>({
      intervalMs: opts.flushMs ?? 1000,
      write: (rows) =>
        db.transaction(() => {
          for (const r of rows)
            insert.run(r.tsMs, r.uptimeS, r.rssBytes, r.heapUsedBytes, r.eventLoopDelayP99Ms, r.connections)
        })(),
    })
    this.#histogram.enable()
    this.#timer = setInterval(() => this.sample(), opts.intervalMs)
    this.#timer.unref?.()
    this.sample()
  }

  get latest(): SystemSample | undefined {
    return this.#latest
  }

  sample(): SystemSample {
    const mem = process.memoryUsage()
    const p99Ns = this.#histogram.count > 0 ? this.#histogram.percentile(99) : 0
    this.#histogram.reset()
    const now = Date.now()
    const s: SystemSample = {
      tsMs: now,
      uptimeS: (now - this.#startedAtMs) / 1000,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      eventLoopDelayP99Ms: Math.round(p99Ns / 1e4) / 100,
      connections: this.connections(),
    }
    this.#latest = s
    this.#writer.push(s)
    for (const cb of this.#listeners) cb()
    return s
  }

  history(sinceMs = 0, limit = 3600): SystemSample[] {
    const rows = this.db
      .prepare(
        'SELECT ts_ms, uptime_s, rss_bytes, heap_used_bytes, event_loop_delay_p99_ms, connections FROM system_samples WHERE ts_ms > ? ORDER BY ts_ms DESC LIMIT ?',
      )
      .all(sinceMs, limit) as Array<Record<string, number>>
    return rows.reverse().map((r) => ({
      tsMs: r.ts_ms ?? 0,
      uptimeS: r.uptime_s ?? 0,
      rssBytes: r.rss_bytes ?? 0,
      heapUsedBytes: r.heap_used_bytes ?? 0,
      eventLoopDelayP99Ms: r.event_loop_delay_p99_ms ?? 0,
      connections: r.connections ?? 0,
    }))
  }

  onChange(cb: () => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  close(): void {
    clearInterval(this.#timer)
    this.#histogram.disable()
    this.#writer.close()
  }
}
