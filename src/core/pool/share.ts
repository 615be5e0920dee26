/**
 * Share hashing — the pool's hot path. Straight-line synchronous code: the only allocations are
 * the header and hash it returns.
 */
import { toDisplayHex } from '../bitcoin/hash'
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

/**
 * Rebuilds the header a miner hashed and its hash. `extranonce1`/`extranonce2` must have the job's
 * sizes (the server checks submitted lengths first; a mismatch here throws a RangeError).
 * `version` is the final header version (see `rolledVersion`); `ntime`, `nonce` are uint32.
 *
 * Why SHA-256 in JavaScript: a share costs 2 + 2·(branch length) + 2 digests of ≤ 2 blocks each;
 * through node:crypto each call pays ~1 µs of binding overhead for ~0.2 µs of hashing, which made
 * hashing most of the pool's CPU per submit. Here the coinbase starts from a per-job midstate of
 * coinb1's whole blocks, merkle steps chain on 32-bit words without serialising, and the constant
 * padding block of a 64-byte message has a precomputed schedule. Proven equal to node:crypto by
 * the bit-exactness tests (real blocks) and `share-sha256.test.ts`.
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
  const pre = precomputed(job)
  const cb = job.coinbaseScratch
  const en1At = job.coinb1.length
  extranonce1.copy(cb, en1At)
  extranonce2.copy(cb, en1At + extranonce1.length)

  // Coinbase txid: midstate of coinb1's whole blocks, then the rest; then the second SHA-256.
  const st = STATE
  st.set(pre.coinbaseMidstate)
  const fromByte = pre.coinbasePrefixBlocks * 64
  hashTail(st, cb, fromByte, cb.length - fromByte, cb.length)
  secondHash(st)

  // Merkle root: each step hashes (root ‖ branch[i]), all in words.
  const bw = pre.branchWords
  for (let i = 0; i < bw.length; i += 8) {
    W[0] = st[0]!
    W[1] = st[1]!
    W[2] = st[2]!
    W[3] = st[3]!
    W[4] = st[4]!
    W[5] = st[5]!
    W[6] = st[6]!
    W[7] = st[7]!
    for (let k = 0; k < 8; k++) W[8 + k] = bw[i + k]!
    st.set(IV)
    expand(W)
    rounds(st, W)
    rounds(st, PAD64_W)
    secondHash(st)
  }

  const header = Buffer.allocUnsafe(80)
  header.writeUInt32LE(version >>> 0, 0)
  job.prevHash.copy(header, 4)
  for (let k = 0; k < 8; k++) header.writeInt32BE(st[k]!, 36 + 4 * k)
  header.writeUInt32LE(ntime >>> 0, 68)
  header.writeUInt32LE(job.nbits, 72)
  header.writeUInt32LE(nonce >>> 0, 76)

  st.set(IV)
  hashTail(st, header, 0, 80, 80)
  secondHash(st)
  const h = Buffer.allocUnsafe(32)
  for (let k = 0; k < 8; k++) h.writeInt32BE(st[k]!, 4 * k)
  return {
    header,
    hash: h,
    hashHex: toDisplayHex(h),
    difficulty: shareDifficulty(h),
    isBlock: meetsTargetLE(h, job.networkTargetLE),
  }
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4) over 32-bit words. Module-level scratch is safe: computeShare never yields.

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
])
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
])
const W = new Int32Array(64)
const STATE = new Int32Array(8)
/** Final block for a 128-byte-or-shorter tail: data, 0x80, zeros, bit length. */
const TAIL = Buffer.alloc(128)

/** Message schedule words 16..63 from words 0..15. */
function expand(w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!
    const b = w[i - 2]!
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3)
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10)
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0
  }
}

