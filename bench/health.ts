// Fleet-health benchmark (issue 7): 500 devices polled every 15 s and 100 shares/s for 24 simulated
// hours, on the real SQLite store with an injected clock.
// Run: npx tsx bench/health.ts   (part of npm run bench: `npm run bench -- health`)
//
// Time compression: the first 23 h 50 min of history are written straight into `health_agg` as
// the buckets HistoryStore would have left there (same keys, counts, sums, minima, maxima, last
// values; 10 s buckets only for the last 6 h, as retention would leave them). The last 10 minutes
// then run through the real path second by second — HistoryStore.record and a flush every
// simulated second, the alert engine observing every poll and ticking every 5 s — and are timed:
// that is the write cost per second of real time. Store size is measured after the 24 h, and the
// steady-state size of each tier layout is extrapolated from the measured bytes per bucket.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { DeviceStatus } from '../src/core/devices/types'
import { type HistorySample, HistoryStore } from '../src/core/health/history/history-store'
import { DEFAULT_TIERS, FARM_TIERS, type TierConfig } from '../src/core/health/history/tiers'
import {
  deviceObservation,
  deviceSamples,
  type ShareTally,
  shareSamples,
  sharesObservation,
} from '../src/core/health/ingest'
import { HEALTH_MIGRATIONS } from '../src/core/health/migrations'
import { DEFAULT_RULES } from '../src/core/health/rules/defaults'
import { AlertEngine } from '../src/core/health/rules/engine'
import { createLogger } from '../src/core/logger'
import { openStore } from '../src/core/store/store'

const DEVICES = 500
const POLL_S = 15
const SHARES_PER_S = 100
const DIFFICULTY = 1000
const HOUR = 3_600_000
const DAY = 24 * HOUR
const T_END = Date.UTC(2026, 0, 31)
const T_START = T_END - DAY
const LIVE_MS = 10 * 60_000

/** Series per device: 6 from its poll (reachable, hashrate, temp, fan, power, reported accepted)
 * and 4 from Hashyard's pool every 15 s (accepted, difficulty accepted, difficulty, share hashrate). */
const POLL_METRICS = ['reachable', 'hashrate_reported_ths', 'temp_max_c', 'fan_rpm', 'power_w', 'reported_accepted']
const SHARE_METRICS = ['shares_accepted', 'diff_accepted', 'difficulty', 'hashrate_shares_ths']
const SERIES_PER_DEVICE = POLL_METRICS.length + SHARE_METRICS.length

// A small deterministic PRNG so runs compare.
let seed = 42
const rnd = () => {
  seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff
  return seed / 0x7fffffff
}
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits

/** One device's reading of each metric at a poll (values shaped like a Bitaxe's). */
function reading(metric: string): number {
  switch (metric) {
    case 'reachable':
      return 1
    case 'hashrate_reported_ths':
      return round(1 + rnd() * 0.1, 6)
    case 'temp_max_c':
      return round(55 + rnd() * 10, 3)
    case 'fan_rpm':
      return 4000 + Math.floor(rnd() * 800)
    case 'power_w':
      return round(15 + rnd() * 3, 2)
    case 'reported_accepted':
    case 'shares_accepted':
      return 2 + Math.floor(rnd() * 3)
    case 'diff_accepted':
      return DIFFICULTY * (2 + Math.floor(rnd() * 3))
    case 'difficulty':
      return DIFFICULTY
    default:
      return round(0.9 + rnd() * 0.2, 6)
  }
}

function status(tsMs: number, accepted: number): DeviceStatus {
  return {
    tsMs,
    hashrates: [],
    hashrateThs: round(1 + rnd() * 0.1, 6),
    expectedHashrateThs: 1.1,
    boards: [
      {
        index: 0,
        hashrateThs: null,
        boardTempC: round(50 + rnd() * 5, 3),
        chipTempC: round(55 + rnd() * 10, 3),
        chips: 1,
        serial: null,
      },
    ],
    fansRpm: [4000 + Math.floor(rnd() * 800)],
    powerW: round(15 + rnd() * 3, 2),
    uptimeS: 1000,
    pools: [
      {
        index: 0,
        url: 'stratum+tcp://192.168.1.2:3333',
        user: 'bc1q.w',
        state: 'alive',
        active: true,
        priority: 0,
        accepted,
        rejected: 0,
      },
    ],
    accepted,
    rejected: 0,
    errors: [],
    warnings: [],
  }
}

