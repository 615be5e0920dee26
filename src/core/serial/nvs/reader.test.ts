import { describe, expect, it } from 'vitest'
import { serialReasonOf } from '../serial-error'
import { nvsCrc32, nvsEntryCrc } from './crc32'
import { parseNvsCsv } from './csv'
import { readNvs } from './reader'
import { nvsFixture } from './testing/fixtures'

function read(image: Uint8Array) {
  const r = readNvs(image)
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

/** Sets the 2-bit state of entry `i` of the first page (0b10 written, 0b00 erased). */
function setState(image: Buffer, i: number, state: number): void {
  const bit = i * 2
  const at = 32 + (bit >> 3)
  image[at] = ((image[at] as number) & ~(0b11 << (bit & 7))) | (state << (bit & 7))
}

/** Appends a string entry the way the device library would, at entry index `i` of page 0. */
function appendString(image: Buffer, i: number, nsIndex: number, key: string, value: string): number {
  const data = Buffer.concat([Buffer.from(value), Buffer.of(0)])
  const span = 1 + Math.ceil(data.length / 32)
  const h = Buffer.alloc(32, 0xff)
  h[0] = nsIndex
  h[1] = 0x21
  h[2] = span
  h.fill(0, 8, 24)
  h.write(key, 8)
  h.writeUInt16LE(data.length, 24)
  h.writeUInt32LE(nvsCrc32(data), 28)
  h.writeUInt32LE(nvsEntryCrc(h), 4)
  h.copy(image, 64 + i * 32)
  data.copy(image, 64 + (i + 1) * 32)
  for (let k = 0; k < span; k++) setState(image, i + k, 0b10)
  return span
}

describe('readNvs on the reference images', () => {
  it.each(['bitaxe-legacy', 'bitaxe-pools-v2.15'])('returns exactly the entries of %s.csv', (name) => {
    const csv = parseNvsCsv(nvsFixture(`${name}.csv`).toString('utf8'))
    if (!csv.ok) throw new Error(csv.error.message)
    const got = read(nvsFixture(`${name}.bin`))
    expect(got.warnings).toEqual([])
    expect(got.entries).toEqual(csv.value)
  })
})

describe('readNvs on images a device has written', () => {
  it('returns the newer copy after the device rewrote a key and erased the old one', () => {
    const image = Buffer.from(nvsFixture('bitaxe-legacy.bin'))
    // wifissid is entries 3–4 of page 0; the generator used entries 0–30.
    appendString(image, 31, 1, 'wifissid', 'Barn AP')
    setState(image, 3, 0b00)
    setState(image, 4, 0b00)
    const got = read(image)
    expect(got.entries.filter((e) => e.key === 'wifissid')).toEqual([
      { namespace: 'main', key: 'wifissid', type: 'string', value: 'Barn AP' },
    ])
    expect(got.entries.at(-1)?.key).toBe('wifissid')
  })

  it('lets the later copy win when power was lost before the old one was erased', () => {
    const image = Buffer.from(nvsFixture('bitaxe-legacy.bin'))
    appendString(image, 31, 1, 'stratumurl', '10.0.0.5')
    const got = read(image)
    expect(got.entries.filter((e) => e.key === 'stratumurl').map((e) => e.value)).toEqual(['10.0.0.5'])
  })

  it('skips an entry whose data CRC is wrong and says so', () => {
    const image = Buffer.from(nvsFixture('bitaxe-legacy.bin'))
    image[0x100] = 0x43 // first byte of the wifipass string
    const got = read(image)
    expect(got.entries.some((e) => e.key === 'wifipass')).toBe(false)
    expect(got.warnings.join('\n')).toMatch(/wifipass.*bad data CRC/)
    expect(got.warnings.join('\n')).not.toMatch(/correct horse/)
  })

  it('skips an entry whose header CRC is wrong', () => {
    const image = Buffer.from(nvsFixture('bitaxe-legacy.bin'))
    image[0x160 + 24] = 0x06 // stratumport value, without fixing its CRC
    const got = read(image)
    expect(got.entries.some((e) => e.key === 'stratumport')).toBe(false)
    expect(got.entries.some((e) => e.key === 'stratumuser')).toBe(true)
    expect(got.warnings.some((w) => /bad entry CRC/.test(w))).toBe(true)
  })

  it('reads a version-1 blob (type 0x41)', () => {
    const image = Buffer.from(nvsFixture('bitaxe-legacy.bin'))
    const data = Buffer.from([1, 2, 3, 4, 5])
    const h = Buffer.alloc(32, 0xff)
    h[0] = 1
    h[1] = 0x41
    h[2] = 2
    h.fill(0, 8, 24)
    h.write('oldblob', 8)
    h.writeUInt16LE(data.length, 24)
    h.writeUInt32LE(nvsCrc32(data), 28)
    h.writeUInt32LE(nvsEntryCrc(h), 4)
    h.copy(image, 64 + 31 * 32)
    data.copy(image, 64 + 32 * 32)
    setState(image, 31, 0b10)
    setState(image, 32, 0b10)
    expect(read(image).entries.at(-1)).toEqual({
      namespace: 'main',
      key: 'oldblob',
      type: 'blob',
      value: new Uint8Array(data),
    })
  })

  it('treats an erased partition as empty settings', () => {
    expect(read(Buffer.alloc(0x6000, 0xff))).toEqual({ entries: [], warnings: [] })
  })
})

describe('readNvs refuses what is not NVS', () => {
  it('rejects a size that is not whole pages', () => {
    const r = readNvs(Buffer.alloc(100))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('NVS_BAD_IMAGE')
  })

  it('rejects random bytes', () => {
    const junk = Buffer.alloc(0x3000)
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff
    const r = readNvs(junk)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.message).toMatch(/not an NVS partition/)
  })

  it('refuses an image whose only page has a bad header CRC', () => {
    const image = Buffer.from(nvsFixture('bitaxe-legacy.bin'))
    image[4] = 9 // sequence number changed without fixing the header CRC
    const r = readNvs(image)
    expect(r.ok).toBe(false)
  })
})
