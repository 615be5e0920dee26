/**
 * Bitcoin wire serialization helpers: little-endian integers, CompactSize varints, a bounds-checked
 * reader and a growable writer. Pure code over Buffers; every read past the end throws a
 * `DecodeError` (callers at a boundary convert it into an error value).
 */

export type DecodeErrorCode = 'TRUNCATED' | 'NON_CANONICAL_VARINT' | 'VARINT_TOO_LARGE' | 'TRAILING_BYTES' | 'BAD_HEX'

export class DecodeError extends Error {
  constructor(
    readonly code: DecodeErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'DecodeError'
  }
}

/** Core refuses CompactSize values above MAX_SIZE (serialize.h) when reading vectors. */
export const MAX_COMPACT_SIZE = 0x02000000

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/

/** Strict hex decoding: `null` for odd length, non-hex characters, or a length other than `expectedBytes`. */
export function hexToBytes(hex: string, expectedBytes?: number): Buffer | null {
  if (!HEX_RE.test(hex)) return null
  if (expectedBytes !== undefined && hex.length !== expectedBytes * 2) return null
  return Buffer.from(hex, 'hex')
}

/** Bytes a CompactSize takes for `n`. */
export function varintSize(n: number): number {
  if (n < 0xfd) return 1
  if (n <= 0xffff) return 3
  if (n <= 0xffffffff) return 5
  return 9
}

/** Writes CompactSize `n` at `offset`; returns the offset after it. */
export function writeVarint(buf: Buffer, offset: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`)
  if (n < 0xfd) {
    buf[offset] = n
    return offset + 1
  }
  if (n <= 0xffff) {
    buf[offset] = 0xfd
    buf.writeUInt16LE(n, offset + 1)
    return offset + 3
  }
  if (n <= 0xffffffff) {
    buf[offset] = 0xfe
    buf.writeUInt32LE(n, offset + 1)
    return offset + 5
  }
  buf[offset] = 0xff
  buf.writeBigUInt64LE(BigInt(n), offset + 1)
  return offset + 9
}

export function encodeVarint(n: number): Buffer {
  const out = Buffer.alloc(varintSize(n))
  writeVarint(out, 0, n)
  return out
}

/** A cursor over bytes. Slices it returns are views (no copy) into the source. */
export class ByteReader {
  private readonly buf: Buffer
  private pos: number

  constructor(bytes: Uint8Array, offset = 0) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = offset
  }

  get offset(): number {
    return this.pos
  }

  /** The next byte without consuming it (`undefined` at the end). */
  peek(): number | undefined {
    return this.buf[this.pos]
  }

  /** A view of already-read bytes [start, end) of the source. */
  slice(start: number, end: number): Buffer {
    return this.buf.subarray(start, end)
  }

  get remaining(): number {
    return this.buf.length - this.pos
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new DecodeError('TRUNCATED', `unexpected end of data reading ${what} at byte ${this.pos}`)
    }
  }

  u8(): number {
    this.need(1, 'u8')
    const v = this.buf[this.pos]!
    this.pos += 1
    return v
  }

  u16le(): number {
    this.need(2, 'u16')
    const v = this.buf.readUInt16LE(this.pos)
    this.pos += 2
    return v
  }

  u32le(): number {
    this.need(4, 'u32')
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }

  i32le(): number {
    this.need(4, 'i32')
    const v = this.buf.readInt32LE(this.pos)
    this.pos += 4
    return v
  }

  u64le(): bigint {
    this.need(8, 'u64')
    const v = this.buf.readBigUInt64LE(this.pos)
    this.pos += 8
    return v
  }

  /** CompactSize, rejecting non-canonical encodings and values above MAX_COMPACT_SIZE like Core does. */
  varint(): number {
    const first = this.u8()
    let v: number
    if (first < 0xfd) return first
    if (first === 0xfd) {
      v = this.u16le()
      if (v < 0xfd) throw new DecodeError('NON_CANONICAL_VARINT', `non-canonical varint at byte ${this.pos - 3}`)
    } else if (first === 0xfe) {
      v = this.u32le()
      if (v <= 0xffff) throw new DecodeError('NON_CANONICAL_VARINT', `non-canonical varint at byte ${this.pos - 5}`)
    } else {
      const big = this.u64le()
      if (big <= 0xffffffffn)
        throw new DecodeError('NON_CANONICAL_VARINT', `non-canonical varint at byte ${this.pos - 9}`)
      throw new DecodeError('VARINT_TOO_LARGE', `varint ${big} exceeds ${MAX_COMPACT_SIZE}`)
    }
    if (v > MAX_COMPACT_SIZE) throw new DecodeError('VARINT_TOO_LARGE', `varint ${v} exceeds ${MAX_COMPACT_SIZE}`)
    return v
  }

  bytes(n: number): Buffer {
    this.need(n, `${n} bytes`)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** A varint length followed by that many bytes. */
  varBytes(): Buffer {
    return this.bytes(this.varint())
  }

  /** Throws unless every byte was consumed. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new DecodeError('TRAILING_BYTES', `${this.remaining} unexpected bytes after ${what}`)
    }
  }
}

/** An append-only byte builder that grows as needed. */
export class ByteWriter {
  private buf: Buffer
  private pos = 0

  constructor(initialBytes = 256) {
    this.buf = Buffer.alloc(Math.max(16, initialBytes))
  }

  get length(): number {
    return this.pos
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(next, 0, 0, this.pos)
    this.buf = next
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.pos++] = v & 0xff
    return this
  }

  u32le(v: number): this {
    this.ensure(4)
    this.buf.writeUInt32LE(v >>> 0, this.pos)
    this.pos += 4
    return this
  }

  i32le(v: number): this {
    this.ensure(4)
    this.buf.writeInt32LE(v | 0, this.pos)
    this.pos += 4
    return this
  }

  u64le(v: bigint | number): this {
    this.ensure(8)
    this.buf.writeBigUInt64LE(BigInt(v), this.pos)
    this.pos += 8
    return this
  }

  varint(n: number): this {
    this.ensure(9)
    this.pos = writeVarint(this.buf, this.pos, n)
    return this
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
    return this
  }

  varBytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b)
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos))
  }
}

/** 8-char big-endian hex of a uint32: the Stratum form of version / nbits / ntime. */
export function u32ToBeHex(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0')
}