interface Fill {
  rows: number
  ms: number
}

/**
 * Writes the buckets of [fromMs, toMs) for every series into `tiers`, as HistoryStore would have:
 * one sample per series every 15 s, merged per bucket (count, sum, min, max, last).
 */
function fillBuckets(
  db: ReturnType<typeof openStore>['db'],
  seriesIds: readonly number[],
  tier: TierConfig,
  fromMs: number,
  toMs: number,
): Fill {
  const t0 = performance.now()
  const ins = db.prepare(
    'INSERT INTO health_agg (tier_ms, series_id, bucket_ms, n, total, lo, hi, last, last_off_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  )
  const metricOf = (i: number) => [...POLL_METRICS, ...SHARE_METRICS][i % SERIES_PER_DEVICE]!
  let rows = 0
  const first = Math.ceil(fromMs / tier.widthMs) * tier.widthMs
  // Series-major order: each series' buckets are one run of the primary key, so the fill appends
  // instead of scattering writes over the whole table (it is set-up, not what is measured).
  const tx = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const metric = metricOf(i)
      // Polls fall on whole 15 s steps, offset per device as the poller spreads them.
      const phase = (i * 7919) % (POLL_S * 1000)
      for (let b = first; b < toMs; b += tier.widthMs) {
        let n = 0
        let sum = 0
        let lo = Number.POSITIVE_INFINITY
        let hi = Number.NEGATIVE_INFINITY
        let last = 0
        let lastOff = 0
        const startOff = (((phase - b) % (POLL_S * 1000)) + POLL_S * 1000) % (POLL_S * 1000)
        for (let off = startOff; off < tier.widthMs; off += POLL_S * 1000) {
          const v = reading(metric)
          n++
          sum += v
          if (v < lo) lo = v
          if (v > hi) hi = v
          last = v
          lastOff = off
        }
        if (n === 0) continue
        const single = n === 1
        ins.run(
          tier.widthMs,
          seriesIds[i]!,
          b,
          n,
          sum,
          single ? null : lo,
          single ? null : hi,
          single ? null : last,
          lastOff,
        )
        rows++
      }
    }
  })
  for (let i = 0; i < seriesIds.length; i += 250) tx(i, Math.min(seriesIds.length, i + 250))
  return { rows, ms: performance.now() - t0 }
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}

export interface HealthBenchResult {
  figure: string
  value: string
}

