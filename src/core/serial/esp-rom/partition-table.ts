/**
 * The ESP-IDF partition table (ESP-IDF docs, "Partition Tables"; `gen_esp32part.py`): at flash
 * offset 0x8000, up to 0xC00 bytes of 32-byte entries `magic 0x50AA (bytes AA 50), type, subtype,
 * offset u32, size u32, label[16], flags u32`, optionally followed by an MD5 entry (bytes EB EB,
 * 14 × 0xFF, then the MD5 of all entries before it), then 0xFF padding.
 */
import { createHash } from 'node:crypto'
import type { Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'

export const PARTITION_TABLE_OFFSET = 0x8000
export const PARTITION_TABLE_MAX_BYTES = 0xc00
const ENTRY_BYTES = 32

/** Where ESP-Miner keeps its settings (`partitions.csv`: `nvs, data, nvs, 0x9000, 0x6000`). */
export const ESP_MINER_NVS = { offset: 0x9000, size: 0x6000 } as const

export const PARTITION_TYPE = { app: 0x00, data: 0x01 } as const
export const DATA_SUBTYPE = { ota: 0x00, phy: 0x01, nvs: 0x02, coredump: 0x03, nvsKeys: 0x04, spiffs: 0x82 } as const

export interface Partition {
  label: string
  type: number
  subtype: number
  offset: number
  size: number
  flags: number
}

export function parsePartitionTable(bytes: Uint8Array): Result<Partition[]> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, PARTITION_TABLE_MAX_BYTES))
  const parts: Partition[] = []
  for (let at = 0; at + ENTRY_BYTES <= buf.length; at += ENTRY_BYTES) {
    const e = buf.subarray(at, at + ENTRY_BYTES)
    if (e[0] === 0xff && e[1] === 0xff) break
    if (e[0] === 0xeb && e[1] === 0xeb) {
      const want = e.subarray(16, 32)
      const got = createHash('md5').update(buf.subarray(0, at)).digest()
      if (!got.equals(want)) {
        return serialErr('PARTITION_TABLE', 'The partition table on the device fails its MD5 check; it may be damaged.')
      }
      break
    }
    if (e[0] !== 0xaa || e[1] !== 0x50) {
      return serialErr(
        'PARTITION_TABLE',
        at === 0
          ? 'No partition table found at 0x8000 (is this an ESP-IDF firmware?).'
          : `The partition table has a damaged entry at byte ${at}.`,
      )
    }
    const end = e.indexOf(0, 12)
    parts.push({
      type: e[2] as number,
      subtype: e[3] as number,
      offset: e.readUInt32LE(4),
      size: e.readUInt32LE(8),
      label: e.subarray(12, end === -1 || end > 28 ? 28 : end).toString('latin1'),
      flags: e.readUInt32LE(28),
    })
  }
  if (parts.length === 0) return serialErr('PARTITION_TABLE', 'The partition table at 0x8000 is empty.')
  return ok(parts)
}

/**
 * The `nvs` partition ESP-Miner reads its settings from, refusing anything unexpected: writing
 * 24 KiB somewhere else would damage firmware, so a mismatch stops the write instead of guessing.
 */
export function findEspMinerNvs(parts: readonly Partition[]): Result<Partition> {
  const nvs = parts.find((p) => p.label === 'nvs')
  if (!nvs)
    return serialErr(
      'NVS_PARTITION_MISSING',
      'The device has no "nvs" partition; this does not look like ESP-Miner firmware.',
    )
  if (nvs.type !== PARTITION_TYPE.data || nvs.subtype !== DATA_SUBTYPE.nvs) {
    return serialErr(
      'NVS_PARTITION_UNEXPECTED',
      'The "nvs" partition on this device is not an NVS data partition; refusing to write.',
    )
  }
  if (nvs.offset !== ESP_MINER_NVS.offset || nvs.size !== ESP_MINER_NVS.size) {
    return serialErr(
      'NVS_PARTITION_UNEXPECTED',
      `The "nvs" partition is at 0x${nvs.offset.toString(16)} with size 0x${nvs.size.toString(16)}, not 0x9000/0x6000 as in ESP-Miner; refusing to write.`,
      { offset: nvs.offset, size: nvs.size },
    )
  }
  return ok(nvs)
}

/** Builds a table image (with the MD5 entry, as `gen_esp32part.py` does by default). */
export function encodePartitionTable(parts: readonly Partition[], withMd5 = true): Buffer {
  const out = Buffer.alloc(PARTITION_TABLE_MAX_BYTES, 0xff)
  parts.forEach((p, i) => {
    const e = out.subarray(i * ENTRY_BYTES, (i + 1) * ENTRY_BYTES)
    e[0] = 0xaa
    e[1] = 0x50
    e[2] = p.type
    e[3] = p.subtype
    e.writeUInt32LE(p.offset, 4)
    e.writeUInt32LE(p.size, 8)
    e.fill(0, 12, 28)
    e.write(p.label.slice(0, 16), 12, 'latin1')
    e.writeUInt32LE(p.flags, 28)
  })
  if (withMd5) {
    const at = parts.length * ENTRY_BYTES
    out[at] = 0xeb
    out[at + 1] = 0xeb
    createHash('md5')
      .update(out.subarray(0, at))
      .digest()
      .copy(out, at + 16)
  }
  return out
}

/**
 * ESP-Miner's table (bitaxeorg/ESP-Miner `partitions.csv` @54415650; the coredump offset, left
 * blank there, is the next free 4 KiB boundary as the generator places it). Used by the simulator.
 */
export const ESP_MINER_PARTITIONS: readonly Partition[] = [
  { label: 'nvs', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.nvs, offset: 0x9000, size: 0x6000, flags: 0 },
  { label: 'phy_init', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.phy, offset: 0xf000, size: 0x1000, flags: 0 },
  { label: 'factory', type: PARTITION_TYPE.app, subtype: 0x00, offset: 0x10000, size: 0x400000, flags: 0 },
  { label: 'www', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.spiffs, offset: 0x410000, size: 0x200000, flags: 0 },
  {
    label: 'data',
    type: PARTITION_TYPE.data,
    subtype: DATA_SUBTYPE.spiffs,
    offset: 0x610000,
    size: 0x100000,
    flags: 0,
  },
  { label: 'ota_0', type: PARTITION_TYPE.app, subtype: 0x10, offset: 0x710000, size: 0x400000, flags: 0 },
  { label: 'ota_1', type: PARTITION_TYPE.app, subtype: 0x11, offset: 0xb10000, size: 0x400000, flags: 0 },
  { label: 'otadata', type: PARTITION_TYPE.data, subtype: DATA_SUBTYPE.ota, offset: 0xf10000, size: 0x2000, flags: 0 },
  {
    label: 'coredump',
    type: PARTITION_TYPE.data,
    subtype: DATA_SUBTYPE.coredump,
    offset: 0xf12000,
    size: 0x10000,
    flags: 0,
  },
]
