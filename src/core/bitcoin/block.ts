/**
 * Block and transaction (de)serialization: enough to replay real blocks in tests and to run a
 * test node. Parsing is strict (Core's rules for the segwit marker, canonical varints, no trailing
 * bytes) and returns an error value, never throws, on malformed input.
 */
import type { Result } from '../../shared/errors'
import { sha256d } from './hash'
import { ByteReader, ByteWriter, DecodeError, type DecodeErrorCode } from './serialize'

export const HEADER_BYTES = 80

export interface BlockHeader {
  /** nVersion as an unsigned 32-bit value (Stratum and GBT treat it as unsigned). */
  version: number
  /** Previous block hash, internal byte order. */
  prevHash: Buffer
  /** Merkle root, internal byte order. */
  merkleRoot: Buffer
  /** nTime, seconds since the epoch. */
  time: number
  bits: number
  nonce: number
}

export interface TxInput {
  /** Spent txid, internal byte order (all zeros for a coinbase). */
  prevTxid: Buffer
  prevIndex: number
  scriptSig: Buffer
  sequence: number
  /** Witness stack items; empty when the transaction has no witness for this input. */
  witness: Buffer[]
}

export interface TxOutput {
  /** Satoshis. */
  value: bigint
  script: Buffer
}

export interface ParsedTransaction {
  version: number
  inputs: TxInput[]
  outputs: TxOutput[]
  locktime: number
  hasWitness: boolean
  /** The transaction exactly as serialized in the source (witness form when it has witnesses). */
  raw: Buffer
  /** Non-witness serialization (what the txid commits to). */
  stripped: Buffer
  /** txid, internal byte order. */
  txid: Buffer
  /** wtxid, internal byte order (equals txid without witness). */
  wtxid: Buffer
}

export interface ParsedBlock {
  header: BlockHeader
  headerBytes: Buffer
  /** Block hash, internal byte order. */
  hash: Buffer
  transactions: ParsedTransaction[]
}

export interface BlockDecodeError {
  code: DecodeErrorCode | 'BAD_SEGWIT_FLAG' | 'SUPERFLUOUS_WITNESS' | 'NO_TRANSACTIONS'
  message: string
}

export function serializeHeader(h: BlockHeader): Buffer {
  const out = Buffer.alloc(HEADER_BYTES)
  out.writeUInt32LE(h.version >>> 0, 0)
  h.prevHash.copy(out, 4, 0, 32)
  h.merkleRoot.copy(out, 36, 0, 32)
  out.writeUInt32LE(h.time >>> 0, 68)
  out.writeUInt32LE(h.bits >>> 0, 72)
  out.writeUInt32LE(h.nonce >>> 0, 76)
  return out
}

/** Parses an 80-byte header. Throws a RangeError if `bytes` is shorter than 80 bytes. */
export function parseHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length < HEADER_BYTES) throw new RangeError('a block header is 80 bytes')
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, HEADER_BYTES)
  return {
    version: b.readUInt32LE(0),
    prevHash: Buffer.from(b.subarray(4, 36)),
    merkleRoot: Buffer.from(b.subarray(36, 68)),
    time: b.readUInt32LE(68),
    bits: b.readUInt32LE(72),
    nonce: b.readUInt32LE(76),
  }
}