export function runHealthBench(): HealthBenchResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'hy-bench-health-'))
  const out: HealthBenchResult[] = []
  const add = (figure: string, value: string) => out.push({ figure, value })
  const logger = createLogger(() => {}, 'bench', 'error')
  const store = openStore(dir, logger, HEALTH_MIGRATIONS)
  const db = store.db
  const cacheMb = Number(process.env.BENCH_CACHE_MB ?? 0)
  if (cacheMb > 0) db.pragma(`cache_size = -${cacheMb * 1024}`)
  try {
    let clock = T_START
    const now = () => clock
    const opened = HistoryStore.open({ db, now, logger, tiers: FARM_TIERS, maxStoreBytes: null })
    if (!opened.ok) throw new Error(opened.error.message)
    const history = opened.value

    // Series ids in the order fillBuckets assumes (device-major, metric-minor).
    const ids = Array.from({ length: DEVICES }, (_, i) => `d-${String(i).padStart(4, '0')}`)
    const addSeries = db.prepare('INSERT INTO health_series (entity_kind, entity_id, metric) VALUES (?, ?, ?)')
    const seriesIds: number[] = []
    db.transaction(() => {
      for (const id of ids)
        for (const m of [...POLL_METRICS, ...SHARE_METRICS])
          seriesIds.push(Number(addSeries.run('device', id, m).lastInsertRowid))
    })()

    // ---- 1. time-compressed fill: 24 h minus the live window ----
    const liveFrom = T_END - LIVE_MS
    const base = history.usedBytes()
    const fills: Array<{ tier: TierConfig; fill: Fill; bytes: number }> = []
    for (const tier of FARM_TIERS) {
      const before = history.usedBytes()
      const from = Math.max(T_START, T_END - tier.retentionMs)
      const fill = fillBuckets(db, seriesIds, tier, from, liveFrom)
      fills.push({ tier, fill, bytes: history.usedBytes() - before })
    }

    // ---- 2. the last 20 minutes through the real path, one simulated second at a time ----
    clock = liveFrom
    const engine = new AlertEngine({ rules: DEFAULT_RULES, now })
    const accepted = new Array<number>(DEVICES).fill(0)
    const flushMs: number[] = []
    let recordMs = 0
    let engineMs = 0
    let samples = 0
    const shareEvery = POLL_S
    const spread: HistorySample[][] = Array.from({ length: shareEvery }, () => [])
    for (let s = 0; s < LIVE_MS / 1000; s++) {
      clock = liveFrom + s * 1000
      const t0 = performance.now()
      const batch: HistorySample[] = []
      // Polls: each device every 15 s, spread over the interval as the poller does.
      for (let d = s % POLL_S; d < DEVICES; d += POLL_S) {
        accepted[d]! += Math.round((SHARES_PER_S / DEVICES) * POLL_S)
        const st = status(clock, accepted[d]!)
        batch.push(...deviceSamples(ids[d]!, st, clock))
        batch.push({ entity: { kind: 'device', id: ids[d]! }, metric: 'reported_accepted', value: 3, tsMs: clock })
        const e0 = performance.now()
        engine.observe(deviceObservation(ids[d]!, ids[d], st, clock))
        engineMs += performance.now() - e0
      }
      // Pool counters every 15 s: 100 shares/s spread over the devices. As in the module, the
      // counters are read at once and their samples are written one slice per second.
      if (s % shareEvery === 0) {
        for (const [i, id] of ids.entries()) {
          const n = Math.round((SHARES_PER_S * shareEvery) / DEVICES)
          const tally: ShareTally = {
            accepted: n,
            rejectedByReason: {},
            stale: 0,
            diffAccepted: n * DIFFICULTY,
            diffRejected: 0,
            diffStale: 0,
            difficulty: DIFFICULTY,
            shareHashrateThs: round(0.9 + rnd() * 0.2, 6),
          }
          spread[i % shareEvery]!.push(...shareSamples({ kind: 'device', id }, tally, clock))
          const e0 = performance.now()
          engine.observe(sharesObservation(id, tally, clock))
          engineMs += performance.now() - e0
        }
      }
      batch.push(...spread[s % shareEvery]!.splice(0))
      for (const x of batch) history.record(x)
      samples += batch.length
      const t1 = performance.now()
      recordMs += t1 - t0
      history.flush()
      flushMs.push(performance.now() - t1)
      if (s % 5 === 0) {
        const e0 = performance.now()
        engine.tick()
        engineMs += performance.now() - e0
      }
    }
    clock = T_END
    const liveS = LIVE_MS / 1000
    const writeMsPerS = (recordMs + flushMs.reduce((a, b) => a + b, 0)) / liveS
    const used = history.usedBytes()
    const rowsByTier = db.prepare('SELECT tier_ms, COUNT(*) AS n FROM health_agg GROUP BY tier_ms').all() as Array<{
      tier_ms: number
      n: number
    }>
    const totalRows = rowsByTier.reduce((a, r) => a + r.n, 0)
    const bytesPerRow = (used - base) / totalRows

    add('load', `${DEVICES} devices × ${SERIES_PER_DEVICE} series, polls every ${POLL_S} s, ${SHARES_PER_S} shares/s`)
    add('samples written (live window)', `${Math.round(samples / liveS)} per second`)
    add(
      'write cost per second of real time',
      `${writeMsPerS.toFixed(1)} ms (record ${(recordMs / liveS).toFixed(1)} ms + flush mean ${(flushMs.reduce((a, b) => a + b, 0) / liveS).toFixed(1)} ms, flush p99 ${pct(flushMs, 99).toFixed(1)} ms)`,
    )
    add(
      'alert engine per second of real time',
      `${(engineMs / liveS).toFixed(2)} ms (observe every poll, tick every 5 s)`,
    )
    add(
      'store after 24 simulated hours',
      `${(used / 2 ** 20).toFixed(0)} MiB, ${totalRows.toLocaleString('en-US')} buckets (${rowsByTier
        .map((r) => `${r.tier_ms / 1000} s: ${r.n.toLocaleString('en-US')}`)
        .join(', ')}), ≈ ${bytesPerRow.toFixed(1)} bytes per bucket`,
    )
    add(
      'fill (time compression, not a figure)',
      fills
        .map(
          (f) =>
            `${f.tier.widthMs / 1000} s tier ${f.fill.rows.toLocaleString('en-US')} rows in ${(f.fill.ms / 1000).toFixed(1)} s`,
        )
        .join('; '),
    )

    // ---- 3. steady-state size of each layout at this load (extrapolated from bytes per bucket) ----
    const series = DEVICES * SERIES_PER_DEVICE
    const bucketsPerSeries = (tiers: readonly TierConfig[]) =>
      tiers.reduce((a, t) => a + t.retentionMs / Math.max(t.widthMs, POLL_S * 1000), 0)
    for (const [name, tiers] of [
      ['issue example tiers (10 s × 24 h, 1 min × 30 d, 15 min × 1 y)', DEFAULT_TIERS],
      ['Hashyard defaults (FARM_TIERS)', FARM_TIERS],
    ] as const) {
      const bytes = bucketsPerSeries(tiers) * series * bytesPerRow
      add(
        `steady-state size, ${name}`,
        `≈ ${(bytes / 2 ** 30).toFixed(2)} GiB at ${series.toLocaleString('en-US')} series`,
      )
    }

    // ---- 4. a 30-day chart at 1-minute resolution ----
    // One device with 30 days of 1-minute buckets (the issue's tiers), in this same 24 h store.
    clock = T_END
    const wide = HistoryStore.open({ db, now, logger, tiers: DEFAULT_TIERS, maxStoreBytes: null })
    if (!wide.ok) throw new Error(wide.error.message)
    const entity = { kind: 'device' as const, id: 'd-chart' }
    for (let t = T_END - 30 * DAY; t < T_END; t += POLL_S * 1000) {
      wide.value.record({ entity, metric: 'hashrate_reported_ths', value: round(1 + rnd() * 0.1, 6), tsMs: t })
    }
    wide.value.flush()
    const storeMs: number[] = []
    const apiMs: number[] = []
    let points = 0
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now()
      const r = wide.value.series(entity, 'hashrate_reported_ths', T_END - 30 * DAY, T_END, 60_000)
      const t1 = performance.now()
      if (!r.ok) throw new Error(r.error.message)
      points = r.value.points.length
      // What the API adds in production: serialising the answer (output validation is a test-only option).
      JSON.stringify({ ...r.value, unit: 'TH/s' })
      storeMs.push(t1 - t0)
      apiMs.push(performance.now() - t0)
    }
    add(
      '30-day chart at 1-minute resolution',
      `${points.toLocaleString('en-US')} points: store query median ${pct(storeMs, 50).toFixed(1)} ms (p90 ${pct(storeMs, 90).toFixed(1)}), with JSON serialisation median ${pct(apiMs, 50).toFixed(1)} ms (p90 ${pct(apiMs, 90).toFixed(1)})`,
    )
    const farmQ: number[] = []
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now()
      history.series({ kind: 'device', id: ids[0]! }, 'temp_max_c', T_END - 30 * DAY, T_END, 60_000)
      farmQ.push(performance.now() - t0)
    }
    add(
      '30-day chart with Hashyard defaults',
      `answered from the hourly tier (≤ 720 points; 24 here): median ${pct(farmQ, 50).toFixed(2)} ms`,
    )
    wide.value.close()
    history.close()
    return out
  } finally {
    store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = performance.now()
  console.table(runHealthBench())
  console.log(`bench took ${((performance.now() - t0) / 1000).toFixed(0)} s`)
}
