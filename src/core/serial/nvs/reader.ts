import type { Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'
import { nvsCrc32, nvsEntryCrc } from './crc32'
import {
  BITMAP_OFFSET,
  ENTRIES_PER_PAGE,
  ENTRY_SIZE,
  ENTRY_STATE,
  FIRST_ENTRY_OFFSET,
  ITEM_TYPE,
  type NvsEntry,
  PAGE_SIZE,
  PAGE_STATE,
} from './format'

export interface NvsReadResult {
  /** The live key/value pairs, in the order they sit on flash (latest copy wins). */
  entries: NvsEntry[]
  /** What was skipped and why (bad CRCs, half-written blobs…): worth a log line, not a failure. */
  warnings: string[]
}

type Item =
  | { kind: 'value'; entry: NvsEntry }
  | { kind: 'blobIndex'; nsIndex: number; key: string; size: number; chunkCount: number; chunkStart: number }

const TYPE_NAME = new Map<number, 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64'>([
  [ITEM_TYPE.u8, 'u8'],
  [ITEM_TYPE.i8, 'i8'],
  [ITEM_TYPE.u16, 'u16'],
  [ITEM_TYPE.i16, 'i16'],
  [ITEM_TYPE.u32, 'u32'],
  [ITEM_TYPE.i32, 'i32'],
  [ITEM_TYPE.u64, 'u64'],
  [ITEM_TYPE.i64, 'i64'],
])

/**
 * Reads an NVS partition image as the ESP-IDF library would see it after boot: pages in sequence
 * order, only entries the state bitmap marks "written", CRC-checked headers and data, later copies
 * of a key replacing earlier ones, blob v2 reassembled from its BLOB_DATA chunks via BLOB_IDX.
 * Works on generator output and on images read back from a device that has rewritten keys.
 */
