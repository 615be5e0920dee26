import { describe, expect, it } from 'vitest'
import { serialReasonOf } from '../serial-error'
import {
  DATA_SUBTYPE,
  ESP_MINER_PARTITIONS,
  encodePartitionTable,
  findEspMinerNvs,
  PARTITION_TYPE,
  type Partition,
  parsePartitionTable,
} from './partition-table'

const parse = (b: Buffer) => {
  const r = parsePartitionTable(b)
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe('parsePartitionTable', () => {
  it('reads back ESP-Miner’s table, with and without the MD5 entry', () => {
    expect(parse(encodePartitionTable(ESP_MINER_PARTITIONS))).toEqual(ESP_MINER_PARTITIONS)
    expect(parse(encodePartitionTable(ESP_MINER_PARTITIONS, false))).toEqual(ESP_MINER_PARTITIONS)
  })

  it('encodes entries with the 0xAA50 magic, little-endian offset and size, and a NUL-padded label', () => {
    const t = encodePartitionTable(ESP_MINER_PARTITIONS)
    expect(t.subarray(0, 32).toString('hex')).toBe(
      `aa500102${'00900000'}${'00600000'}${Buffer.from('nvs').toString('hex')}${'00'.repeat(13)}00000000`,
    )
  })

  it('refuses a table whose MD5 does not match', () => {
    const t = encodePartitionTable(ESP_MINER_PARTITIONS)
    t[5] = 0xa0 // nvs offset 0x9000 → 0xa000 without updating the MD5
    const r = parsePartitionTable(t)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.message).toMatch(/MD5/)
  })

  it('refuses flash that holds no table', () => {
    for (const b of [Buffer.alloc(0xc00, 0xff), Buffer.alloc(0xc00, 0x00)]) {
      const r = parsePartitionTable(b)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(serialReasonOf(r.error)).toBe('PARTITION_TABLE')
    }
  })
})

describe('findEspMinerNvs', () => {
  const nvs = (over: Partial<Partition>): Partition[] => [
    {
      label: 'nvs',
      type: PARTITION_TYPE.data,
      subtype: DATA_SUBTYPE.nvs,
      offset: 0x9000,
      size: 0x6000,
      flags: 0,
      ...over,
    },
  ]
  it('accepts nvs at 0x9000 size 0x6000', () => {
    expect(findEspMinerNvs(ESP_MINER_PARTITIONS).ok).toBe(true)
  })
  it.each([
    ['missing', [] as Partition[], 'NVS_PARTITION_MISSING'],
    ['elsewhere', nvs({ offset: 0x11000 }), 'NVS_PARTITION_UNEXPECTED'],
    ['bigger', nvs({ size: 0x10000 }), 'NVS_PARTITION_UNEXPECTED'],
    ['not an nvs subtype', nvs({ subtype: DATA_SUBTYPE.spiffs }), 'NVS_PARTITION_UNEXPECTED'],
  ] as const)('refuses an nvs partition that is %s', (_n, parts, reason) => {
    const r = findEspMinerNvs(parts)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe(reason)
  })
})
