import { describe, expect, it } from 'vitest'
import { roundPow2, Vardiff, vardiffConfig } from './vardiff'

/** Deterministic PRNG (mulberry32) so simulated share arrivals are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface SimResult {
  changes: Array<{ tsMs: number; difficulty: number }>
  shares: number
  finalDifficulty: number
}

/**
 * Simulates a miner of `hashrateHs` against a Vardiff for `durationS`: shares arrive as a Poisson
 * process at hashrate / (difficulty · 2³²) per second; a new difficulty takes effect with the next
 * job, modelled as `jobEveryS` later (the server's template refresh). Ticks every 5 s.
 */
function simulate(v: Vardiff, hashrateHs: number, durationS: number, seed = 1, fromS = 0): SimResult {
  const jobEveryS = 30
  const rnd = prng(seed)
  const changes: SimResult['changes'] = []
  let t = fromS * 1000
  let minerDiff = v.difficulty
  let pending: number | undefined
  let nextJobMs = t + jobEveryS * 1000
  let nextTickMs = t + 5000
  let shares = 0
  v.started(t)
  const endMs = t + durationS * 1000
  let nextShareMs = t - Math.log(1 - rnd()) * ((minerDiff * 2 ** 32) / hashrateHs) * 1000
  while (t < endMs) {
    t = Math.min(nextShareMs, nextJobMs, nextTickMs)
    if (t === nextJobMs) {
      if (pending !== undefined) {
        minerDiff = pending
        pending = undefined
        // Memoryless arrivals: redraw at the new rate from now.
        nextShareMs = t - Math.log(1 - rnd()) * ((minerDiff * 2 ** 32) / hashrateHs) * 1000
      }
      nextJobMs += jobEveryS * 1000
      continue
    }
    let changed: number | undefined
    if (t === nextTickMs) {
      changed = v.onTick(t)
      nextTickMs += 5000
    } else {
      shares++
      changed = v.onShare(minerDiff, t)
      nextShareMs = t - Math.log(1 - rnd()) * ((minerDiff * 2 ** 32) / hashrateHs) * 1000
    }
    if (changed !== undefined) {
      changes.push({ tsMs: t, difficulty: changed })
      pending = changed
    }
  }
  return { changes, shares, finalDifficulty: pending ?? minerDiff }
}

const idealDiff = (hashrateHs: number, intervalS = 7.5): number => (hashrateHs * intervalS) / 2 ** 32

describe('vardiff convergence', () => {
  it('ramps a 10 TH/s miner from 1024 to within 2x of the ideal difficulty in a few minutes', () => {
    const v = new Vardiff(vardiffConfig())
    const r = simulate(v, 10e12, 600)
    const ideal = idealDiff(10e12)
    expect(r.finalDifficulty).toBeGreaterThan(ideal / 2)
    expect(r.finalDifficulty).toBeLessThan(ideal * 2)
    // Upward only, each step a power of two.
    for (const c of r.changes) expect(Math.log2(c.difficulty) % 1).toBe(0)
    expect(r.changes[0]!.tsMs).toBeLessThan(60_000)
  })

  it('brings a 50 kH/s hobby miner down from 1024 to the pool floor by ticks alone', () => {
    const v = new Vardiff(vardiffConfig({ minDifficulty: 0.0001 }))
    const r = simulate(v, 50e3, 3600)
    // ideal is 8.7e-5, below the floor
    expect(r.finalDifficulty).toBe(0.0001)
  })

  it('rarely moves a miner already at its ideal difficulty, and never for long', () => {
    // Poisson noise can make the first 8 shares look 4x too fast; over 200 simulated hours at most
    // 2 % may see a change, and each such hour returns to the ideal (at most two changes).
    const hashrate = 2 ** 32 * (4096 / 7.5) // ideal exactly 4096
    let hoursWithChange = 0
    let shares = 0
    for (let seed = 1; seed <= 200; seed++) {
      const v = new Vardiff(vardiffConfig({ startDifficulty: 4096 }))
      const r = simulate(v, hashrate, 3600, seed * 7919)
      shares += r.shares
      if (r.changes.length > 0) hoursWithChange++
      expect(r.changes.length).toBeLessThanOrEqual(2)
      expect(r.finalDifficulty).toBe(4096)
    }
    expect(hoursWithChange).toBeLessThanOrEqual(4)
    expect(shares / 200).toBeGreaterThan(400)
  })

  it('follows a miner whose hashrate drops by 16x', () => {
    const v = new Vardiff(vardiffConfig({ startDifficulty: 16384 }))
    simulate(v, 2 ** 32 * (16384 / 7.5), 600, 9)
    expect(v.difficulty).toBe(16384)
    const r = simulate(v, 2 ** 32 * (1024 / 7.5), 1800, 10, 600)
    expect(r.changes.length).toBeGreaterThan(0)
    expect(r.finalDifficulty).toBeGreaterThanOrEqual(512)
    expect(r.finalDifficulty).toBeLessThanOrEqual(2048)
  })

  it('rarely moves an on-target miner with a long target interval either', () => {
    const hashrate = 2 ** 32 * (256 / 30)
    let hoursWithChange = 0
    for (let seed = 1; seed <= 100; seed++) {
      const v = new Vardiff(vardiffConfig({ startDifficulty: 256, targetShareIntervalS: 30 }))
      if (simulate(v, hashrate, 3600, seed * 7919).changes.length > 0) hoursWithChange++
    }
    expect(hoursWithChange).toBeLessThanOrEqual(2)
  })

  it('estimates hashrate within 15% after ten minutes', () => {
    const v = new Vardiff(vardiffConfig({ startDifficulty: 2048 }))
    simulate(v, 1.2e12, 600, 3)
    const est = v.hashrateHs(600_000)
    expect(est / 1.2e12).toBeGreaterThan(0.85)
    expect(est / 1.2e12).toBeLessThan(1.15)
  })
})