export function readNvs(image: Uint8Array): Result<NvsReadResult> {
  if (image.length === 0 || image.length % PAGE_SIZE !== 0) {
    return serialErr('NVS_BAD_IMAGE', `An NVS image is a whole number of 4096-byte pages; got ${image.length} bytes.`)
  }
  const buf = Buffer.from(image.buffer, image.byteOffset, image.length)
  const warnings: string[] = []
  const pages: { seq: number; at: number }[] = []
  let nonEmpty = 0
  for (let at = 0; at < buf.length; at += PAGE_SIZE) {
    const state = buf.readUInt32LE(at)
    if (state === PAGE_STATE.EMPTY) continue
    nonEmpty++
    if (state !== PAGE_STATE.ACTIVE && state !== PAGE_STATE.FULL && state !== PAGE_STATE.FREEING) {
      warnings.push(`page at 0x${at.toString(16)} is in state 0x${state.toString(16)}; skipped`)
      continue
    }
    if (nvsCrc32(buf.subarray(at + 4, at + 28)) !== buf.readUInt32LE(at + 28)) {
      warnings.push(`page at 0x${at.toString(16)} has a bad header CRC; skipped`)
      continue
    }
    pages.push({ seq: buf.readUInt32LE(at + 4), at })
  }
  if (nonEmpty > 0 && pages.length === 0) {
    return serialErr('NVS_BAD_IMAGE', 'This is not an NVS partition: no page has a valid NVS header.')
  }
  pages.sort((a, b) => a.seq - b.seq)

  const items = new Map<string, Item>()
  const chunks = new Map<string, Buffer>()
  const namespaces = new Map<number, string>()
  const put = (id: string, item: Item) => {
    items.delete(id)
    items.set(id, item)
  }

  for (const { at } of pages) {
    for (let i = 0; i < ENTRIES_PER_PAGE; ) {
      if (entryState(buf, at, i) !== ENTRY_STATE.WRITTEN) {
        i++
        continue
      }
      const e = buf.subarray(at + FIRST_ENTRY_OFFSET + i * ENTRY_SIZE, at + FIRST_ENTRY_OFFSET + (i + 1) * ENTRY_SIZE)
      const where = `page 0x${at.toString(16)} entry ${i}`
      if (nvsEntryCrc(e) !== e.readUInt32LE(4)) {
        warnings.push(`${where}: bad entry CRC; skipped`)
        i++
        continue
      }
      const nsIndex = e[0] as number
      const type = e[1] as number
      const span = e[2] as number
      const chunkIndex = e[3] as number
      const key = cString(e.subarray(8, 24))
      if (span < 1 || i + span > ENTRIES_PER_PAGE) {
        warnings.push(`${where}: impossible span ${span}; skipped`)
        i++
        continue
      }
      const next = i + span
      const prim = TYPE_NAME.get(type)
      if (nsIndex === 0) {
        if (type === ITEM_TYPE.u8) namespaces.set(e[24] as number, key)
        else warnings.push(`${where}: namespace entry of type 0x${type.toString(16)}; skipped`)
      } else if (prim) {
        const id = `${nsIndex}/${key}`
        put(id, { kind: 'value', entry: primitive(key, prim, e) })
      } else if (type === ITEM_TYPE.string || type === ITEM_TYPE.blobV1 || type === ITEM_TYPE.blobData) {
        const size = e.readUInt16LE(24)
        const dataAt = at + FIRST_ENTRY_OFFSET + (i + 1) * ENTRY_SIZE
        if (size > (span - 1) * ENTRY_SIZE) {
          warnings.push(`${where}: data size ${size} exceeds its span; skipped`)
        } else {
          const data = Buffer.from(buf.subarray(dataAt, dataAt + size))
          if (nvsCrc32(data) !== e.readUInt32LE(28)) {
            warnings.push(`${where}: key "${key}" has a bad data CRC; skipped`)
          } else if (type === ITEM_TYPE.blobData) {
            chunks.set(`${nsIndex}/${key}/${chunkIndex}`, data)
          } else {
            const id = `${nsIndex}/${key}`
            const entry: NvsEntry =
              type === ITEM_TYPE.string
                ? { namespace: '', key, type: 'string', value: cString(data) }
                : { namespace: '', key, type: 'blob', value: new Uint8Array(data) }
            put(id, { kind: 'value', entry })
          }
        }
      } else if (type === ITEM_TYPE.blobIndex) {
        const id = `${nsIndex}/${key}`
        put(id, {
          kind: 'blobIndex',
          nsIndex,
          key,
          size: e.readUInt32LE(24),
          chunkCount: e[28] as number,
          chunkStart: e[29] as number,
        })
      } else {
        warnings.push(`${where}: unknown item type 0x${type.toString(16)}; skipped`)
      }
      i = next
    }
  }

  const entries: NvsEntry[] = []
  for (const [id, item] of items) {
    const nsIndex = Number(id.slice(0, id.indexOf('/')))
    const namespace = namespaces.get(nsIndex)
    if (namespace === undefined) {
      warnings.push(
        `key "${id.slice(id.indexOf('/') + 1)}" belongs to namespace index ${nsIndex}, which has no name; skipped`,
      )
      continue
    }
    if (item.kind === 'value') {
      entries.push({ ...item.entry, namespace })
      continue
    }
    const parts: Buffer[] = []
    for (let c = 0; c < item.chunkCount; c++) {
      const part = chunks.get(`${item.nsIndex}/${item.key}/${item.chunkStart + c}`)
      if (!part) break
      parts.push(part)
    }
    const data = Buffer.concat(parts)
    if (parts.length !== item.chunkCount || data.length !== item.size) {
      warnings.push(`blob "${item.key}" is incomplete (${data.length} of ${item.size} bytes); skipped`)
      continue
    }
    entries.push({ namespace, key: item.key, type: 'blob', value: new Uint8Array(data) })
  }
  return ok({ entries, warnings })
}

function entryState(buf: Buffer, pageAt: number, i: number): number {
  const bit = i * 2
  return ((buf[pageAt + BITMAP_OFFSET + (bit >> 3)] as number) >> (bit & 7)) & 0b11
}

function cString(b: Uint8Array): string {
  const end = b.indexOf(0)
  return Buffer.from(b.subarray(0, end === -1 ? b.length : end)).toString('utf8')
}

/** The namespace name is filled in once every namespace entry has been seen. */
function primitive(key: string, type: NonNullable<ReturnType<typeof TYPE_NAME.get>>, e: Buffer): NvsEntry {
  const namespace = ''
  switch (type) {
    case 'u8':
      return { namespace, key, type, value: e.readUInt8(24) }
    case 'i8':
      return { namespace, key, type, value: e.readInt8(24) }
    case 'u16':
      return { namespace, key, type, value: e.readUInt16LE(24) }
    case 'i16':
      return { namespace, key, type, value: e.readInt16LE(24) }
    case 'u32':
      return { namespace, key, type, value: e.readUInt32LE(24) }
    case 'i32':
      return { namespace, key, type, value: e.readInt32LE(24) }
    case 'u64':
      return { namespace, key, type, value: e.readBigUInt64LE(24) }
    case 'i64':
      return { namespace, key, type, value: e.readBigInt64LE(24) }
  }
}
