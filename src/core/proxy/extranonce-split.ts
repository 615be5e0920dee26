/**
 * Extranonce subdivision (research/stratum.md §5.5): many miners share one upstream session. The
 * upstream gives `en1_up` and an extranonce2 of N2 bytes; each miner i gets
 * `extranonce1 = en1_up ‖ prefix_i` (prefix of P bytes, fixed width) and an extranonce2 of D = N2 − P
 * bytes. Its share goes upstream with `extranonce2 = prefix_i ‖ en2_i`.
 *
 * Why no two miners can ever produce the same work: the upstream coinbase is
 * `coinb1 ‖ en1_up ‖ X ‖ coinb2` with X of exactly N2 bytes. Miner i only ever fills X with
 * `prefix_i ‖ (D bytes)`; prefixes are all exactly P bytes and pairwise distinct among live miners, so
 * the sets of X two miners can produce are disjoint. Width is never variable — slush0's proxy used a
 * 1- or 2-byte var-int tail, so tail `01`‖en2 overlapped tail `01xx`‖en2 (research §5.2).
 *
 * Pure: no sockets, no timers.
 */

export interface SplitPolicy {
  /** Miners one upstream session may carry (Braiins Farm Proxy `aggregation`, default 50). */
  maxMinersPerSession: number
  /** Smallest extranonce2 a miner may get; cgminer refuses < 2 (research §7.4). Default 2. */
  minDownstreamEn2Size: number
  /**
   * The size we aim for when the upstream leaves room: 4 (Bitaxe wraps a 2-byte extranonce2 in about
   * a minute, ESP-Miner #1780; NiceHash-style clients demand ≥ 4). Default 4.
   */
  preferredDownstreamEn2Size: number
  /** Largest extranonce2 a miner may get; cgminer never submits > 8, WhatsMiner fails > 8. Default 8. */
  maxDownstreamEn2Size: number
}

export const DEFAULT_SPLIT_POLICY: SplitPolicy = {
  maxMinersPerSession: 50,
  minDownstreamEn2Size: 2,
  preferredDownstreamEn2Size: 4,
  maxDownstreamEn2Size: 8,
}

export interface SplitPlan {
  /** Upstream extranonce2 size N2. */
  upstreamEn2Size: number
  /** Prefix width P in bytes (0 = one miner per session). */
  prefixBytes: number
  /** Extranonce2 size D = N2 − P given to each miner. */
  downstreamEn2Size: number
  /** Miners this session can carry: min(256^P, maxMinersPerSession). */
  capacity: number
}

export type SplitPlanResult = { ok: true; value: SplitPlan } | { ok: false; message: string }

/** Widest prefix: it sits in the miner's extranonce1 next to the pool's (research §7.4: Apollo caps extranonce1 at 16 bytes). */
export const MAX_PREFIX_BYTES = 8

/** Bytes needed to number `n` miners (0 for a single miner). */
function bytesFor(n: number): number {
  let p = 0
  while (256 ** p < n) p++
  return p
}

/**
 * Chooses P and D for an upstream extranonce2 size:
 * 1. P₀ = bytes needed for `maxMinersPerSession` miners.
 * 2. If N2 − P₀ ≥ preferred: D = preferred and the slack goes into the prefix (ckpool: N2 = 8 → 4 + 4),
 *    so D never exceeds the maximum whatever the pool offers.
 * 3. Else if N2 − P₀ ≥ min: D = N2 − P₀ (e.g. N2 = 4, 50 miners → P = 1, D = 3).
 * 4. Else the prefix shrinks to keep D = min (fewer miners per session; N2 = 2 → one miner).
 * N2 below the minimum cannot serve any miner.
 */
