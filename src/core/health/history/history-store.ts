import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Logger } from '../../logger'
import { BatchWriter } from '../../store/batch-writer'
import type { Database } from '../../store/sqlite'
import type { Clock } from '../clock'
import { type EntityRef, type MetricKind, parseMetric, validateEntity } from './metrics'
import {
  type Aggregate,
  aggregateOf,
  bucketStartMs,
  DEFAULT_TIERS,
  mergeInto,
  pickTier,
  type TierConfig,
  validateTiers,
} from './tiers'

export interface HistorySample {
  entity: EntityRef
  /** A name from `METRICS`, optionally with a reason: `shares_rejected:duplicate`. */
  metric: string
  /** Gauges: the reading. Counters: the increment since the previous sample (≥ 0). */
  value: number
  /** Defaults to `now()`. */
  tsMs?: number
}

export interface HistoryOptions {
  db: Database
  now: Clock
  logger: Logger
  tiers?: readonly TierConfig[]
  /**
   * Cap on the used size of the whole SQLite store, in bytes (`null`: no cap). History is what
   * `maintain()` trims to stay under it, oldest finest-tier buckets first, because it is the only
   * table that grows with devices × time. Default 2 GiB.
   */
  maxStoreBytes?: number | null
  /** How often buffered samples are written (BatchWriter interval). Default 1000 ms. */
  flushIntervalMs?: number
  /** Bound on buffered samples between flushes; past it the oldest are dropped and counted. */
  maxBufferedSamples?: number
}

export interface SeriesPoint {
  /** Start of the bucket. */
  tsMs: number
  count: number
  sum: number
  min: number
  max: number
  last: number
  avg: number
  /** The metric's natural value: the average for gauges, the sum for counters. */
  value: number
}

export interface SeriesResult {
  entity: EntityRef
  metric: string
  kind: MetricKind
  /** The tier the points were read from. */
  tierMs: number
  /** The width of each returned point (a whole multiple of `tierMs`). */
  resolutionMs: number
  fromMs: number
  toMs: number
  /** Ascending; buckets with no sample are absent (a gap, not a zero). */
  points: SeriesPoint[]
}

export interface MaintenanceReport {
  expiredRows: number
  trimmedRows: number
  usedBytes: number
  /** Tiers the size cap trimmed, and up to when. */
  trimmed: Array<{ tierMs: number; beforeMs: number }>
}

interface BufferedSample {
  key: string
  entity: EntityRef
  metric: string
  value: number
  tsMs: number
}

const MAX_POINTS = 200_000
const FUTURE_SLACK_MS = 5 * 60_000
const DEFAULT_MAX_STORE_BYTES = 2 * 1024 ** 3

/**
 * Time-series history for devices, pools and upstreams (issue 7 §1).
 *
 * Every sample updates every tier at write time: a batch is first merged in memory per
 * (series, tier, bucket), then upserted, with the merge done again in SQL against what the bucket
 * already holds. Count, sum, min, max and last merge exactly, so a 15-minute bucket's sum of
 * accepted shares equals the sum of its 10-second buckets, and its maximum temperature is the
 * maximum of theirs — whichever tier a chart reads.
 */
export class HistoryStore {
  readonly tiers: readonly TierConfig[]
  readonly #db: Database
  readonly #now: Clock
  readonly #log: Logger
  #cap: number | null
  readonly #writer: BatchWriter<BufferedSample>
  readonly #seriesIds = new Map<string, number>()
  readonly #trimmedBefore = new Map<number, number>()
  readonly #stmt

