import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../../test/support/temp-dir'
import { memoryLogger } from '../../logger'
import { MIGRATIONS, migrate } from '../../store/migrations'
import { type Database, openDatabase } from '../../store/sqlite'
import { HEALTH_MIGRATIONS } from '../migrations'
import { type HistoryOptions, HistoryStore } from './history-store'
import type { EntityRef } from './metrics'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const T0 = Date.UTC(2025, 0, 6, 0, 0, 0)

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function openDb(dir?: string): { db: Database; dir: string } {
  let d = dir
  if (!d) {
    const t = tempDir()
    cleanups.push(t.cleanup)
    d = t.dir
  }
  const db = openDatabase(`${d}/hashyard.db`)
  cleanups.push(() => db.open && db.close())
  migrate(db, [...MIGRATIONS, ...HEALTH_MIGRATIONS])
  return { db, dir: d }
}

function clock(start: number) {
  let t = start
  return { now: () => t, set: (v: number) => (t = v), advance: (d: number) => (t += d) }
}

function open(db: Database, now: () => number, extra: Partial<HistoryOptions> = {}) {
  const log = memoryLogger()
  const h = HistoryStore.open({ db, now, logger: log, flushIntervalMs: 3_600_000, ...extra })
  if (!h.ok) throw new Error(h.error.message)
  cleanups.push(() => h.value.close())
  return { h: h.value, log }
}

/** A deterministic "recorded" series: LCG noise, so the test does not depend on Math.random. */
function recorded(count: number, stepMs: number, startMs: number) {
  let seed = 12345
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed / 2147483648
  }
  return Array.from({ length: count }, (_, i) => ({
    tsMs: startMs + i * stepMs + Math.floor(rnd() * 1000),
    tempC: 55 + Math.round(rnd() * 200) / 10,
    accepted: Math.floor(rnd() * 9),
    diff: Math.round(rnd() * 4096),
  }))
}

const dev: EntityRef = { kind: 'device', id: 'AA:BB:CC:00:00:01' }

