import { describe, expect, it } from 'vitest'
import {
  at,
  hashField,
  newNotes,
  normaliseMac,
  numField,
  parseDashList,
  parseHashrateText,
  parseHashUnit,
  parseSiNumber,
  poolStateOf,
  toBool,
  toNumber,
  toThs,
} from './field-map'

describe('field map: readers over unknown JSON', () => {
  it('reads numbers and numeric strings, rejects everything else', () => {
    expect(toNumber(12.5)).toBe(12.5)
    expect(toNumber(' 37603.30 ')).toBeCloseTo(37603.3)
    expect(toNumber('1e3')).toBe(1000)
    for (const bad of [
      '',
      'abc',
      '12abc',
      '0x10',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
      null,
      undefined,
      {},
      [],
    ]) {
      expect(toNumber(bad)).toBeUndefined()
    }
  })

  it('reads cgminer-style booleans', () => {
    expect(toBool('Y')).toBe(true)
    expect(toBool('N')).toBe(false)
    expect(toBool('true')).toBe(true)
    expect(toBool(1)).toBe(true)
    expect(toBool('maybe')).toBeUndefined()
  })

  it('walks paths without throwing on missing steps', () => {
    const j = { a: [{ b: 3 }] }
    expect(at(j, 'a', 0, 'b')).toBe(3)
    expect(at(j, 'a', 1, 'b')).toBeUndefined()
    expect(at(j, 'x', 'y')).toBeUndefined()
    expect(at('text', 'length')).toBeUndefined()
    expect(at({ __proto__: { inherited: 1 } }, 'inherited')).toBeUndefined()
  })

  it('treats a missing field as silent null and a malformed one as null plus a warning', () => {
    const notes = newNotes()
    expect(numField({ x: 1 }, 'missing', notes, 'summary')).toBeNull()
    expect(notes.warnings).toEqual([])
    expect(numField({ x: 'garbage' }, 'x', notes, 'summary')).toBeNull()
    expect(notes.warnings).toEqual(['summary: "x" is not a number'])
  })
})

describe('field map: hashrate units', () => {
  it('parses units as firmware spell them', () => {
    expect(parseHashUnit('GH')).toBe('GH')
    expect(parseHashUnit('GH/s')).toBe('GH')
    expect(parseHashUnit('Gh/s')).toBe('GH')
    expect(parseHashUnit('MHS')).toBe('MH')
    expect(parseHashUnit('TH/s')).toBe('TH')
    expect(parseHashUnit('H/s')).toBe('H')
    expect(parseHashUnit('kh/s')).toBe('KH')
    expect(parseHashUnit('furlongs')).toBeUndefined()
  })

  it('converts every unit to TH/s', () => {
    expect(toThs(110566.89, 'GH')).toBeCloseTo(110.56689)
    expect(toThs(67439352.49, 'MH')).toBeCloseTo(67.43935249)
    expect(toThs(1, 'PH')).toBe(1000)
    expect(toThs(5e12, 'H')).toBeCloseTo(5)
  })

  it('parses hashrate strings like "1.23 TH/s"', () => {
    expect(parseHashrateText('1.23 TH/s')).toBeCloseTo(1.23)
    expect(parseHashrateText('950GH/s')).toBeCloseTo(0.95)
    expect(parseHashrateText('12 H/s')).toBeCloseTo(12e-12)
    expect(parseHashrateText('fast')).toBeUndefined()
    expect(parseHashrateText('1.2.3 TH/s')).toBeUndefined()
    expect(parseHashrateText('5 bananas')).toBeUndefined()
  })

  it('converts a field through the same missing/malformed rule', () => {
    const notes = newNotes()
    expect(hashField({ 'GHS 5s': '110566.89' }, 'GHS 5s', 'GH', notes, 's')).toBeCloseTo(110.56689)
    expect(hashField({ 'GHS 5s': 'n/a' }, 'GHS 5s', 'GH', notes, 's')).toBeNull()
    expect(notes.warnings).toHaveLength(1)
  })
})

describe('field map: firmware quirks', () => {
  it('reads AxeOS SI difficulties as old firmware sends them', () => {
    expect(parseSiNumber('4.29G')).toBeCloseTo(4.29e9)
    expect(parseSiNumber('483k')).toBe(483000)
    expect(parseSiNumber(49224525)).toBe(49224525)
    expect(parseSiNumber('4.29Q')).toBeUndefined()
  })

  it('reads bmminer dash lists and drops zero sensors', () => {
    expect(parseDashList('78-50-69-70')).toEqual([78, 50, 69, 70])
    expect(parseDashList('0-0-0-0')).toEqual([])
    expect(parseDashList('78-x-1')).toBeUndefined()
    expect(parseDashList(5)).toBeUndefined()
  })

  it('normalises MACs in colon, dash and bare forms and rejects invalid ones', () => {
    expect(normaliseMac('10:f5:12:33:bb:f0')).toBe('10:F5:12:33:BB:F0')
    expect(normaliseMac('C0-FA-38-6A-6E-B2')).toBe('C0:FA:38:6A:6E:B2')
    expect(normaliseMac('123456789012')).toBe('12:34:56:78:90:12')
    // The anonymised S21 capture carries a non-hex MAC; it must not become an identity key.
    expect(normaliseMac('02:55:97:22:3M:72')).toBeNull()
    expect(normaliseMac(42)).toBeNull()
  })

  it('maps pool states', () => {
    expect(poolStateOf('Alive')).toBe('alive')
    expect(poolStateOf('Dead')).toBe('dead')
    expect(poolStateOf('Disabled')).toBe('disabled')
    expect(poolStateOf(7)).toBe('unknown')
  })
})