export function planSplit(upstreamEn2Size: number, policy: Partial<SplitPolicy> = {}): SplitPlanResult {
  const p = { ...DEFAULT_SPLIT_POLICY, ...policy }
  if (!Number.isInteger(p.maxMinersPerSession) || p.maxMinersPerSession < 1)
    return { ok: false, message: 'miners per upstream session must be a whole number ≥ 1' }
  if (
    !Number.isInteger(p.minDownstreamEn2Size) ||
    !Number.isInteger(p.preferredDownstreamEn2Size) ||
    !Number.isInteger(p.maxDownstreamEn2Size) ||
    p.minDownstreamEn2Size < 1 ||
    p.minDownstreamEn2Size > p.preferredDownstreamEn2Size ||
    p.preferredDownstreamEn2Size > p.maxDownstreamEn2Size
  )
    return { ok: false, message: 'extranonce2 sizes must satisfy 1 ≤ min ≤ preferred ≤ max' }
  const n2 = upstreamEn2Size
  if (!Number.isInteger(n2) || n2 < 1 || n2 > 32)
    return { ok: false, message: `upstream extranonce2 size ${n2} is not a size in bytes (1..32)` }
  if (n2 < p.minDownstreamEn2Size) {
    return {
      ok: false,
      message: `the pool's extranonce2 is ${n2} byte(s); miners need at least ${p.minDownstreamEn2Size}, so this pool cannot be proxied`,
    }
  }
  const p0 = bytesFor(p.maxMinersPerSession)
  let prefix: number
  if (n2 - p0 >= p.preferredDownstreamEn2Size) prefix = n2 - p.preferredDownstreamEn2Size
  else if (n2 - p0 >= p.minDownstreamEn2Size) prefix = p0
  else prefix = n2 - p.minDownstreamEn2Size
  // The prefix ends up inside the miner's extranonce1, which our job builder caps at 8 bytes; a
  // pool offering more than 8 + max bytes of extranonce2 gives the miner up to `max` instead.
  if (prefix > MAX_PREFIX_BYTES) prefix = MAX_PREFIX_BYTES
  const d = n2 - prefix
  if (d > p.maxDownstreamEn2Size) {
    return {
      ok: false,
      message: `the pool's extranonce2 is ${n2} bytes; the proxy supports at most ${MAX_PREFIX_BYTES + p.maxDownstreamEn2Size}`,
    }
  }
  // 256^prefix can exceed 2^53 for a wide prefix; the policy cap is what matters then.
  const space = prefix >= 6 ? Number.MAX_SAFE_INTEGER : 256 ** prefix
  return {
    ok: true,
    value: {
      upstreamEn2Size: n2,
      prefixBytes: prefix,
      downstreamEn2Size: d,
      capacity: Math.min(space, p.maxMinersPerSession),
    },
  }
}

/**
 * The prefixes of one upstream session: allocate on subscribe, release on disconnect or move. The
 * lowest free index is reused first, written big-endian into the low bytes of the P-byte prefix.
 */
export class PrefixAllocator {
  private readonly used = new Set<number>()
  private nextHint = 0

  constructor(readonly plan: SplitPlan) {}

  get size(): number {
    return this.used.size
  }

  get full(): boolean {
    return this.used.size >= this.plan.capacity
  }

  /** A fresh prefix, or undefined when the session is full (open another upstream session). */
  allocate(): Buffer | undefined {
    if (this.full) return undefined
    let i = this.nextHint
    while (this.used.has(i)) i++
    this.used.add(i)
    this.nextHint = i + 1
    return prefixBytes(i, this.plan.prefixBytes)
  }

  /** Claims a specific prefix (keeping a miner's prefix across an upstream extranonce change). */
  claim(prefix: Buffer): boolean {
    if (prefix.length !== this.plan.prefixBytes || this.full) return false
    const i = prefixIndex(prefix)
    if (i === undefined || i >= this.plan.capacity || this.used.has(i)) return false
    this.used.add(i)
    return true
  }

  /** Frees a prefix; false when it was not allocated here (a double free is a caller bug). */
  release(prefix: Buffer): boolean {
    if (prefix.length !== this.plan.prefixBytes) return false
    const i = prefixIndex(prefix)
    if (i === undefined || !this.used.delete(i)) return false
    if (i < this.nextHint) this.nextHint = i
    return true
  }

  has(prefix: Buffer): boolean {
    const i = prefix.length === this.plan.prefixBytes ? prefixIndex(prefix) : undefined
    return i !== undefined && this.used.has(i)
  }
}

function prefixBytes(index: number, width: number): Buffer {
  const b = Buffer.alloc(width)
  let v = index
  for (let k = width - 1; k >= 0 && v > 0; k--) {
    b[k] = v % 256
    v = Math.floor(v / 256)
  }
  return b
}

/** Index of a prefix; undefined when it does not fit a safe integer (never allocated by us). */
function prefixIndex(prefix: Buffer): number | undefined {
  let v = 0
  for (const byte of prefix) {
    v = v * 256 + byte
    if (v > Number.MAX_SAFE_INTEGER) return undefined
  }
  return v
}

/** What a miner is told at subscribe: `en1_up ‖ prefix`. */
export function downstreamExtranonce1(upstreamEn1: Buffer, prefix: Buffer): Buffer {
  return Buffer.concat([upstreamEn1, prefix])
}

/** What goes upstream in `mining.submit`: `prefix ‖ en2` (hex), exactly N2 bytes. */
export function upstreamExtranonce2Hex(prefix: Buffer, downstreamEn2Hex: string): string {
  return prefix.toString('hex') + downstreamEn2Hex
}
