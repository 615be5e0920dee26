import { describe, expect, it } from 'vitest'
import { decodeBip34Height, encodeBip34Height, encodeScriptNum, pushData, pushInt } from './script'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('BIP34 height push = CScript() << height (Core CScript::push_int64)', () => {
  // 0 → OP_0; 1..16 → OP_1..OP_16 (0x51..0x60); otherwise a minimal CScriptNum push with a 00 sign
  // byte when the top bit is set. Regtest needs the opcode form for heights 1..16 (research §3.2, §3.7).
  const cases: [number, string][] = [
    [0, '00'],
    [1, '51'],
    [2, '52'],
    [16, '60'],
    [17, '0111'],
    [127, '017f'],
    [128, '028000'],
    [255, '02ff00'],
    [256, '020001'],
    [32767, '02ff7f'],
    [32768, '03008000'],
    [65535, '03ffff00'],
    [8388607, '03ffff7f'],
    [8388608, '0400008000'],
    [300025, '03f99304'], // real coinbase of block 300025
    [482683, '037b5d07'], // real coinbase of block 482683
    [840000, '0340d10c'],
    [887329, '03218a0d'], // ckpool job in research §3.2
    [2442185, '03c94325'], // public-pool testnet coinb1, research §8.2
  ]
  for (const [height, expected] of cases) {
    it(`encodes height ${height} as ${expected}`, () => {
      expect(hex(encodeBip34Height(height))).toBe(expected)
      expect(decodeBip34Height(Buffer.from(`${expected}deadbeef`, 'hex'))).toBe(height)
    })
  }
  it('refuses heights that are not non-negative 31-bit integers', () => {
    for (const h of [-1, 1.5, 2 ** 31, Number.NaN]) expect(() => encodeBip34Height(h)).toThrow(RangeError)
  })
  it('decodes nothing from an empty or non-numeric scriptSig', () => {
    expect(decodeBip34Height(Buffer.alloc(0))).toBeNull()
    expect(decodeBip34Height(Buffer.from('6a', 'hex'))).toBeNull()
    expect(decodeBip34Height(Buffer.from('03ffff', 'hex'))).toBeNull() // truncated push
    expect(decodeBip34Height(Buffer.from('0181', 'hex'))).toBeNull() // negative
  })
})

describe('script numbers and pushes', () => {
  it('serializes CScriptNum minimally with a sign bit', () => {
    expect(hex(encodeScriptNum(0))).toBe('')
    expect(hex(encodeScriptNum(-1))).toBe('81')
    expect(hex(encodeScriptNum(-127))).toBe('ff')
    expect(hex(encodeScriptNum(-128))).toBe('8080')
    expect(hex(encodeScriptNum(-255))).toBe('ff80')
    expect(hex(encodeScriptNum(-256))).toBe('0081')
    expect(hex(encodeScriptNum(0x7fffffff))).toBe('ffffff7f')
  })
  it('pushes -1 as OP_1NEGATE', () => {
    expect(hex(pushInt(-1))).toBe('4f')
    expect(hex(pushInt(-2))).toBe('0182')
  })
  it('uses the minimal push opcode for each data length', () => {
    expect(hex(pushData(Buffer.alloc(0)))).toBe('00')
    expect(hex(pushData(Buffer.alloc(75, 1))).slice(0, 2)).toBe('4b')
    expect(hex(pushData(Buffer.alloc(76, 1))).slice(0, 4)).toBe('4c4c')
    expect(hex(pushData(Buffer.alloc(256, 1))).slice(0, 6)).toBe('4d0001')
  })
})
