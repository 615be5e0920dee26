import { describe, expect, it } from 'vitest'
import {
  downstreamExtranonce1,
  PrefixAllocator,
  planSplit,
  type SplitPlan,
  type SplitPolicy,
  upstreamExtranonce2Hex,
} from './extranonce-split'

const plan = (n2: number, policy: Partial<SplitPolicy> = {}): SplitPlan => {
  const r = planSplit(n2, policy)
  if (!r.ok) throw new Error(r.message)
  return r.value
}

/** Deterministic PRNG (mulberry32) so the model test is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('planSplit', () => {
  it('follows the research table for real pools', () => {
    // ckpool / DATUM / Antpool / OCEAN: 8 bytes → 4-byte prefix, 4 bytes for the miner.
    expect(plan(8)).toEqual({ upstreamEn2Size: 8, prefixBytes: 4, downstreamEn2Size: 4, capacity: 50 })
    // public-pool and most pools: 4 bytes → 1-byte prefix, 3 for the miner.
    expect(plan(4)).toEqual({ upstreamEn2Size: 4, prefixBytes: 1, downstreamEn2Size: 3, capacity: 50 })
    // NiceHash: 3 bytes → 1 + 2.
    expect(plan(3)).toEqual({ upstreamEn2Size: 3, prefixBytes: 1, downstreamEn2Size: 2, capacity: 50 })
    // 2 bytes: no room for a prefix; one miner per upstream session.
    expect(plan(2)).toEqual({ upstreamEn2Size: 2, prefixBytes: 0, downstreamEn2Size: 2, capacity: 1 })
    // More miners than one byte can number: 2-byte prefix.
    expect(plan(4, { maxMinersPerSession: 1000 })).toMatchObject({
      prefixBytes: 2,
      downstreamEn2Size: 2,
      capacity: 1000,
    })
    // A pass-through session (one miner) keeps the pool's full size when it is ≤ preferred.
    expect(plan(4, { maxMinersPerSession: 1 })).toMatchObject({ prefixBytes: 0, downstreamEn2Size: 4, capacity: 1 })
    // A 12-byte extranonce2 is cut to 4 for the miner (cgminer never submits > 8); beyond 12 the
    // prefix stops at 8 bytes and the miner gets the rest (16 → 8 + 8).
    expect(plan(12, { maxMinersPerSession: 1 })).toMatchObject({ prefixBytes: 8, downstreamEn2Size: 4, capacity: 1 })
    expect(plan(16, { maxMinersPerSession: 1 })).toMatchObject({ prefixBytes: 8, downstreamEn2Size: 8, capacity: 1 })
  })

  it('refuses what cannot work, with a reason', () => {
    expect(planSplit(1)).toEqual({ ok: false, message: expect.stringMatching(/at least 2/) })
    expect(planSplit(0).ok).toBe(false)
    expect(planSplit(2.5).ok).toBe(false)
    expect(planSplit(33).ok).toBe(false)
    expect(planSplit(17, { maxMinersPerSession: 1 })).toEqual({
      ok: false,
      message: expect.stringMatching(/at most 16/),
    })
    expect(planSplit(8, { maxMinersPerSession: 0 }).ok).toBe(false)
    expect(planSplit(8, { minDownstreamEn2Size: 5, preferredDownstreamEn2Size: 4 }).ok).toBe(false)
  })

  it('keeps every invariant for every pool size and aggregation setting', () => {
    for (let n2 = 2; n2 <= 16; n2++) {
      for (const miners of [1, 2, 50, 255, 256, 257, 1000, 65_536, 65_537, 10_000_000]) {
        const p = plan(n2, { maxMinersPerSession: miners })
        const where = `n2=${n2} miners=${miners}`
        expect(p.prefixBytes + p.downstreamEn2Size, where).toBe(n2)
        expect(p.downstreamEn2Size, where).toBeGreaterThanOrEqual(2)
        expect(p.downstreamEn2Size, where).toBeLessThanOrEqual(8)
        expect(p.capacity, where).toBeLessThanOrEqual(miners)
        expect(p.capacity, where).toBeLessThanOrEqual(256 ** p.prefixBytes)
        expect(p.capacity, where).toBeGreaterThanOrEqual(1)
        expect(p.prefixBytes, where).toBeLessThanOrEqual(8)
        // 4 bytes whenever the pool leaves room for the prefix the setting needs.
        const needed = Math.ceil(Math.log(miners) / Math.log(256) - 1e-12)
        if (n2 - needed >= 4 && n2 <= 12) {
          expect(p.downstreamEn2Size, where).toBe(4)
          expect(p.capacity, where).toBe(miners)
        }
      }
    }
  })
})

describe('PrefixAllocator', () => {
  it('hands out exactly `capacity` distinct fixed-width prefixes, then reports full', () => {
    for (const [n2, miners] of [
      [2, 50],
      [3, 50],
      [4, 256],
      [4, 300],
      [8, 50],
      [6, 70_000],
    ] as const) {
      const p = plan(n2, { maxMinersPerSession: miners })
      const a = new PrefixAllocator(p)
      const seen = new Set<string>()
      for (let i = 0; i < p.capacity; i++) {
        const prefix = a.allocate()
        if (prefix === undefined || prefix.length !== p.prefixBytes) throw new Error(`bad prefix at ${i}`)
        seen.add(prefix.toString('hex'))
      }
      expect(seen.size).toBe(p.capacity)
      expect(a.full).toBe(true)
      expect(a.allocate()).toBeUndefined()
    }
  })

  it('never gives one prefix to two live miners under random join/leave, and reuses freed ones', () => {
    const p = plan(4, { maxMinersPerSession: 40 })
    const a = new PrefixAllocator(p)
    const live = new Map<string, Buffer>()
    const rand = rng(42)
    for (let step = 0; step < 20_000; step++) {
      if (live.size > 0 && (rand() < 0.45 || a.full)) {
        const keys = [...live.keys()]
        const k = keys[Math.floor(rand() * keys.length)]!
        expect(a.release(live.get(k)!)).toBe(true)
        // A double free is refused (a caller bug must not free someone else's prefix).
        expect(a.release(live.get(k)!)).toBe(false)
        live.delete(k)
      } else {
        const prefix = a.allocate()!
        const k = prefix.toString('hex')
        expect(live.has(k), `step ${step}: ${k} handed out twice`).toBe(false)
        live.set(k, prefix)
      }
      expect(a.size).toBe(live.size)
    }
    // Lowest free index first: after freeing prefix 00, the next miner gets it back.
    const b = new PrefixAllocator(p)
    const first = b.allocate()!
    b.allocate()
    b.release(first)
    expect(b.allocate()!.equals(first)).toBe(true)
  })

  it('claims a specific prefix only when it is free and in range', () => {
    const a = new PrefixAllocator(plan(4, { maxMinersPerSession: 10 }))
    expect(a.claim(Buffer.from([3]))).toBe(true)
    expect(a.claim(Buffer.from([3]))).toBe(false)
    expect(a.claim(Buffer.from([10]))).toBe(false) // outside capacity
    expect(a.claim(Buffer.from([1, 2]))).toBe(false) // wrong width
    const got = new Set<number>()
    for (let i = 0; i < 9; i++) got.add(a.allocate()![0]!)
    expect(got.has(3)).toBe(false)
    expect(a.full).toBe(true)
  })
})

describe('subdivision: no two miners can ever produce the same work', () => {
  /**
   * Exhaustive over the whole extranonce space of small configurations: every (miner, en2) pair maps
   * to an upstream extranonce2 of exactly N2 bytes, all distinct, and each decodes back to its miner.
   */
  for (const [n2, miners, policy] of [
    [2, 256, { minDownstreamEn2Size: 1, preferredDownstreamEn2Size: 1 }],
    [3, 8, {}],
    [3, 2, { minDownstreamEn2Size: 1, preferredDownstreamEn2Size: 1 }],
    [2, 50, {}],
  ] as const) {
    it(`covers N2=${n2} with ${miners} miners`, () => {
      const p = plan(n2, { maxMinersPerSession: miners, ...policy })
      const a = new PrefixAllocator(p)
      const en1Up = Buffer.from('f00dcafe', 'hex')
      const prefixes: Buffer[] = []
      for (let prefix = a.allocate(); prefix; prefix = a.allocate()) prefixes.push(prefix)
      expect(prefixes.length).toBe(p.capacity)
      const owner = new Map<string, number>()
      const en2Count = 256 ** p.downstreamEn2Size
      for (let m = 0; m < prefixes.length; m++) {
        const prefix = prefixes[m]!
        const en1 = downstreamExtranonce1(en1Up, prefix)
        expect(en1.subarray(0, 4).equals(en1Up)).toBe(true)
        for (let e = 0; e < en2Count; e++) {
          const en2 = e.toString(16).padStart(p.downstreamEn2Size * 2, '0')
          const up = upstreamExtranonce2Hex(prefix, en2)
          if (up.length !== n2 * 2) throw new Error(`upstream extranonce2 ${up} is not ${n2} bytes`)
          // The coinbase bytes the miner hashes equal what the upstream rebuilds from the submit.
          if (e === 0 || e === en2Count - 1) expect(en1.toString('hex') + en2).toBe(en1Up.toString('hex') + up)
          const prev = owner.get(up)
          if (prev !== undefined) throw new Error(`miners ${prev} and ${m} both produce extranonce2 ${up}`)
          owner.set(up, m)
        }
      }
      expect(owner.size).toBe(prefixes.length * en2Count)
    })
  }
})
