import { describe, expect, it } from 'vitest'
import { fromDisplayHex } from './hash'
import {
  DIFF1_TARGET,
  difficultyToTarget,
  hashToBigInt,
  MAX_TARGET,
  meetsTarget,
  meetsTargetLE,
  nbitsToTarget,
  shareDifficulty,
  targetToBytesLE,
  targetToDifficulty,
  targetToNbits,
} from './target'

const relClose = (a: number, b: number, rel: number) => expect(Math.abs(a - b) / Math.abs(b)).toBeLessThanOrEqual(rel)

describe('nBits ↔ target', () => {
  it('difficulty 1 is 0x00000000FFFF0000… = the 0x1d00ffff expansion (research §0)', () => {
    expect(DIFF1_TARGET.toString()).toBe('26959535291011309493156476344723991336010898738574164086137773096960')
    expect(nbitsToTarget(0x1d00ffff)).toBe(DIFF1_TARGET)
  })
  it('gives block 840000 its network difficulty 86,388,558,925,171.02 (research §8.1)', () => {
    expect(targetToDifficulty(nbitsToTarget(0x17034219))).toBeCloseTo(86388558925171.02, 1)
  })
  it('gives regtest (207fffff) a difficulty of 4.6565e-10, so every share is a block (research §3.7)', () => {
    relClose(targetToDifficulty(nbitsToTarget(0x207fffff)), 4.6565e-10, 1e-4)
  })
  it('expands like Core arith_uint256::SetCompact and compacts like GetCompact', () => {
    // (nBits, expanded target, nBits GetCompact gives back)
    const cases: [number, bigint, number][] = [
      [0x01123456, 0x12n, 0x01120000],
      [0x01003456, 0n, 0],
      [0x02008000, 0x80n, 0x02008000],
      [0x05009234, 0x92340000n, 0x05009234],
      [0x04123456, 0x12345600n, 0x04123456],
      [0x20123456, 0x123456n << 232n, 0x20123456],
      [0x207fffff, 0x7fffffn << 232n, 0x207fffff],
    ]
    for (const [bits, target, back] of cases) {
      expect(nbitsToTarget(bits)).toBe(target)
      expect(targetToNbits(target)).toBe(back)
    }
  })
  it('round-trips the nBits of real blocks', () => {
    for (const bits of [0x1d00ffff, 0x1a44b9f2, 0x17034219, 0x1900896c, 0x18013ce9, 0x1705ae3a, 0x192495f8]) {
      expect(targetToNbits(nbitsToTarget(bits))).toBe(bits)
    }
  })
  it('refuses negative and overflowing encodings as Core does', () => {
    expect(() => nbitsToTarget(0x04923456)).toThrow(RangeError)
    expect(() => nbitsToTarget(0x01fedcba)).toThrow(RangeError)
    expect(() => nbitsToTarget(0xff123456)).toThrow(RangeError)
    expect(() => nbitsToTarget(0x23000001)).toThrow(RangeError)
  })
})

describe('difficulty ↔ target', () => {
  it('is exactly floor(diff1 / d) for integer difficulties', () => {
    for (const d of [1, 2, 3, 7, 512, 1000, 65536, 1e9, 123456789012]) {
      expect(difficultyToTarget(d)).toBe(DIFF1_TARGET / BigInt(d))
    }
  })
  it('is exact for fractional difficulties (powers of two and thirds)', () => {
    expect(difficultyToTarget(0.5)).toBe(DIFF1_TARGET * 2n)
    expect(difficultyToTarget(2 ** -20)).toBe(DIFF1_TARGET << 20n)
    // 1.5 = 3/2 → floor(2·diff1 / 3)
    expect(difficultyToTarget(1.5)).toBe((DIFF1_TARGET * 2n) / 3n)
  })
  it('satisfies target·d ≤ diff1 < (target+1)·d exactly for awkward doubles', () => {
    for (const d of [0.1, 669.868291, 86388558925171.02, 4.656542373906925e-10, 1 / 3]) {
      // A double is exactly n / 2^k: doubling is exact, so find k by doubling until integral.
      let k = 0
      let scaled = d
      while (!Number.isInteger(scaled)) {
        scaled *= 2
        k += 1
      }
      const n = BigInt(scaled)
      const t = difficultyToTarget(d)
      const diff1Scaled = DIFF1_TARGET << BigInt(k)
      expect(t * n <= diff1Scaled).toBe(true)
      expect((t + 1n) * n > diff1Scaled).toBe(true)
    }
  })
  it('round-trips difficulty → target → difficulty to double precision', () => {
    for (const d of [1, 512, 669.868291, 1e6, 86388558925171.02, 4.6565e-10, 1e-7]) {
      relClose(targetToDifficulty(difficultyToTarget(d)), d, 1e-14)
    }
  })
  it('clamps a tiny difficulty to the largest 256-bit target', () => {
    expect(difficultyToTarget(1e-300)).toBe(MAX_TARGET)
    expect(difficultyToTarget(Number.MIN_VALUE)).toBe(MAX_TARGET)
  })
  it('refuses zero, negative and non-finite difficulties', () => {
    for (const d of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => difficultyToTarget(d)).toThrow(RangeError)
    }
  })
})

