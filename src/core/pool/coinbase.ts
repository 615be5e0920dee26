/**
 * The coinbase transaction split for Stratum: `coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2` is the
 * coinbase's NON-witness serialization, the bytes miners hash into the txid (research §3.2).
 *
 * scriptSig layout (all of it consensus-checked: BIP34 prefix, 2..100 bytes):
 *   BIP34 height (`CScript() << height`) ‖ [push extra] ‖ [push tag] ‖ PUSH(en1+en2) ‖ en1 ‖ en2
 * The push opcode in front of the extranonces keeps the scriptSig a well-formed script (ckpool does
 * the same); the extranonces sit at its very end so coinb2 starts at the input's sequence.
 */

import { encodeBip34Height, pushData } from '../bitcoin/script'
import { ByteWriter } from '../bitcoin/serialize'

/** Consensus bounds on a coinbase scriptSig (`bad-cb-length`, consensus/tx_check.cpp). */
export const MAX_COINBASE_SCRIPTSIG_BYTES = 100
export const MIN_COINBASE_SCRIPTSIG_BYTES = 2

export const DEFAULT_EXTRANONCE1_BYTES = 4
export const DEFAULT_EXTRANONCE2_BYTES = 4

export interface CoinbaseSpec {
  height: number
  /** Output script the whole `valueSats` goes to. */
  payoutScript: Uint8Array
  /** GBT `coinbasevalue`: subsidy plus fees, in satoshis. */
  valueSats: number
  /** Full witness-commitment output script (GBT `default_witness_commitment`), if the template has one. */
  witnessCommitmentScript?: Uint8Array
  /** Free text shown by explorers; UTF-8, cut at a character boundary to fit 100 bytes of scriptSig. */
  coinbaseTag: string
  /** Optional bytes pushed before the tag (e.g. a per-process nonce). Never truncated. */
  extra?: Uint8Array
  extranonce1Size: number
  extranonce2Size: number
  /** Transaction version; 2 by default (Core's current default). */
  txVersion?: number
}

export interface CoinbaseParts {
  coinb1: Buffer
  coinb2: Buffer
  /** Total scriptSig length including the extranonces. */
  scriptSigBytes: number
  /** The tag bytes actually kept after truncation. */
  tag: Buffer
  /** True when the coinbase carries a witness commitment and so needs the witness reserved value in the block. */
  segwit: boolean
}

export type CoinbaseErrorCode = 'BAD_EXTRANONCE_SIZE' | 'BAD_VALUE' | 'SCRIPTSIG_TOO_LONG' | 'BAD_HEIGHT'

export class CoinbaseError extends Error {
  constructor(
    readonly code: CoinbaseErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'CoinbaseError'
  }
}

/** The longest prefix of `text` whose UTF-8 encoding fits `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): Buffer {
  const full = Buffer.from(text, 'utf8')
  if (full.length <= maxBytes) return full
  let end = Math.max(0, maxBytes)
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (full[end]! & 0xc0) === 0x80) end--
  return Buffer.from(full.subarray(0, end))
}

/** Largest data length whose minimal push (opcode + data) fits in `budget` bytes. */
function maxPushableData(budget: number): number {
  if (budget <= 1) return 0
  if (budget - 1 < 0x4c) return budget - 1
  return Math.min(budget - 2, 0xff)
}

/**
 * Builds coinb1/coinb2. Throws a CoinbaseError when the inputs cannot make a valid coinbase
 * (bad extranonce sizes, negative value, `extra` too long): these come from our own config and
 * bitcoind, and the job builder turns them into its error.
 */
export function buildCoinbase(spec: CoinbaseSpec): CoinbaseParts {
  const { extranonce1Size: en1, extranonce2Size: en2 } = spec
  if (!Number.isInteger(en1) || en1 < 1 || en1 > 8) {
    throw new CoinbaseError('BAD_EXTRANONCE_SIZE', `extranonce1 size must be 1..8 bytes, got ${en1}`)
  }
  if (!Number.isInteger(en2) || en2 < 1 || en2 > 8) {
    throw new CoinbaseError('BAD_EXTRANONCE_SIZE', `extranonce2 size must be 1..8 bytes, got ${en2}`)
  }
  if (!Number.isSafeInteger(spec.valueSats) || spec.valueSats < 0) {
    throw new CoinbaseError(
      'BAD_VALUE',
      `coinbase value must be a non-negative integer of satoshis, got ${spec.valueSats}`,
    )
  }
  let heightPush: Buffer
  try {
    heightPush = encodeBip34Height(spec.height)
  } catch (e) {
    throw new CoinbaseError('BAD_HEIGHT', (e as Error).message)
  }
  const extraPush = spec.extra && spec.extra.length > 0 ? pushData(spec.extra) : Buffer.alloc(0)
  const enPush = Buffer.from([en1 + en2])
  const fixedBytes = heightPush.length + extraPush.length + enPush.length + en1 + en2
  if (fixedBytes > MAX_COINBASE_SCRIPTSIG_BYTES) {
    throw new CoinbaseError(
      'SCRIPTSIG_TOO_LONG',
      `coinbase scriptSig would be ${fixedBytes} bytes before the tag; the limit is ${MAX_COINBASE_SCRIPTSIG_BYTES}`,
    )
  }
  const tag = truncateUtf8(spec.coinbaseTag, maxPushableData(MAX_COINBASE_SCRIPTSIG_BYTES - fixedBytes))
  const tagPush = tag.length > 0 ? pushData(tag) : Buffer.alloc(0)
  const scriptSigBytes = fixedBytes + tagPush.length

  const w1 = new ByteWriter(128)
  w1.u32le(spec.txVersion ?? 2)
  w1.varint(1)
  w1.bytes(Buffer.alloc(32)) // null prevout txid
  w1.u32le(0xffffffff) // null prevout index
  w1.varint(scriptSigBytes)
  w1.bytes(heightPush).bytes(extraPush).bytes(tagPush).bytes(enPush)

  const segwit = spec.witnessCommitmentScript !== undefined
  const w2 = new ByteWriter(128)
  w2.u32le(0xffffffff) // sequence
  w2.varint(segwit ? 2 : 1)
  w2.u64le(BigInt(spec.valueSats)).varBytes(spec.payoutScript)
  // The commitment goes last: BIP141 takes the highest-index output matching the pattern.
  if (spec.witnessCommitmentScript) w2.u64le(0n).varBytes(spec.witnessCommitmentScript)
  w2.u32le(0) // nLockTime

  return { coinb1: w1.toBuffer(), coinb2: w2.toBuffer(), scriptSigBytes, tag, segwit }
}

/** BIP141 coinbase witness: one stack item, the 32-byte witness reserved value (all zeros). */
export const COINBASE_WITNESS = Buffer.concat([Buffer.from([0x01, 0x20]), Buffer.alloc(32)])
