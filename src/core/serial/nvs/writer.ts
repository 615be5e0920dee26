import type { AppError, Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'
import { nvsCrc32, nvsEntryCrc } from './crc32'
import {
  BIGINT_RANGE,
  BITMAP_OFFSET,
  CHUNK_ANY,
  ENTRIES_PER_PAGE,
  ENTRY_SIZE,
  FIRST_ENTRY_OFFSET,
  INT_RANGE,
  ITEM_TYPE,
  KEY_MAX_LENGTH,
  MAX_STRING_BYTES,
  type NvsEntry,
  PAGE_SIZE,
  PAGE_STATE,
  PAGE_VERSION_2,
} from './format'

/** Read/write NVS needs at least three sectors: two usable pages plus the one NVS keeps free. */
export const MIN_PARTITION_BYTES = 0x3000

/**
 * Builds an NVS (format version 2) partition image of `sizeBytes` from `entries`, laid out exactly
 * as Espressif's `esp-idf-nvs-partition-gen` lays out the equivalent CSV: same page-break rules,
 * same padding bytes, same CRCs, trailing pages left erased (0xFF) with the last one reserved.
 *
 * One deliberate difference: entries are grouped by namespace (in order of first appearance). The
 * generator writes rows under the most recently *created* namespace, so a CSV that returns to an
 * earlier namespace lands in the wrong one; grouping makes that impossible and changes nothing
 * for the usual one-namespace-per-block CSV (ESP-Miner's `config-*.cvs`).
 */
export function writeNvs(entries: readonly NvsEntry[], sizeBytes: number): Result<Buffer> {
  if (!Number.isInteger(sizeBytes) || sizeBytes % PAGE_SIZE !== 0 || sizeBytes < MIN_PARTITION_BYTES) {
    return serialErr(
      'BAD_ARGUMENT',
      `The NVS partition size must be a multiple of 4096 bytes and at least ${MIN_PARTITION_BYTES} bytes.`,
    )
  }
  const groups = new Map<string, NvsEntry[]>()
  const seen = new Set<string>()
  for (const e of entries) {
    const bad = validateEntry(e)
    if (bad) return { ok: false, error: bad }
    const id = `${e.namespace}\u0000${e.key}`
    if (seen.has(id)) return serialErr('NVS_BAD_ENTRY', `Key "${e.key}" appears twice in namespace "${e.namespace}".`)
    seen.add(id)
    const g = groups.get(e.namespace)
    if (g) g.push(e)
    else groups.set(e.namespace, [e])
  }
  if (groups.size > 254) return serialErr('NVS_TOO_LARGE', 'NVS holds at most 254 namespaces.')

  const w = new PageWriter(sizeBytes)
  let nsIndex = 0
  for (const [namespace, group] of groups) {
    nsIndex++
    const r = w.writePrimitive(0, namespace, 'u8', nsIndex)
    if (!r.ok) return r
    for (const e of group) {
      const res =
        e.type === 'string'
          ? w.writeString(nsIndex, e.key, e.value)
          : e.type === 'blob'
            ? w.writeBlob(nsIndex, e.key, e.value)
            : w.writePrimitive(nsIndex, e.key, e.type, e.value)
      if (!res.ok) return res
    }
  }
  return ok(w.image())
}

type Done = Result<null>
const DONE: Done = ok(null)

class PageWriter {
  private readonly pages: Buffer[] = []
  private entryNum = 0
  private readonly maxDataPages: number

  constructor(private readonly sizeBytes: number) {
    // The generator keeps the last sector of the partition erased for NVS's own page rotation.
    this.maxDataPages = sizeBytes / PAGE_SIZE - 1
    this.newPage()
  }

  image(): Buffer {
    const out = Buffer.alloc(this.sizeBytes, 0xff)
    this.pages.forEach((p, i) => {
      p.copy(out, i * PAGE_SIZE)
    })
    return out
  }

  private get page(): Buffer {
    return this.pages[this.pages.length - 1] as Buffer
  }

  private newPage(): boolean {
    if (this.pages.length > 0) {
      if (this.page.readUInt32LE(0) === PAGE_STATE.ACTIVE) this.page.writeUInt32LE(PAGE_STATE.FULL, 0)
    }
    if (this.pages.length >= this.maxDataPages) return false
    const p = Buffer.alloc(PAGE_SIZE, 0xff)
    p.writeUInt32LE(PAGE_STATE.ACTIVE, 0)
    p.writeUInt32LE(this.pages.length, 4)
    p[8] = PAGE_VERSION_2
    p.writeUInt32LE(nvsCrc32(p.subarray(4, 28)), 28)
    this.pages.push(p)
    this.entryNum = 0
    return true
  }

  private full(): Done {
    return serialErr('NVS_TOO_LARGE', `The settings do not fit in an NVS partition of ${this.sizeBytes} bytes.`)
  }

  /** Copies `data` into the next entries of the current page and marks them written in the bitmap. */
  private put(data: Uint8Array, entryCount: number): void {
    this.page.set(data, FIRST_ENTRY_OFFSET + ENTRY_SIZE * this.entryNum)
    for (let i = 0; i < entryCount; i++) {
      const bit = this.entryNum * 2
      const at = BITMAP_OFFSET + (bit >> 3)
      this.page[at] = (this.page[at] as number) & ~(1 << (bit & 7))
      this.entryNum++
    }
  }

  private header(nsIndex: number, type: number, span: number, chunk: number, key: string): Buffer {
    const h = Buffer.alloc(ENTRY_SIZE, 0xff)
    h[0] = nsIndex
    h[1] = type
    h[2] = span
    h[3] = chunk
    h.fill(0, 8, 24)
    h.write(key, 8, 'utf8')
    return h
  }

  private seal(h: Buffer): Buffer {
    h.writeUInt32LE(nvsEntryCrc(h), 4)
    return h
  }

  writePrimitive(
    nsIndex: number,
    key: string,
    type: keyof typeof INT_RANGE | 'u64' | 'i64',
    value: number | bigint,
  ): Done {
    if (this.entryNum >= ENTRIES_PER_PAGE && !this.newPage()) return this.full()
    const h = this.header(nsIndex, ITEM_TYPE[type], 1, CHUNK_ANY, key)
    switch (type) {
      case 'u8':
        h.writeUInt8(Number(value), 24)
        break
      case 'i8':
        h.writeInt8(Number(value), 24)
        break
      case 'u16':
        h.writeUInt16LE(Number(value), 24)
        break
      case 'i16':
        h.writeInt16LE(Number(value), 24)
        break
      case 'u32':
        h.writeUInt32LE(Number(value), 24)
        break
      case 'i32':
        h.writeInt32LE(Number(value), 24)
        break
      case 'u64':
        h.writeBigUInt64LE(BigInt(value), 24)
        break
      case 'i64':
        h.writeBigInt64LE(BigInt(value), 24)
        break
    }
    this.put(this.seal(h), 1)
    return DONE
  }

  writeString(nsIndex: number, key: string, value: string): Done {
    const data = Buffer.concat([Buffer.from(value, 'utf8'), Buffer.of(0)])
    const dataEntries = Math.ceil(data.length / ENTRY_SIZE)
    // The generator asks for one spare entry after a string (">=" on the page limit): same here.
    if (dataEntries + 1 >= ENTRIES_PER_PAGE) {
      return serialErr('NVS_TOO_LARGE', `String "${key}" is too long for one NVS page (${data.length} bytes).`)
    }
    if (this.entryNum + dataEntries + 1 >= ENTRIES_PER_PAGE && !this.newPage()) return this.full()
    const h = this.header(nsIndex, ITEM_TYPE.string, dataEntries + 1, CHUNK_ANY, key)
    h.writeUInt16LE(data.length, 24)
    h.writeUInt32LE(nvsCrc32(data), 28)
    this.put(this.seal(h), 1)
    this.put(data, dataEntries)
    return DONE
  }

  /** Blob v2: BLOB_DATA chunks that fill each page's tail, then one BLOB_IDX entry. */
  writeBlob(nsIndex: number, key: string, value: Uint8Array): Done {
    if (this.entryNum >= ENTRIES_PER_PAGE && !this.newPage()) return this.full()
    let offset = 0
    let remaining = value.length
    let chunkCount = 0
    const chunkStart = 0
    for (;;) {
      const tailroom = (ENTRIES_PER_PAGE - this.entryNum - 1) * ENTRY_SIZE
      const chunkSize = Math.min(tailroom, remaining)
      remaining -= chunkSize
      const chunk = value.subarray(offset, offset + chunkSize)
      const dataEntries = Math.ceil(chunkSize / ENTRY_SIZE)
      const h = this.header(nsIndex, ITEM_TYPE.blobData, dataEntries + 1, chunkStart + chunkCount, key)
      h.writeUInt16LE(chunkSize, 24)
      h.writeUInt32LE(nvsCrc32(chunk), 28)
      this.put(this.seal(h), 1)
      this.put(chunk, dataEntries)
      chunkCount++
      if ((remaining > 0 || tailroom - chunkSize < ENTRY_SIZE) && !this.newPage()) return this.full()
      offset += chunkSize
      if (remaining === 0) break
    }
    if (chunkCount > 127) return serialErr('NVS_TOO_LARGE', `Blob "${key}" needs more than 127 chunks.`)
    const idx = this.header(nsIndex, ITEM_TYPE.blobIndex, 1, CHUNK_ANY, key)
    idx.writeUInt32LE(value.length, 24)
    idx[28] = chunkCount
    idx[29] = chunkStart
    this.put(this.seal(idx), 1)
    return DONE
  }
}

function validateEntry(e: NvsEntry): AppError | undefined {
  const bad = (message: string): AppError => {
    const r = serialErr('NVS_BAD_ENTRY', message)
    return r.error
  }
  for (const [what, name] of [
    ['Namespace', e.namespace],
    ['Key', e.key],
  ] as const) {
    const n = Buffer.byteLength(name, 'utf8')
    if (n === 0 || n > KEY_MAX_LENGTH || name.includes('\u0000')) {
      return bad(`${what} "${name}" must be 1 to ${KEY_MAX_LENGTH} bytes long.`)
    }
  }
  switch (e.type) {
    case 'u8':
    case 'i8':
    case 'u16':
    case 'i16':
    case 'u32':
    case 'i32': {
      const r = INT_RANGE[e.type]
      if (typeof e.value !== 'number' || !Number.isInteger(e.value) || e.value < r.min || e.value > r.max) {
        return bad(`Value of "${e.key}" must be an integer from ${r.min} to ${r.max} for type ${e.type}.`)
      }
      return undefined
    }
    case 'u64':
    case 'i64': {
      const r = BIGINT_RANGE[e.type]
      if (typeof e.value !== 'bigint' || e.value < r.min || e.value > r.max) {
        return bad(`Value of "${e.key}" must be a bigint from ${r.min} to ${r.max} for type ${e.type}.`)
      }
      return undefined
    }
    case 'string':
      if (typeof e.value !== 'string' || e.value.includes('\u0000')) {
        return bad(`Value of "${e.key}" must be a string without NUL characters.`)
      }
      if (Buffer.byteLength(e.value, 'utf8') + 1 > MAX_STRING_BYTES) {
        return bad(`String "${e.key}" is longer than ${MAX_STRING_BYTES - 1} bytes.`)
      }
      return undefined
    case 'blob':
      if (!(e.value instanceof Uint8Array)) return bad(`Value of "${e.key}" must be bytes.`)
      return undefined
    default:
      return bad(`Entry "${(e as { key: string }).key}" has an unknown type.`)
  }
}
