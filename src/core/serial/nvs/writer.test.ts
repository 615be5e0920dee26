import { describe, expect, it } from 'vitest'
import { serialReasonOf } from '../serial-error'
import { nvsCrc32 } from './crc32'
import { parseNvsCsv } from './csv'
import type { NvsEntry } from './format'
import { readNvs } from './reader'
import { nvsFixture } from './testing/fixtures'
import { writeNvs } from './writer'

function csvEntries(name: string): NvsEntry[] {
  const r = parseNvsCsv(nvsFixture(name).toString('utf8'))
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

function mustWrite(entries: NvsEntry[], size = 0x6000): Buffer {
  const r = writeNvs(entries, size)
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

function mustRead(image: Uint8Array): NvsEntry[] {
  const r = readNvs(image)
  if (!r.ok) throw new Error(r.error.message)
  expect(r.value.warnings).toEqual([])
  return r.value.entries
}

describe('writeNvs against Espressif generator output', () => {
  it.each(['bitaxe-legacy', 'bitaxe-pools-v2.15'])('reproduces %s.bin byte for byte from its CSV', (name) => {
    const image = mustWrite(csvEntries(`${name}.csv`))
    const reference = nvsFixture(`${name}.bin`)
    expect(image.length).toBe(reference.length)
    const firstDiff = image.findIndex((b, i) => b !== reference[i])
    expect(firstDiff).toBe(-1)
  })
})

describe('writeNvs layout rules', () => {
  const ns = 'main'
  it('moves to a new page when entries run out, marking the old page FULL', () => {
    const entries: NvsEntry[] = Array.from({ length: 200 }, (_, i) => ({
      namespace: ns,
      key: `k${i}`,
      type: 'u32',
      value: i,
    }))
    const image = mustWrite(entries)
    expect(image.readUInt32LE(0)).toBe(0xfffffffc)
    expect(image.readUInt32LE(4096)).toBe(0xfffffffe)
    expect(image.readUInt32LE(4096 + 4)).toBe(1)
    expect(image.readUInt32LE(4096 + 28)).toBe(nvsCrc32(image.subarray(4096 + 4, 4096 + 28)))
    expect(mustRead(image)).toEqual(entries)
  })

  it('never splits a string across pages', () => {
    const filler: NvsEntry[] = Array.from({ length: 120 }, (_, i) => ({
      namespace: ns,
      key: `f${i}`,
      type: 'u8',
      value: i,
    }))
    const long: NvsEntry = { namespace: ns, key: 'long', type: 'string', value: 'x'.repeat(200) }
    const image = mustWrite([...filler, long])
    // 1 namespace + 120 filler = 121 entries used; 8 more would pass the 126 limit.
    expect(image.subarray(4096 + 64 + 8, 4096 + 64 + 12).toString()).toBe('long')
    expect(mustRead(image)).toEqual([...filler, long])
  })

  it('writes a multi-page blob as BLOB_DATA chunks and one BLOB_IDX', () => {
    const bytes = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff)
    const blob: NvsEntry = { namespace: 'phy', key: 'cal_data', type: 'blob', value: bytes }
    const image = mustWrite([{ namespace: ns, key: 'a', type: 'u8', value: 1 }, blob])
    // entries: ns "main", a, ns "phy", then the first BLOB_DATA header
    expect(image[64 + 3 * 32 + 1]).toBe(0x42)
    expect(image[64 + 3 * 32 + 3]).toBe(0)
    const entries = mustRead(image)
    expect(entries).toEqual([{ namespace: ns, key: 'a', type: 'u8', value: 1 }, blob])
  })

  it('round-trips every type and several namespaces', () => {
    const entries: NvsEntry[] = [
      { namespace: 'main', key: 'u8', type: 'u8', value: 255 },
      { namespace: 'main', key: 'i8', type: 'i8', value: -128 },
      { namespace: 'main', key: 'u16', type: 'u16', value: 65535 },
      { namespace: 'main', key: 'i16', type: 'i16', value: -32768 },
      { namespace: 'main', key: 'u32', type: 'u32', value: 0xffffffff },
      { namespace: 'main', key: 'i32', type: 'i32', value: -0x80000000 },
      { namespace: 'main', key: 'u64', type: 'u64', value: 0xffffffffffffffffn },
      { namespace: 'main', key: 'i64', type: 'i64', value: -0x8000000000000000n },
      { namespace: 'main', key: 'utf8', type: 'string', value: 'Café ☕ – 2.4 GHz' },
      { namespace: 'main', key: 'empty', type: 'string', value: '' },
      { namespace: 'other', key: 'blob', type: 'blob', value: Uint8Array.of(0, 1, 2, 0xff) },
      { namespace: 'other', key: 'noblob', type: 'blob', value: new Uint8Array(0) },
    ]
    expect(mustRead(mustWrite(entries))).toEqual(entries)
  })

  it('groups entries by namespace so a key never lands in the wrong one', () => {
    const entries: NvsEntry[] = [
      { namespace: 'a', key: 'x', type: 'u8', value: 1 },
      { namespace: 'b', key: 'y', type: 'u8', value: 2 },
      { namespace: 'a', key: 'z', type: 'u8', value: 3 },
    ]
    const back = mustRead(mustWrite(entries))
    expect(back).toEqual([entries[0], entries[2], entries[1]])
  })
})

describe('writeNvs refuses bad input with a clear error', () => {
  const e = (over: Partial<NvsEntry>): NvsEntry =>
    ({ namespace: 'main', key: 'k', type: 'u8', value: 1, ...over }) as NvsEntry
  it.each([
    ['a size that is not a multiple of 4096', [e({})], 5000, 'BAD_ARGUMENT'],
    ['a partition smaller than three pages', [e({})], 0x2000, 'BAD_ARGUMENT'],
    ['a key longer than 15 bytes', [e({ key: 'sixteen-chars-xx' })], 0x6000, 'NVS_BAD_ENTRY'],
    ['an empty namespace', [e({ namespace: '' })], 0x6000, 'NVS_BAD_ENTRY'],
    ['a u8 out of range', [e({ value: 256 })], 0x6000, 'NVS_BAD_ENTRY'],
    ['a fractional u16', [e({ type: 'u16', value: 1.5 })], 0x6000, 'NVS_BAD_ENTRY'],
    ['a u64 given as a number', [e({ type: 'u64', value: 1 as unknown as bigint })], 0x6000, 'NVS_BAD_ENTRY'],
    ['a string with NUL', [e({ type: 'string', value: 'a\u0000b' })], 0x6000, 'NVS_BAD_ENTRY'],
    ['the same key twice', [e({}), e({ value: 2 })], 0x6000, 'NVS_BAD_ENTRY'],
    ['a string too long for a page', [e({ type: 'string', value: 'y'.repeat(3990) })], 0x6000, 'NVS_TOO_LARGE'],
    [
      'more data than the partition holds',
      Array.from({ length: 300 }, (_, i) => e({ key: `k${i}`, type: 'string', value: 'z'.repeat(40) })),
      0x3000,
      'NVS_TOO_LARGE',
    ],
  ] as const)('rejects %s', (_name, entries, size, reason) => {
    const r = writeNvs(entries as NvsEntry[], size)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe(reason)
      expect(r.error.message.length).toBeGreaterThan(10)
    }
  })
})