/** The 64 rounds over an expanded schedule, added into `st`. */
function rounds(st: Int32Array, w: Int32Array): void {
  let a = st[0]!
  let b = st[1]!
  let c = st[2]!
  let d = st[3]!
  let e = st[4]!
  let f = st[5]!
  let g = st[6]!
  let h = st[7]!
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0
    h = g
    g = f
    f = e
    e = (d + t1) | 0
    d = c
    c = b
    b = a
    a = (t1 + t2) | 0
  }
  st[0] = (st[0]! + a) | 0
  st[1] = (st[1]! + b) | 0
  st[2] = (st[2]! + c) | 0
  st[3] = (st[3]! + d) | 0
  st[4] = (st[4]! + e) | 0
  st[5] = (st[5]! + f) | 0
  st[6] = (st[6]! + g) | 0
  st[7] = (st[7]! + h) | 0
}

function block(st: Int32Array, src: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++, at += 4)
    W[i] = (src[at]! << 24) | (src[at + 1]! << 16) | (src[at + 2]! << 8) | src[at + 3]!
  expand(W)
  rounds(st, W)
}

/** Hashes `len` bytes of `src` from `at` to the end of a message of `totalLen` bytes (padding included). */
function hashTail(st: Int32Array, src: Uint8Array, at: number, len: number, totalLen: number): void {
  while (len >= 64) {
    block(st, src, at)
    at += 64
    len -= 64
  }
  TAIL.fill(0)
  TAIL.set(src.subarray(at, at + len), 0)
  TAIL[len] = 0x80
  const blocks = len + 9 > 64 ? 2 : 1
  const bits = totalLen * 8
  TAIL.writeUInt32BE(Math.floor(bits / 2 ** 32), blocks * 64 - 8)
  TAIL.writeUInt32BE(bits >>> 0, blocks * 64 - 4)
  block(st, TAIL, 0)
  if (blocks === 2) block(st, TAIL, 64)
}

/** st ← SHA-256(st as 32 bytes): the outer hash of SHA-256d. */
function secondHash(st: Int32Array): void {
  for (let i = 0; i < 8; i++) W[i] = st[i]!
  W[8] = 0x80000000 | 0
  for (let i = 9; i < 15; i++) W[i] = 0
  W[15] = 256
  st.set(IV)
  expand(W)
  rounds(st, W)
}

/** Expanded schedule of the padding block that follows any 64-byte message. */
const PAD64_W = (() => {
  const w = new Int32Array(64)
  w[0] = 0x80000000 | 0
  w[15] = 512
  expand(w)
  return w
})()

interface Precomputed {
  coinbaseMidstate: Int32Array
  coinbasePrefixBlocks: number
  /** Branch hashes as big-endian words, 8 per step. */
  branchWords: Int32Array
}

const precomputedByJob = new WeakMap<Job, Precomputed>()

function precomputed(job: Job): Precomputed {
  let p = precomputedByJob.get(job)
  if (p !== undefined) return p
  const st = new Int32Array(IV)
  const prefixBlocks = Math.floor(job.coinb1.length / 64)
  for (let i = 0; i < prefixBlocks; i++) block(st, job.coinb1, i * 64)
  const branch = job.merkleBranch
  const bw = new Int32Array(branch.length * 8)
  for (let i = 0; i < branch.length; i++) {
    for (let k = 0; k < 8; k++) bw[i * 8 + k] = branch[i]!.readInt32BE(4 * k)
  }
  p = { coinbaseMidstate: st, coinbasePrefixBlocks: prefixBlocks, branchWords: bw }
  precomputedByJob.set(job, p)
  return p
}

/** SHA-256d of any bytes with the implementation computeShare uses (exported for its tests). */
export function sha256dWords(data: Uint8Array): Buffer {
  const st = new Int32Array(IV)
  hashTail(st, data, 0, data.length, data.length)
  secondHash(st)
  const out = Buffer.allocUnsafe(32)
  for (let k = 0; k < 8; k++) out.writeInt32BE(st[k]!, 4 * k)
  return out
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
