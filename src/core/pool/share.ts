/**
 * Share hashing — the pool's hot path. Straight-line synchronous Buffer code: the only allocations
 * are the header and hashes it returns (and what node:crypto allocates per digest).
 */
import { hash } from 'node:crypto'
import { sha256d, toDisplayHex } from '../bitcoin/hash'
import { varintSize, writeVarint } from '../bitcoin/serialize'
import { meetsTargetLE, shareDifficulty } from '../bitcoin/target'
import { COINBASE_WITNESS } from './coinbase'
import type { Job } from './job'

export interface ShareResult {
  /** The 80-byte block header the miner hashed. */
  header: Buffer
  /** SHA-256d of the header, internal byte order. */
  hash: Buffer
  /** The hash in display order (how explorers show block hashes). */
  hashHex: string
  /** diff1 / hash, for stats and vardiff (acceptance uses exact targets). */
  difficulty: number
  /** hash ≤ the job's network target (exact 256-bit comparison): submit the block. */
  isBlock: boolean
}

// `left ‖ right` for merkle steps; safe to share because computeShare never yields.
const pair = Buffer.alloc(64)

/**
 * Rebuilds the header a miner hashed and its hash. `extranonce1`/`extranonce2` must have the job's
 * sizes (the server checks submitted lengths first; a mismatch here throws a RangeError).
 * `version` is the final header version (see `rolledVersion`); `ntime`, `nonce` are uint32.
 */
export function computeShare(
  job: Job,
  extranonce1: Buffer,
  extranonce2: Buffer,
  ntime: number,
  nonce: number,
  version: number,
): ShareResult {
  if (extranonce1.length !== job.extranonce1Size || extranonce2.length !== job.extranonce2Size) {
    throw new RangeError(
      `extranonce sizes ${extranonce1.length}+${extranonce2.length} do not match the job's ${job.extranonce1Size}+${job.extranonce2Size}`,
    )
  }
  const cb = job.coinbaseScratch
  const en1At = job.coinb1.length
  extranonce1.copy(cb, en1At)
  extranonce2.copy(cb, en1At + extranonce1.length)
  let root: Buffer = hash('sha256', hash('sha256', cb, 'buffer'), 'buffer')
  const branch = job.merkleBranch
  for (let i = 0; i < branch.length; i++) {
    root.copy(pair, 0)
    branch[i]!.copy(pair, 32)
    root = sha256d(pair)
  }
  const header = Buffer.allocUnsafe(80)
  header.writeUInt32LE(version >>> 0, 0)
  job.prevHash.copy(header, 4)
  root.copy(header, 36)
  header.writeUInt32LE(ntime >>> 0, 68)
  header.writeUInt32LE(job.nbits, 72)
  header.writeUInt32LE(nonce >>> 0, 76)
  const h = sha256d(header)
  return {
    header,
    hash: h,
    hashHex: toDisplayHex(h),
    difficulty: shareDifficulty(h),
    isBlock: meetsTargetLE(h, job.networkTargetLE),
  }
}

/**
 * BIP310 check of a submitted `version_bits` against the negotiated mask. Accepts bits inside the
 * mask (the standard form) and also a full rolled version whose bits outside the mask equal the
 * job's (some firmware submits that); both give the same header under `rolledVersion`. Rejects
 * anything else, e.g. old Bitmain firmware's 0x40000000 outside the mask (btccom/btcpool #425).
 */
export function versionWithinMask(jobVersion: number, submittedVersionBits: number, mask: number): boolean {
  const outside = (submittedVersionBits & ~mask) >>> 0
  return outside === 0 || outside === (jobVersion & ~mask) >>> 0
}

/** BIP310 header version: `(jobVersion & ~mask) | (bits & mask)`. */
export function rolledVersion(jobVersion: number, submittedVersionBits: number, mask: number): number {
  return ((jobVersion & ~mask) | (submittedVersionBits & mask)) >>> 0
}

/**
 * The full block for `submitblock`: header ‖ tx count ‖ coinbase ‖ template transactions.
 * The coinbase is in witness serialization (marker, flag, 32-zero-byte reserved value) when the
 * job's coinbase carries a witness commitment, as BIP141 requires.
 */
export function assembleBlock(job: Job, extranonce1: Buffer, extranonce2: Buffer, header: Buffer): Buffer {
  if (header.length !== 80) throw new RangeError('header must be 80 bytes')
  if (extranonce1.length !== job.extranonce1Size || extranonce2.length !== job.extranonce2Size) {
    throw new RangeError("extranonce sizes do not match the job's")
  }
  const txCount = 1 + job.transactions.length
  const coinbaseBytes =
    job.coinb1.length +
    extranonce1.length +
    extranonce2.length +
    job.coinb2.length +
    (job.segwit ? 2 + COINBASE_WITNESS.length : 0)
  let txBytes = 0
  for (const tx of job.transactions) {
    if (tx.data.length % 2 !== 0) throw new RangeError(`template transaction ${tx.txid} has odd-length hex data`)
    txBytes += tx.data.length / 2
  }
  const out = Buffer.alloc(80 + varintSize(txCount) + coinbaseBytes + txBytes)
  let at = header.copy(out, 0)
  at = writeVarint(out, at, txCount)
  if (job.segwit) {
    // version ‖ 00 01 ‖ rest of coinb1 … coinb2 up to locktime ‖ witness ‖ locktime
    at += job.coinb1.copy(out, at, 0, 4)
    out[at++] = 0x00
    out[at++] = 0x01
    at += job.coinb1.copy(out, at, 4)
    at += extranonce1.copy(out, at)
    at += extranonce2.copy(out, at)
    at += job.coinb2.copy(out, at, 0, job.coinb2.length - 4)
    at += COINBASE_WITNESS.copy(out, at)
    at += job.coinb2.copy(out, at, job.coinb2.length - 4)
  } else {
    at += job.coinb1.copy(out, at)
    at += extranonce1.copy(out, at)
    at += extranonce2.copy(out, at)
    at += job.coinb2.copy(out, at)
  }
  for (const tx of job.transactions) {
    const n = out.write(tx.data, at, 'hex')
    if (n * 2 !== tx.data.length) throw new RangeError(`template transaction ${tx.txid} has malformed hex data`)
    at += n
  }
  return out
}