describe('vardiff rules', () => {
  it('waits for 8 shares or 60 s before the first change', () => {
    const v = new Vardiff(vardiffConfig({ startDifficulty: 1 }))
    v.started(0)
    // 7 very fast shares: no decision yet.
    for (let i = 1; i <= 7; i++) expect(v.onShare(1, i * 10)).toBeUndefined()
    expect(v.onShare(1, 80)).toBeGreaterThan(1)
  })

  it('lowers a silent miner step by step (never straight to the floor)', () => {
    const v = new Vardiff(vardiffConfig({ startDifficulty: 4096 }))
    v.started(0)
    expect(v.onTick(59_000)).toBeUndefined()
    const d1 = v.onTick(60_000)
    // No share in 60 s at 7.5 s target: at most 8x lower.
    expect(d1).toBe(512)
    expect(v.onTick(120_000)).toBe(64)
  })

  it('clamps to floor, ceiling and the network difficulty', () => {
    const cfg = vardiffConfig({ minDifficulty: 1, maxDifficulty: 1000, startDifficulty: 5000 })
    expect(new Vardiff(cfg).difficulty).toBe(1000)
    const v = new Vardiff(cfg)
    expect(v.request(0.001, 0)).toBe(1)
    expect(v.request(1e9, 0)).toBe(1000)
    v.setNetworkDifficulty(4.6565e-10) // regtest: every share is a block
    expect(v.request(500, 0)).toBe(4.6565e-10)
  })

  it('honours a suggested difficulty as the new value, and as a floor when configured', () => {
    const v = new Vardiff(vardiffConfig({ startDifficulty: 1024 }))
    expect(v.request(512, 0)).toBe(512)
    // Not a floor: a silent miner still goes down.
    v.started(0)
    expect(v.onTick(60_000)).toBeLessThan(512)

    const f = new Vardiff(vardiffConfig({ startDifficulty: 1024, suggestIsFloor: true }))
    f.request(512, 0)
    f.started(0)
    expect(f.onTick(60_000)).toBeUndefined()
    expect(f.difficulty).toBe(512)
  })

  it('ignores nonsense requests', () => {
    const v = new Vardiff(vardiffConfig({ startDifficulty: 64 }))
    for (const d of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(v.request(d, 0)).toBe(64)
  })

  it('picks the start difficulty from known user agents, case-insensitively', () => {
    const cfg = vardiffConfig()
    expect(new Vardiff(cfg, 'bitaxe/BM1370/v2.4.5').difficulty).toBe(1024)
    expect(new Vardiff(cfg, 'NerdQAxe++/BM1370/v1.0.30').difficulty).toBe(4096)
    expect(new Vardiff(cfg, 'cgminer/4.10.0').difficulty).toBe(16384)
    expect(new Vardiff(cfg, 'bmminer/2.0.0').difficulty).toBe(65536)
    expect(new Vardiff(cfg, 'NerdMinerV2').difficulty).toBe(0.0005)
    expect(new Vardiff(cfg, 'unknown/1.0').difficulty).toBe(1024)
    const v = new Vardiff(cfg)
    v.setUserAgent('bosminer/23.08')
    expect(v.difficulty).toBe(65536)
    // A difficulty the miner asked for (d=N before the subscribe) wins over the user-agent table.
    const asked = new Vardiff(cfg)
    asked.request(300, 0)
    asked.setUserAgent('bmminer/2.0.0')
    expect(asked.difficulty).toBe(300)
  })

  it('rejects configurations that make no sense', () => {
    expect(() => vardiffConfig({ minDifficulty: 10, maxDifficulty: 1 })).toThrow(RangeError)
    expect(() => vardiffConfig({ targetShareIntervalS: 0 })).toThrow(RangeError)
    expect(() => vardiffConfig({ hysteresis: 0.5 })).toThrow(RangeError)
  })

  it('rounds to powers of two beyond 32 bits and below 1', () => {
    expect(roundPow2(3e9)).toBe(2 ** 31)
    expect(roundPow2(3.5e12)).toBe(2 ** 42)
    expect(roundPow2(0.0003)).toBe(2 ** -12)
    expect(roundPow2(1)).toBe(1)
  })
})
