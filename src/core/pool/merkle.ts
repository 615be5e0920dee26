/**
 * Merkle trees for Stratum: the coinbase's branch, the root from a branch, and the BIP141 witness
 * commitment. All hashes are in internal byte order (GBT `txid` strings are display order: reverse).
 */
import { sha256d } from '../bitcoin/hash'

// One scratch buffer for `left ‖ right`: merkle steps run synchronously, so it is never shared.
const pair = Buffer.alloc(64)

function hashPair(left: Uint8Array, right: Uint8Array): Buffer {
  pair.set(left, 0)
  pair.set(right, 32)
  return sha256d(pair)
}

/**
 * The branch for the coinbase (always leaf 0) given the other transactions' txids in block order.
 * `root = fold(coinbaseTxid, branch)`; no transactions → empty branch (root = coinbase txid).
 * Same walk as ckpool `wb_merkle_bin_txns` (research §3.3).
 */
export function merkleBranch(txidsInternal: readonly Uint8Array[]): Buffer[] {
  const branch: Buffer[] = []
  // level[0] stands for the (unknown) coinbase-side hash; only level[1..] are real.
  let level: Uint8Array[] = [Buffer.alloc(32), ...txidsInternal]
  while (level.length > 1) {
    branch.push(Buffer.from(level[1]!))
    if (level.length % 2 === 1) level.push(level[level.length - 1]!)
    const next: Uint8Array[] = [level[0]!]
    for (let i = 2; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!))
    level = next
  }
  return branch
}

/** Folds a coinbase txid up its branch; the coinbase side is always the left operand. */
export function merkleRootFromBranch(coinbaseTxid: Uint8Array, branch: readonly Uint8Array[]): Buffer {
  let h: Buffer = Buffer.from(coinbaseTxid)
  for (const b of branch) h = hashPair(h, b)
  return h
}

/** The full merkle root of leaves in order (odd levels duplicate their last hash, as Core does). */
export function merkleRoot(leavesInternal: readonly Uint8Array[]): Buffer {
  if (leavesInternal.length === 0) throw new RangeError('a merkle tree needs at least one leaf')
  let level: Uint8Array[] = [...leavesInternal]
  while (level.length > 1) {
    if (level.length % 2 === 1) level.push(level[level.length - 1]!)
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2) next.push(hashPair(level[i]!, level[i + 1]!))
    level = next
  }
  return Buffer.from(level[0]!)
}

/** BIP141 commitment header: OP_RETURN, push 36, 0xaa21a9ed. */
export const WITNESS_COMMITMENT_HEADER = Buffer.from('6a24aa21a9ed', 'hex')

/**
 * The witness-commitment output script for the non-coinbase wtxids (block order), with the coinbase
 * wtxid taken as zero and a 32-zero-byte witness reserved value (BIP141) — what GBT returns as
 * `default_witness_commitment`.
 */
export function witnessCommitmentScript(wtxidsInternal: readonly Uint8Array[]): Buffer {
  const witnessRoot = merkleRoot([Buffer.alloc(32), ...wtxidsInternal])
  const commitment = sha256d(Buffer.concat([witnessRoot, Buffer.alloc(32)]))
  return Buffer.concat([WITNESS_COMMITMENT_HEADER, commitment])
}