describe('history: downsampling', () => {
  it('keeps sums, maxima, averages and last values exact in every tier', () => {
    const c = clock(T0 + 3 * HOUR)
    const { db } = openDb()
    const { h } = open(db, c.now)
    const samples = recorded(600, 15_000, T0) // 2.5 h of 15-second polls
    for (const s of samples) {
      expect(h.record({ entity: dev, metric: 'temp_max_c', value: s.tempC, tsMs: s.tsMs }).ok).toBe(true)
      h.record({ entity: dev, metric: 'shares_accepted', value: s.accepted, tsMs: s.tsMs })
      h.record({ entity: dev, metric: 'diff_accepted', value: s.diff, tsMs: s.tsMs })
    }
    h.flush()
    const rawAccepted = samples.reduce((a, s) => a + s.accepted, 0)
    const rawDiff = samples.reduce((a, s) => a + s.diff, 0)
    const rawMax = Math.max(...samples.map((s) => s.tempC))

    for (const [res, tier] of [
      [10_000, 10_000],
      [MIN, MIN],
      [15 * MIN, 15 * MIN],
      [HOUR, 15 * MIN],
    ] as const) {
      const acc = h.series(dev, 'shares_accepted', T0, T0 + 3 * HOUR, res)
      const diff = h.series(dev, 'diff_accepted', T0, T0 + 3 * HOUR, res)
      const temp = h.series(dev, 'temp_max_c', T0, T0 + 3 * HOUR, res)
      if (!acc.ok || !diff.ok || !temp.ok) throw new Error('query failed')
      expect(acc.value.tierMs).toBe(tier)
      expect(acc.value.resolutionMs).toBe(res)
      expect(acc.value.points.reduce((a, p) => a + p.value, 0)).toBe(rawAccepted)
      expect(diff.value.points.reduce((a, p) => a + p.sum, 0)).toBe(rawDiff)
      expect(Math.max(...temp.value.points.map((p) => p.max))).toBe(rawMax)
      expect(temp.value.points.reduce((a, p) => a + p.count, 0)).toBe(samples.length)
      // Each point's average and last equal what the raw samples in that window give.
      for (const p of temp.value.points) {
        const inside = samples.filter((s) => s.tsMs >= p.tsMs && s.tsMs < p.tsMs + res)
        expect(p.count).toBe(inside.length)
        expect(p.avg).toBeCloseTo(inside.reduce((a, s) => a + s.tempC, 0) / inside.length, 9)
        expect(p.min).toBe(Math.min(...inside.map((s) => s.tempC)))
        expect(p.last).toBe(inside[inside.length - 1]!.tempC)
        expect(p.value).toBe(p.avg)
      }
    }
  })

  it('gives the same buckets whatever order and batching the samples arrive in', () => {
    const c = clock(T0 + 3 * HOUR)
    const samples = recorded(240, 15_000, T0)
    const a = open(openDb().db, c.now).h
    const b = open(openDb().db, c.now).h
    for (const s of samples) a.record({ entity: dev, metric: 'temp_max_c', value: s.tempC, tsMs: s.tsMs })
    a.flush()
    const shuffled = samples.map((s, i) => ({ s, k: (i * 7919) % samples.length })).sort((x, y) => x.k - y.k)
    shuffled.forEach(({ s }, i) => {
      b.record({ entity: dev, metric: 'temp_max_c', value: s.tempC, tsMs: s.tsMs })
      if (i % 17 === 0) b.flush()
    })
    b.flush()
    for (const res of [10_000, MIN, 15 * MIN]) {
      const qa = a.series(dev, 'temp_max_c', T0, T0 + 2 * HOUR, res)
      const qb = b.series(dev, 'temp_max_c', T0, T0 + 2 * HOUR, res)
      if (!qa.ok || !qb.ok) throw new Error('query failed')
      // Float addition order differs, so sums of decimals agree to rounding; the rest is exact.
      const exact = (pts: typeof qa.value.points) => pts.map((p) => [p.tsMs, p.count, p.min, p.max, p.last])
      expect(exact(qb.value.points)).toEqual(exact(qa.value.points))
      for (const [i, p] of qb.value.points.entries()) expect(p.sum).toBeCloseTo(qa.value.points[i]!.sum, 9)
    }
  })

  it('keeps rejected shares per reason as separate series and refuses bad samples with a reason', () => {
    const c = clock(T0)
    const { h } = open(openDb().db, c.now)
    expect(h.record({ entity: dev, metric: 'shares_rejected:duplicate', value: 2, tsMs: T0 - 1000 }).ok).toBe(true)
    expect(h.record({ entity: dev, metric: 'shares_rejected:low-difficulty', value: 1, tsMs: T0 - 1000 }).ok).toBe(true)
    const bad = [
      h.record({ entity: dev, metric: 'hashrate', value: 1 }),
      h.record({ entity: dev, metric: 'temp_max_c:hot', value: 1 }),
      h.record({ entity: dev, metric: 'shares_rejected:Bad Reason', value: 1 }),
      h.record({ entity: dev, metric: 'temp_max_c', value: Number.NaN }),
      h.record({ entity: dev, metric: 'shares_accepted', value: -3 }),
      h.record({ entity: dev, metric: 'temp_max_c', value: 50, tsMs: T0 + DAY }),
      h.record({ entity: { kind: 'device', id: '' }, metric: 'temp_max_c', value: 50 }),
      h.record({ entity: { kind: 'rig' as 'device', id: 'x' }, metric: 'temp_max_c', value: 50 }),
    ]
    for (const r of bad) {
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error.code).toBe('INVALID_PARAMS')
    }
    const dup = h.series(dev, 'shares_rejected:duplicate', T0 - HOUR, T0 + 1, MIN)
    expect(dup.ok && dup.value.points.map((p) => p.sum)).toEqual([2])
    expect(
      h
        .listSeries(dev)
        .map((s) => s.metric)
        .sort(),
    ).toEqual(['shares_rejected:duplicate', 'shares_rejected:low-difficulty'])
    const q = h.series(dev, 'temp_max_c', T0, T0 - 1, MIN)
    expect(q.ok).toBe(false)
  })

  it('rejects tier settings that cannot downsample exactly', () => {
    const { db } = openDb()
    const now = () => T0
    const cases = [
      [],
      [
        { widthMs: 10_000, retentionMs: DAY },
        { widthMs: 25_000, retentionMs: 2 * DAY },
      ],
      [
        { widthMs: 60_000, retentionMs: DAY },
        { widthMs: 10_000, retentionMs: 2 * DAY },
      ],
      [
        { widthMs: 10_000, retentionMs: 2 * DAY },
        { widthMs: 60_000, retentionMs: DAY },
      ],
      [{ widthMs: 10_000, retentionMs: 5_000 }],
    ]
    for (const tiers of cases) {
      const r = HistoryStore.open({ db, now, logger: memoryLogger(), tiers })
      expect(r.ok).toBe(false)
    }
  })
})

