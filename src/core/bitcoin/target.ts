/**
 * Targets, difficulties and proof-of-work comparison.
 *
 * A hash is compared as a little-endian 256-bit integer of its internal byte order (the order
 * SHA-256d produces). Difficulty 1 is the pool convention `0x00000000FFFF0000…` (ckpool
 * `truediffone`, public-pool `difficulty.utils.ts`), not the "bdiff" 0x1d00ffff expansion (same value).
 */

export const DIFF1_TARGET = 0x00000000ffff0000000000000000000000000000000000000000000000000000n
export const MAX_TARGET = (1n << 256n) - 1n

const DIFF1_NUM = Number(DIFF1_TARGET)

/**
 * Expands compact nBits to a target like Core's `arith_uint256::SetCompact`. Throws a RangeError for
 * the encodings Core treats as invalid (sign bit set with a non-zero mantissa, or overflow): nBits
 * reach us from bitcoind or a block, so a bad value is a bug upstream, not user input.
 */
export function nbitsToTarget(nbits: number): bigint {
  const size = nbits >>> 24
  const word = nbits & 0x007fffff
  if (word !== 0 && (nbits & 0x00800000) !== 0) throw new RangeError(`nBits ${nbits.toString(16)} is negative`)
  if (word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))) {
    throw new RangeError(`nBits ${nbits.toString(16)} overflows 256 bits`)
  }
  if (size <= 3) return BigInt(word >>> (8 * (3 - size)))
  return BigInt(word) << BigInt(8 * (size - 3))
}

/** Compact nBits of a target, like Core's `arith_uint256::GetCompact` (lossy: keeps 3 significant bytes). */
export function targetToNbits(target: bigint): number {
  if (target < 0n || target > MAX_TARGET) throw new RangeError('target out of range')
  let size = target === 0n ? 0 : Math.ceil(target.toString(16).length / 2)
  let compact: number
  if (size <= 3) compact = Number(target << BigInt(8 * (3 - size)))
  else compact = Number(target >> BigInt(8 * (size - 3)))
  if (compact & 0x00800000) {
    compact >>>= 8
    size += 1
  }
  return ((size << 24) | compact) >>> 0
}

/** Difficulty of a target: diff1 / target. Infinity for target 0. */
export function targetToDifficulty(target: bigint): number {
  if (target <= 0n) return Number.POSITIVE_INFINITY
  return DIFF1_NUM / Number(target)
}

const f64View = new DataView(new ArrayBuffer(8))

/**
 * Share target for a difficulty: exactly floor(diff1 / diff), clamped to 2²⁵⁶−1.
 * The double is split into its exact mantissa and exponent so fractional difficulties (d < 1 is
 * legal; regtest network difficulty is 4.66e-10) lose nothing to rounding.
 * Throws a RangeError for a non-finite or non-positive difficulty: callers validate miner input
 * (`mining.suggest_difficulty`) before it gets here.
 */
export function difficultyToTarget(diff: number): bigint {
  if (!Number.isFinite(diff) || diff <= 0)
    throw new RangeError(`difficulty must be a positive finite number, got ${diff}`)
  f64View.setFloat64(0, diff)
  const hi = f64View.getUint32(0)
  const lo = f64View.getUint32(4)
  const biasedExp = (hi >>> 20) & 0x7ff
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo)
  let exp: number
  if (biasedExp === 0) {
    exp = -1074
  } else {
    mantissa |= 1n << 52n
    exp = biasedExp - 1075
  }
  // diff = mantissa · 2^exp
  const target = exp >= 0 ? DIFF1_TARGET / (mantissa << BigInt(exp)) : (DIFF1_TARGET << BigInt(-exp)) / mantissa
  return target > MAX_TARGET ? MAX_TARGET : target
}

/** The hash as an unsigned 256-bit integer (internal order = little-endian). */
export function hashToBigInt(hashInternal: Uint8Array): bigint {
  if (hashInternal.length !== 32) throw new RangeError('hash must be 32 bytes')
  let v = 0n
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(hashInternal[i]!)
  return v
}

/**
 * Difficulty a hash achieves: diff1 / hash. A double (about 15 significant digits), for stats and
 * vardiff only; acceptance decisions use the exact `meetsTarget`. Infinity for the all-zero hash.
 */
export function shareDifficulty(hashInternal: Uint8Array): number {
  // Accumulate the little-endian integer as a double from the most significant byte; no BigInt,
  // no allocation on the share path.
  let h = 0
  for (let i = 31; i >= 0; i--) h = h * 256 + hashInternal[i]!
  return DIFF1_NUM / h
}

/** Exact proof-of-work check: hash ≤ target as 256-bit integers. */
export function meetsTarget(hashInternal: Uint8Array, target: bigint): boolean {
  return hashToBigInt(hashInternal) <= target
}

/** A target as 32 little-endian bytes, for `meetsTargetLE`. Clamps nothing: throws outside [0, 2²⁵⁶). */
export function targetToBytesLE(target: bigint): Buffer {
  if (target < 0n || target > MAX_TARGET) throw new RangeError('target out of range')
  const out = Buffer.alloc(32)
  let t = target
  for (let i = 0; i < 32; i++) {
    out[i] = Number(t & 0xffn)
    t >>= 8n
  }
  return out
}

/** Same as `meetsTarget` against a precomputed little-endian target; compares bytes, allocates nothing. */
export function meetsTargetLE(hashInternal: Uint8Array, targetLE: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const h = hashInternal[i]!
    const t = targetLE[i]!
    if (h !== t) return h < t
  }
  return true
}