describe('hash comparison', () => {
  const asHash = (v: bigint) => targetToBytesLE(v)

  it('reads a hash as a little-endian 256-bit integer', () => {
    const h = fromDisplayHex('000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f')
    expect(hashToBigInt(h)).toBe(0x000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26fn)
  })
  it('meets the target at hash == target and fails at target + 1 (exact boundary)', () => {
    for (const target of [
      nbitsToTarget(0x17034219),
      DIFF1_TARGET,
      difficultyToTarget(669.868291),
      1n,
      MAX_TARGET - 1n,
    ]) {
      expect(meetsTarget(asHash(target), target)).toBe(true)
      expect(meetsTargetLE(asHash(target), targetToBytesLE(target))).toBe(true)
      expect(meetsTarget(asHash(target - 1n), target)).toBe(true)
      expect(meetsTargetLE(asHash(target - 1n), targetToBytesLE(target))).toBe(true)
      expect(meetsTarget(asHash(target + 1n), target)).toBe(false)
      expect(meetsTargetLE(asHash(target + 1n), targetToBytesLE(target))).toBe(false)
    }
  })
  it('compares from the most significant byte (byte 31), not the first', () => {
    const target = 1n << 200n
    const low = Buffer.alloc(32, 0xff)
    low.fill(0, 25) // bytes 25..31 zero: value < 2^200
    expect(meetsTargetLE(low, targetToBytesLE(target))).toBe(true)
    expect(meetsTarget(low, target)).toBe(true)
    const high = Buffer.alloc(32)
    high[31] = 1
    expect(meetsTargetLE(high, targetToBytesLE(target))).toBe(false)
    expect(meetsTarget(high, target)).toBe(false)
  })
})

describe('shareDifficulty', () => {
  it('matches the public-pool session share: 669.868291 (research §8.2)', () => {
    const h = fromDisplayHex('000000000061d52983863e5c424c00d9e0981874fddf6a8493433e73928a3e4e')
    expect(shareDifficulty(h)).toBeCloseTo(669.868291, 5)
  })
  it('matches the ESP-Miner vectors: 683.5109 and 18.0435 (research §8.3)', () => {
    expect(
      shareDifficulty(fromDisplayHex('00000000005fe144efbc66241c0094b8fdc2702b7729226fdfed70ca8094c0b5')),
    ).toBeCloseTo(683.5109, 3)
    expect(
      shareDifficulty(fromDisplayHex('000000000e30101020e2ec8c9302a9ee56b2b2bef354b63489a0801f5789ed19')),
    ).toBeCloseTo(18.0435, 3)
  })
  it('agrees with the exact BigInt computation to 1e-14', () => {
    for (const hex of [
      '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
      '0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5',
      'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ]) {
      const h = fromDisplayHex(hex)
      relClose(shareDifficulty(h), targetToDifficulty(hashToBigInt(h)), 1e-14)
    }
  })
  it('is infinite for the all-zero hash instead of throwing', () => {
    expect(shareDifficulty(Buffer.alloc(32))).toBe(Number.POSITIVE_INFINITY)
  })
})
