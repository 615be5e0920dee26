import { describe, expect, it } from 'vitest'
import type { ShareEvent } from '../stratum'
import { RateWindows, ShareAccounting } from './accounting'
import { ShareFeed } from './share-feed'

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000) // on an hour boundary
const TWO_32 = 2 ** 32

function share(p: Partial<ShareEvent> & { tsMs: number }): ShareEvent {
  return {
    connectionId: 1,
    remoteAddress: '192.168.1.20',
    worker: 'bc1qexample.rig1',
    userAgent: 'bitaxe/BM1370/v2.12.2',
    jobId: '1',
    height: 900_000,
    accepted: true,
    difficulty: 1024,
    shareDifficulty: 2000,
    isBlock: false,
    ...p,
  }
}

describe('RateWindows', () => {
  it('turns a steady share rate into the hashrate it implies, on every window', () => {
    // One difficulty-1024 share every 8 s for two hours: 1024 · 2³² / 8 H/s.
    const w = new RateWindows(T0)
    let t = T0
    for (; t <= T0 + 7_200_000; t += 8000) w.add(1024, t)
    const expected = (1024 * TWO_32) / 8
    const r = w.rates(t)
    expect(r.h1m / expected).toBeGreaterThan(0.85)
    expect(r.h1m / expected).toBeLessThan(1.15)
    expect(r.h10m / expected).toBeGreaterThan(0.97)
    expect(r.h10m / expected).toBeLessThan(1.03)
    expect(r.h1h / expected).toBeGreaterThan(0.99)
    expect(r.h1h / expected).toBeLessThan(1.01)
  })

  it('divides a young window by the time it covers, not the window length', () => {
    const w = new RateWindows(T0)
    for (let t = T0 + 10_000; t <= T0 + 120_000; t += 10_000) w.add(100, t)
    const r = w.rates(T0 + 120_000)
    // 12 shares of 100 in 120 s: the 1 h window must not divide by 3,600 s.
    expect(r.h1h).toBeCloseTo((1200 * TWO_32) / 120, -3)
  })

  it('forgets shares older than the window', () => {
    const w = new RateWindows(T0)
    w.add(1e6, T0 + 1000)
    expect(w.rates(T0 + 30_000).h1m).toBeGreaterThan(0)
    expect(w.rates(T0 + 5 * 60_000).h1m).toBe(0)
    expect(w.rates(T0 + 5 * 60_000).h10m).toBeGreaterThan(0)
    expect(w.rates(T0 + 11 * 60_000).h10m).toBe(0)
    expect(w.rates(T0 + 30 * 60_000).h1h).toBeGreaterThan(0)
    expect(w.rates(T0 + 2 * 3_600_000).h1h).toBe(0)
  })
})

describe('ShareAccounting', () => {
  it('counts accepted, rejected by reason, stale, difficulty, best share and latency per worker', () => {
    const a = new ShareAccounting({}, T0)
    a.noteWorker('bc1qexample.rig1', 'bitaxe/BM1370/v2.12.2', '192.168.1.20', T0, 1)
    a.onShare(share({ tsMs: T0 + 1000, latencyMs: 40 }))
    a.onShare(share({ tsMs: T0 + 2000, shareDifficulty: 90_000, latencyMs: 60 }))
    a.onShare(share({ tsMs: T0 + 3000, accepted: false, reason: 'stale' }))
    a.onShare(share({ tsMs: T0 + 4000, accepted: false, reason: 'low-difficulty', shareDifficulty: 3 }))
    const [t] = a.workerTotals()
    expect(t).toMatchObject({
      accepted: 2,
      rejected: 2,
      stale: 1,
      rejectedByReason: { stale: 1, 'low-difficulty': 1 },
      diffAccepted: 2048,
      diffRejected: 2048,
      bestShareDifficulty: 90_000,
      lastShareTsMs: T0 + 2000,
      latencySumMs: 100,
      latencyCount: 2,
    })
    expect(a.totals).toMatchObject({
      accepted: 2,
      rejected: 2,
      stale: 1,
      diffAccepted: 2048,
      bestShareDifficulty: 90_000,
    })
    expect(a.connectionRates(1, T0 + 5000).h1m).toBeCloseTo((2048 * TWO_32) / 5, -3)
    expect(a.connectionRates(2, T0 + 5000).h1m).toBe(0)
  })

  it('drains changed workers and per-minute increments once, and caps the workers it keeps', () => {
    const a = new ShareAccounting({ maxWorkers: 2 }, T0)
    a.onShare(share({ tsMs: T0 + 1000, worker: 'a' }))
    a.onShare(share({ tsMs: T0 + 61_000, worker: 'a' }))
    a.onShare(share({ tsMs: T0 + 62_000, worker: 'b', accepted: false, reason: 'stale' }))
    const d = a.drain()
    expect(d.workers.map((w) => w.worker).sort()).toEqual(['a', 'b'])
    expect(d.minutes).toEqual([
      { tsMs: T0, worker: 'a', accepted: 1, rejected: 0, stale: 0, diffAccepted: 1024, bestShareDifficulty: 2000 },
      {
        tsMs: T0 + 60_000,
        worker: 'a',
        accepted: 1,
        rejected: 0,
        stale: 0,
        diffAccepted: 1024,
        bestShareDifficulty: 2000,
      },
      { tsMs: T0 + 60_000, worker: 'b', accepted: 0, rejected: 1, stale: 1, diffAccepted: 0, bestShareDifficulty: 0 },
    ])
    expect(a.drain()).toEqual({ workers: [], minutes: [] })
    a.onShare(share({ tsMs: T0 + 63_000, worker: 'c' }))
    const d2 = a.drain()
    expect(d2.workers.map((w) => w.worker)).toEqual(['c'])
    // 'a' was the least recently active: forgotten in memory (its totals were drained before).
    expect(
      a
        .workerTotals()
        .map((w) => w.worker)
        .sort(),
    ).toEqual(['b', 'c'])
  })
})

describe('ShareFeed', () => {
  it('numbers frames, caps them per second, counts the skipped ones and always lets blocks through', () => {
    const f = new ShareFeed({ maxPerSecond: 2, ringSize: 3 })
    const seen: number[] = []
    f.onFrame((x) => seen.push(x.seq))
    for (let i = 0; i < 5; i++) f.push(share({ tsMs: T0 + i }))
    f.push(share({ tsMs: T0 + 10, isBlock: true }))
    f.push(share({ tsMs: T0 + 1000 }))
    expect(seen).toEqual([1, 2, 3, 4])
    const frames = f.replay(0)
    expect(frames).toBe('gone')
    const held = f.replay(1) as Exclude<ReturnType<ShareFeed['replay']>, 'gone'>
    expect(held.map((x) => [x.seq, x.isBlock, x.skippedBefore])).toEqual([
      [2, false, 0],
      [3, true, 3],
      [4, false, 0],
    ])
    expect(f.replay(4)).toEqual([])
    expect(f.replay()).toHaveLength(3)
  })
})