describe('history: tiers, retention and the size cap', () => {
  it('answers from the finest tier that still holds the window, and a configurable set of tiers', () => {
    const c = clock(T0 + 40 * DAY)
    const { h } = open(openDb().db, c.now)
    const ask = (fromMs: number, res: number) => {
      const r = h.series(dev, 'temp_max_c', fromMs, c.now(), res)
      if (!r.ok) throw new Error(r.error.message)
      return [r.value.tierMs, r.value.resolutionMs]
    }
    expect(ask(c.now() - 2 * HOUR, 10_000)).toEqual([10_000, 10_000])
    expect(ask(c.now() - 2 * HOUR, 30_000)).toEqual([10_000, 30_000])
    expect(ask(c.now() - 7 * DAY, MIN)).toEqual([MIN, MIN])
    expect(ask(c.now() - 2 * DAY, 10_000)).toEqual([MIN, MIN]) // 10 s is kept for 24 h only
    expect(ask(c.now() - 35 * DAY, MIN)).toEqual([15 * MIN, 15 * MIN])
    expect(ask(c.now() - 7 * DAY, 2 * HOUR)).toEqual([15 * MIN, 2 * HOUR])

    const custom = open(openDb().db, c.now, {
      tiers: [
        { widthMs: 5_000, retentionMs: HOUR },
        { widthMs: 300_000, retentionMs: 90 * DAY },
      ],
    }).h
    const r = custom.series(dev, 'temp_max_c', c.now() - 3 * HOUR, c.now(), MIN)
    expect(r.ok && [r.value.tierMs, r.value.resolutionMs]).toEqual([300_000, 300_000])
  })

  it('expires each tier after its retention while coarser tiers keep exact sums', () => {
    const c = clock(T0 + HOUR)
    const { h } = open(openDb().db, c.now)
    const samples = recorded(240, 15_000, T0)
    for (const s of samples) h.record({ entity: dev, metric: 'shares_accepted', value: s.accepted, tsMs: s.tsMs })
    h.flush()
    c.set(T0 + 2 * DAY)
    const report = h.maintain()
    expect(report.expiredRows).toBe(240) // every 10-second bucket (one sample each)
    const q = h.series(dev, 'shares_accepted', T0, T0 + HOUR, 10_000)
    if (!q.ok) throw new Error(q.error.message)
    expect(q.value.tierMs).toBe(MIN)
    expect(q.value.points.reduce((a, p) => a + p.sum, 0)).toBe(samples.reduce((a, s) => a + s.accepted, 0))
  })

  it('trims the oldest finest-tier data first to stay under the size cap, logs it, and survives a restart', () => {
    const c = clock(T0 + 20 * HOUR)
    const { db, dir } = openDb()
    const { h } = open(db, c.now, { maxStoreBytes: null })
    const devices = Array.from({ length: 20 }, (_, i): EntityRef => ({ kind: 'device', id: `dev-${i}` }))
    const samples = recorded(20 * 360, 10_000, T0) // 20 h at 10 s
    for (const d of devices) {
      for (const s of samples) h.record({ entity: d, metric: 'shares_accepted', value: s.accepted, tsMs: s.tsMs })
      h.flush()
    }
    const full = h.usedBytes()
    h.close()
    const capBytes = Math.floor(full * 0.6)
    const trimmed = open(db, c.now, { maxStoreBytes: capBytes })
    const report = trimmed.h.maintain()
    expect(report.usedBytes).toBeLessThanOrEqual(capBytes)
    expect(report.trimmed.map((t) => t.tierMs)).toEqual([10_000]) // only the finest tier was touched
    const line = trimmed.log.records.find((r) => r.msg === 'history trimmed to stay under its size cap')
    expect(line?.level).toBe('warn')
    expect(line?.fields?.capBytes).toBe(capBytes)

    const beforeMs = report.trimmed[0]!.beforeMs
    expect(beforeMs).toBeGreaterThan(T0)
    // The newest hour is still at full detail ...
    const recent = trimmed.h.series(devices[3]!, 'shares_accepted', c.now() - HOUR, c.now(), 10_000)
    expect(recent.ok && recent.value.tierMs).toBe(10_000)
    // ... and the whole day still sums exactly, read from the 1-minute tier.
    const total = samples.reduce((a, s) => a + s.accepted, 0)
    const day = trimmed.h.series(devices[3]!, 'shares_accepted', T0, c.now(), 10_000)
    if (!day.ok) throw new Error(day.error.message)
    expect(day.value.tierMs).toBe(MIN)
    expect(day.value.points.reduce((a, p) => a + p.sum, 0)).toBe(total)
    trimmed.h.close()
    db.close()

    // The trim watermark is persisted: after a restart the same query still avoids the hole.
    const again = openDb(dir)
    const reopened = open(again.db, c.now, { maxStoreBytes: capBytes }).h
    const day2 = reopened.series(devices[3]!, 'shares_accepted', T0, c.now(), 10_000)
    expect(day2.ok && day2.value.tierMs).toBe(MIN)
    expect(day2.ok && day2.value.points.reduce((a, p) => a + p.sum, 0)).toBe(total)
  })

  it('forgets a removed device', () => {
    const c = clock(T0)
    const { h } = open(openDb().db, c.now)
    h.record({ entity: dev, metric: 'power_w', value: 15, tsMs: T0 - 1 })
    h.record({ entity: { kind: 'pool', id: 'solo' }, metric: 'difficulty', value: 1000, tsMs: T0 - 1 })
    h.flush()
    expect(h.deleteEntity(dev)).toBe(3)
    expect(h.listSeries().map((s) => s.entity.id)).toEqual(['solo'])
  })
})