/** Reads one transaction at the reader's position (throws DecodeError; see `parseTransaction` for the safe form). */
export function readTransaction(r: ByteReader): ParsedTransaction {
  const start = r.offset
  const version = r.u32le()
  let hasWitness = false
  // BIP144: an input count of 0 followed by flag 1 marks the extended (witness) serialization.
  let ioStart = r.offset
  if (r.peek() === 0x00) {
    r.u8()
    const flag = r.u8()
    if (flag !== 0x01) throw new SegwitError('BAD_SEGWIT_FLAG', `unknown transaction serialization flag ${flag}`)
    hasWitness = true
    ioStart = r.offset
  }
  const inputs: TxInput[] = []
  const nIn = r.varint()
  for (let i = 0; i < nIn; i++) {
    inputs.push({
      prevTxid: r.bytes(32),
      prevIndex: r.u32le(),
      scriptSig: r.varBytes(),
      sequence: r.u32le(),
      witness: [],
    })
  }
  const outputs: TxOutput[] = []
  const nOut = r.varint()
  for (let i = 0; i < nOut; i++) outputs.push({ value: r.u64le(), script: r.varBytes() })
  const ioEnd = r.offset
  if (hasWitness) {
    let anyWitness = false
    for (const input of inputs) {
      const items = r.varint()
      for (let j = 0; j < items; j++) input.witness.push(r.varBytes())
      if (items > 0) anyWitness = true
    }
    // Core: "Superfluous witness record" — the flag is set but every witness is empty.
    if (!anyWitness) throw new SegwitError('SUPERFLUOUS_WITNESS', 'witness flag set but no input has a witness')
  }
  const locktimeAt = r.offset
  const locktime = r.u32le()
  const raw = r.slice(start, r.offset)
  const stripped = hasWitness
    ? Buffer.concat([r.slice(start, start + 4), r.slice(ioStart, ioEnd), r.slice(locktimeAt, locktimeAt + 4)])
    : raw
  const txid = sha256d(stripped)
  return {
    version,
    inputs,
    outputs,
    locktime,
    hasWitness,
    raw,
    stripped,
    txid,
    wtxid: hasWitness ? sha256d(raw) : txid,
  }
}

class SegwitError extends Error {
  constructor(
    readonly code: 'BAD_SEGWIT_FLAG' | 'SUPERFLUOUS_WITNESS',
    message: string,
  ) {
    super(message)
  }
}

function toDecodeError(e: unknown): BlockDecodeError {
  if (e instanceof DecodeError || e instanceof SegwitError) return { code: e.code, message: e.message }
  throw e
}

/** Parses one whole serialized transaction (no trailing bytes allowed). */
export function parseTransaction(bytes: Uint8Array): Result<ParsedTransaction, BlockDecodeError> {
  const source = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  try {
    const r = new ByteReader(source)
    const tx = readTransaction(r)
    r.end('the transaction')
    return { ok: true, value: tx }
  } catch (e) {
    return { ok: false, error: toDecodeError(e) }
  }
}

/** Parses a whole serialized block (header, tx count, transactions; witness serialization allowed). */
export function parseBlock(bytes: Uint8Array): Result<ParsedBlock, BlockDecodeError> {
  const source = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  try {
    const r = new ByteReader(source)
    const headerBytes = r.bytes(HEADER_BYTES)
    const n = r.varint()
    if (n === 0) return { ok: false, error: { code: 'NO_TRANSACTIONS', message: 'a block needs at least a coinbase' } }
    const transactions: ParsedTransaction[] = []
    for (let i = 0; i < n; i++) transactions.push(readTransaction(r))
    r.end('the last transaction')
    return {
      ok: true,
      value: { header: parseHeader(headerBytes), headerBytes, hash: sha256d(headerBytes), transactions },
    }
  } catch (e) {
    return { ok: false, error: toDecodeError(e) }
  }
}

export interface TransactionFields {
  version: number
  inputs: readonly TxInput[]
  outputs: readonly TxOutput[]
  locktime: number
}

/**
 * Serializes a transaction. With `witness: true` and at least one non-empty witness, the BIP144
 * extended form; otherwise the legacy form (what the txid commits to).
 */
export function serializeTransaction(tx: TransactionFields, opts: { witness: boolean }): Buffer {
  const withWitness = opts.witness && tx.inputs.some((i) => i.witness.length > 0)
  const w = new ByteWriter(256)
  w.u32le(tx.version)
  if (withWitness) w.u8(0x00).u8(0x01)
  w.varint(tx.inputs.length)
  for (const i of tx.inputs) w.bytes(i.prevTxid).u32le(i.prevIndex).varBytes(i.scriptSig).u32le(i.sequence)
  w.varint(tx.outputs.length)
  for (const o of tx.outputs) w.u64le(o.value).varBytes(o.script)
  if (withWitness) {
    for (const i of tx.inputs) {
      w.varint(i.witness.length)
      for (const item of i.witness) w.varBytes(item)
    }
  }
  w.u32le(tx.locktime)
  return w.toBuffer()
}