  private constructor(opts: HistoryOptions, tiers: TierConfig[]) {
    this.tiers = tiers
    this.#db = opts.db
    this.#now = opts.now
    this.#log = opts.logger
    this.#cap = opts.maxStoreBytes === undefined ? DEFAULT_MAX_STORE_BYTES : opts.maxStoreBytes
    const db = opts.db
    this.#stmt = {
      findSeries: db.prepare('SELECT id FROM health_series WHERE entity_kind = ? AND entity_id = ? AND metric = ?'),
      addSeries: db.prepare('INSERT INTO health_series (entity_kind, entity_id, metric) VALUES (?, ?, ?)'),
      allSeries: db.prepare('SELECT id, entity_kind, entity_id, metric FROM health_series ORDER BY id'),
      upsert: db.prepare(`
        INSERT INTO health_agg (tier_ms, series_id, bucket_ms, n, total, lo, hi, last, last_off_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tier_ms, series_id, bucket_ms) DO UPDATE SET
          n = n + excluded.n,
          total = total + excluded.total,
          lo = MIN(COALESCE(lo, total), COALESCE(excluded.lo, excluded.total)),
          hi = MAX(COALESCE(hi, total), COALESCE(excluded.hi, excluded.total)),
          last = CASE WHEN excluded.last_off_ms >= last_off_ms
            THEN COALESCE(excluded.last, excluded.total) ELSE COALESCE(last, total) END,
          last_off_ms = MAX(last_off_ms, excluded.last_off_ms)`),
      range: db
        .prepare(
          'SELECT bucket_ms, n, total, lo, hi, last, last_off_ms FROM health_agg WHERE tier_ms = ? AND series_id = ? AND bucket_ms >= ? AND bucket_ms < ? ORDER BY bucket_ms',
        )
        .raw(true),
      deleteBefore: db.prepare('DELETE FROM health_agg WHERE tier_ms = ? AND series_id = ? AND bucket_ms < ?'),
      oldest: db
        .prepare('SELECT bucket_ms FROM health_agg WHERE tier_ms = ? AND series_id = ? ORDER BY bucket_ms LIMIT 1')
        .pluck(true),
      deleteSeriesRows: db.prepare('DELETE FROM health_agg WHERE series_id = ?'),
      deleteSeries: db.prepare('DELETE FROM health_series WHERE id = ?'),
      tierState: db.prepare('SELECT tier_ms, trimmed_before_ms FROM health_tier_state'),
      setTierState: db.prepare(
        'INSERT INTO health_tier_state (tier_ms, trimmed_before_ms) VALUES (?, ?) ON CONFLICT (tier_ms) DO UPDATE SET trimmed_before_ms = MAX(trimmed_before_ms, excluded.trimmed_before_ms)',
      ),
    }
    for (const r of this.#stmt.tierState.all() as Array<{ tier_ms: number; trimmed_before_ms: number }>) {
      this.#trimmedBefore.set(r.tier_ms, r.trimmed_before_ms)
    }
    this.#writer = new BatchWriter<BufferedSample>({
      write: (rows) => this.#write(rows),
      intervalMs: opts.flushIntervalMs ?? 1000,
      maxRows: opts.maxBufferedSamples ?? 200_000,
      onError: (e) => this.#log.error('history write failed', { error: e instanceof Error ? e.message : String(e) }),
    })
  }

  /** Needs the tables of `HEALTH_MIGRATIONS`. Bad tier settings are an error value. */
  static open(opts: HistoryOptions): Result<HistoryStore, AppError> {
    const tiers = validateTiers(opts.tiers ?? DEFAULT_TIERS)
    if (!tiers.ok) return tiers
    if (opts.maxStoreBytes != null && !(opts.maxStoreBytes > 0)) {
      return err(appError('INVALID_PARAMS', 'history size cap must be a positive number of bytes'))
    }
    return ok(new HistoryStore(opts, tiers.value))
  }

  /** The size cap `maintain()` enforces (bytes; null: none). */
  get maxStoreBytes(): number | null {
    return this.#cap
  }

  /** Changes the size cap; the next `maintain()` applies it. */
  setMaxStoreBytes(bytes: number | null): Result<void, AppError> {
    if (bytes !== null && !(bytes > 0)) {
      return err(appError('INVALID_PARAMS', 'history size cap must be a positive number of bytes'))
    }
    this.#cap = bytes
    return ok(undefined)
  }

  /** Samples dropped because the buffer was full between flushes. */
  get droppedSamples(): number {
    return this.#writer.dropped
  }

  /** Buffers one sample; it reaches disk at the next flush. Bad samples are refused, not stored. */
  record(sample: HistorySample): Result<void, AppError> {
    const entity = validateEntity(sample.entity)
    if (!entity.ok) return entity
    const metric = parseMetric(sample.metric)
    if (!metric.ok) return metric
    if (typeof sample.value !== 'number' || !Number.isFinite(sample.value)) {
      return err(appError('INVALID_PARAMS', `${sample.metric}: value must be a finite number`))
    }
    if (metric.value.info.kind === 'counter' && sample.value < 0) {
      return err(appError('INVALID_PARAMS', `${sample.metric} is a counter: record increments (≥ 0), not totals`))
    }
    const now = this.#now()
    const tsMs = sample.tsMs ?? now
    if (!Number.isSafeInteger(tsMs) || tsMs < 0 || tsMs > now + FUTURE_SLACK_MS) {
      return err(appError('INVALID_PARAMS', 'sample time must be a whole ms timestamp, not in the future'))
    }
    const key = `${sample.entity.kind}\u0000${sample.entity.id}\u0000${sample.metric}`
    this.#writer.push({
      key,
      entity: { kind: sample.entity.kind, id: sample.entity.id },
      metric: sample.metric,
      value: sample.value,
      tsMs,
    })
    return ok(undefined)
  }

  /** Writes everything buffered now (also runs every `flushIntervalMs`). */
  flush(): void {
    this.#writer.flush()
  }

  #seriesId(s: BufferedSample): number {
    const known = this.#seriesIds.get(s.key)
    if (known !== undefined) return known
    const row = this.#stmt.findSeries.get(s.entity.kind, s.entity.id, s.metric) as { id: number } | undefined
    const id = row ? row.id : Number(this.#stmt.addSeries.run(s.entity.kind, s.entity.id, s.metric).lastInsertRowid)
    this.#seriesIds.set(s.key, id)
    return id
  }

  #write(rows: BufferedSample[]): void {
    const now = this.#now()
    this.#db.transaction(() => {
      const merged = new Map<string, { tierMs: number; seriesId: number; bucketMs: number; agg: Aggregate }>()
      for (const s of rows) {
        const seriesId = this.#seriesId(s)
        for (const t of this.tiers) {
          if (s.tsMs < now - t.retentionMs) continue
          const bucketMs = bucketStartMs(s.tsMs, t.widthMs)
          const k = `${t.widthMs}|${seriesId}|${bucketMs}`
          const m = merged.get(k)
          if (m) mergeInto(m.agg, aggregateOf(s.value, s.tsMs))
          else merged.set(k, { tierMs: t.widthMs, seriesId, bucketMs, agg: aggregateOf(s.value, s.tsMs) })
        }
      }
      for (const m of merged.values()) {
        const a = m.agg
        // One sample: min, max and last equal the sum; NULL stores them in 0 bytes (see migrations.ts).
        const single = a.count === 1
        this.#stmt.upsert.run(
          m.tierMs,
          m.seriesId,
          m.bucketMs,
          a.count,
          a.sum,
          single ? null : a.min,
          single ? null : a.max,
          single ? null : a.last,
          a.lastTsMs - m.bucketMs,
        )
      }
    })()
  }

  #coversFromMs(tier: TierConfig): number {
    return Math.max(this.#now() - tier.retentionMs, this.#trimmedBefore.get(tier.widthMs) ?? Number.NEGATIVE_INFINITY)
  }

  /**
   * Points of one series between `fromMs` (inclusive) and `toMs` (exclusive) at about
   * `resolutionMs` per point. The tier is chosen by `pickTier`; the returned `resolutionMs` says
   * what was delivered. Buffered samples are flushed first so a chart shows the latest poll.
   */
  series(
    entity: EntityRef,
    metric: string,
    fromMs: number,
    toMs: number,
    resolutionMs: number,
  ): Result<SeriesResult, AppError> {
    const e = validateEntity(entity)
    if (!e.ok) return e
    const m = parseMetric(metric)
    if (!m.ok) return m
    if (![fromMs, toMs, resolutionMs].every(Number.isFinite) || fromMs >= toMs || resolutionMs <= 0) {
      return err(appError('INVALID_PARAMS', 'need fromMs < toMs and a positive resolutionMs'))
    }
    this.flush()
    const choice = pickTier(this.tiers, fromMs, resolutionMs, (t) => this.#coversFromMs(t))
    const res = choice.resolutionMs
    if ((toMs - fromMs) / res > MAX_POINTS) {
      return err(
        appError(
          'INVALID_PARAMS',
          `too many points: ask for a resolution of at least ${Math.ceil((toMs - fromMs) / MAX_POINTS)} ms`,
        ),
      )
    }
    const kind = m.value.info.kind
    const result: SeriesResult = {
      entity: { kind: entity.kind, id: entity.id },
      metric,
      kind,
      tierMs: choice.tier.widthMs,
      resolutionMs: res,
      fromMs,
      toMs,
      points: [],
    }
    const row = this.#stmt.findSeries.get(entity.kind, entity.id, metric) as { id: number } | undefined
    if (!row) return ok(result)
    const rows = this.#stmt.range.all(choice.tier.widthMs, row.id, bucketStartMs(fromMs, res), toMs) as Array<
      [number, number, number, number | null, number | null, number | null, number]
    >
    // Straight-line merge over plain locals: a 30-day chart at 1 minute is 43 200 rows.
    const points = result.points
    const counter = kind === 'counter'
    let ts = Number.NaN
    let count = 0
    let sum = 0
    let min = 0
    let max = 0
    let last = 0
    let lastTs = 0
    const emit = () => {
      const avg = sum / count
      points.push({ tsMs: ts, count, sum, min, max, last, avg, value: counter ? sum : avg })
    }
    for (const r of rows) {
      const bucketMs = r[0]
      const total = r[2]
      const lo = r[3] ?? total
      const hi = r[4] ?? total
      const la = r[5] ?? total
      const laTs = bucketMs + r[6]
      const at = bucketStartMs(bucketMs, res)
      if (at === ts) {
        count += r[1]
        sum += total
        if (lo < min) min = lo
        if (hi > max) max = hi
        if (laTs >= lastTs) {
          last = la
          lastTs = laTs
        }
        continue
      }
      if (count > 0) emit()
      ts = at
      count = r[1]
      sum = total
      min = lo
      max = hi
      last = la
      lastTs = laTs
    }
    if (count > 0) emit()
    return ok(result)
  }

  /** Every series stored, optionally for one entity. */
  listSeries(entity?: EntityRef): Array<{ entity: EntityRef; metric: string }> {
    const rows = this.#stmt.allSeries.all() as Array<{
      entity_kind: EntityRef['kind']
      entity_id: string
      metric: string
    }>
    return rows
      .filter((r) => !entity || (r.entity_kind === entity.kind && r.entity_id === entity.id))
      .map((r) => ({ entity: { kind: r.entity_kind, id: r.entity_id }, metric: r.metric }))
  }

  /** Forgets an entity's history (a device removed by its owner). Returns the rows deleted. */
  deleteEntity(entity: EntityRef): number {
    this.flush()
    let deleted = 0
    this.#db.transaction(() => {
      for (const r of this.#allSeries()) {
        if (r.entity_kind !== entity.kind || r.entity_id !== entity.id) continue
        deleted += this.#stmt.deleteSeriesRows.run(r.id).changes
        this.#stmt.deleteSeries.run(r.id)
        this.#seriesIds.delete(`${r.entity_kind}\u0000${r.entity_id}\u0000${r.metric}`)
      }
    })()
    return deleted
  }

  #allSeries() {
    return this.#stmt.allSeries.all() as Array<{ id: number; entity_kind: string; entity_id: string; metric: string }>
  }

  /** Used bytes of the whole store file (pages minus free pages): cheap, O(1). */
  usedBytes(): number {
    const pages = this.#db.pragma('page_count', { simple: true }) as number
    const free = this.#db.pragma('freelist_count', { simple: true }) as number
    const size = this.#db.pragma('page_size', { simple: true }) as number
    return (pages - free) * size
  }

  /**
   * Drops buckets past each tier's retention, then, if the store is over its size cap, trims the
   * oldest buckets of the finest tier (then the next) in steps of a tenth of its span until the
   * store is under 90 % of the cap. Each trim is logged. Run it every few minutes.
   */
  maintain(): MaintenanceReport {
    this.flush()
    const now = this.#now()
    const ids = this.#allSeries().map((r) => r.id)
    let expiredRows = 0
    this.#db.transaction(() => {
      for (const t of this.tiers) {
        const cutoff = bucketStartMs(now - t.retentionMs, t.widthMs)
        for (const id of ids) expiredRows += this.#stmt.deleteBefore.run(t.widthMs, id, cutoff).changes
      }
    })()
    const report: MaintenanceReport = { expiredRows, trimmedRows: 0, usedBytes: this.usedBytes(), trimmed: [] }
    const cap = this.#cap
    if (cap === null || report.usedBytes <= cap) return report
    const target = cap * 0.9
    for (const t of this.tiers) {
      for (let round = 0; round < 40 && report.usedBytes > target; round++) {
        let oldest = Number.POSITIVE_INFINITY
        for (const id of ids) {
          const b = this.#stmt.oldest.get(t.widthMs, id) as number | undefined
          if (b !== undefined && b < oldest) oldest = b
        }
        if (oldest === Number.POSITIVE_INFINITY) break
        const step = Math.max(t.widthMs, Math.ceil((now - oldest) / 10 / t.widthMs) * t.widthMs)
        const beforeMs = oldest + step
        let deleted = 0
        this.#db.transaction(() => {
          for (const id of ids) deleted += this.#stmt.deleteBefore.run(t.widthMs, id, beforeMs).changes
          this.#stmt.setTierState.run(t.widthMs, beforeMs)
        })()
        this.#trimmedBefore.set(t.widthMs, Math.max(this.#trimmedBefore.get(t.widthMs) ?? 0, beforeMs))
        report.trimmedRows += deleted
        report.usedBytes = this.usedBytes()
        const last = report.trimmed.find((x) => x.tierMs === t.widthMs)
        if (last) last.beforeMs = beforeMs
        else report.trimmed.push({ tierMs: t.widthMs, beforeMs })
        this.#log.warn('history trimmed to stay under its size cap', {
          tierMs: t.widthMs,
          before: new Date(beforeMs).toISOString(),
          deletedRows: deleted,
          usedBytes: report.usedBytes,
          capBytes: cap,
        })
      }
      if (report.usedBytes <= target) break
    }
    if (report.usedBytes > cap) {
      this.#log.error('history cannot get under its size cap: other tables fill the store', {
        usedBytes: report.usedBytes,
        capBytes: cap,
      })
    }
    return report
  }

  /** Flushes and stops the flush timer. */
  close(): void {
    this.#writer.close()
  }
}
