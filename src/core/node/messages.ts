import { z } from 'zod'

/**
 * Shapes of the node RPC results we use, as Bitcoin Core documents them (`bitcoin-cli help <rpc>`).
 * Results are validated before anyone relies on them: a node (or something else on that port)
 * answering with another shape becomes NODE_BAD_RESPONSE, never a crash deeper in the pool.
 * Unknown extra fields (Knots and others add some) are dropped.
 */

const hex = z.string().regex(/^(?:[0-9a-fA-F]{2})*$/, 'expected hex bytes')
const hash256 = z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected a 32-byte hash in hex')
const uint = z.number().int().nonnegative()

export const templateTransactionSchema = z.object({
  /** Raw transaction, witness serialization when it has witnesses. */
  data: hex,
  /** Non-witness hash (display order): what the merkle root is built from. */
  txid: hash256,
  /** Witness hash (wtxid), display order. */
  hash: hash256,
  /** 1-based indexes of template transactions this one spends. */
  depends: z.array(uint).default([]),
  /** Fee in satoshis. */
  fee: z.number().int().optional(),
  sigops: uint.optional(),
  weight: uint.optional(),
})

export const blockTemplateSchema = z.object({
  version: z.number().int(),
  rules: z.array(z.string()).default([]),
  vbavailable: z.record(z.string(), z.number()).optional(),
  vbrequired: z.number().int().optional(),
  /** Display order (as block explorers show it). */
  previousblockhash: hash256,
  transactions: z.array(templateTransactionSchema),
  coinbaseaux: z.record(z.string(), z.string()).optional(),
  /** Subsidy plus all fees, in satoshis: the most the coinbase may pay. */
  coinbasevalue: z.number().int().nonnegative().refine(Number.isSafeInteger, 'coinbasevalue is not a safe integer'),
  longpollid: z.string().optional(),
  target: hash256,
  mintime: uint,
  mutable: z.array(z.string()).optional(),
  noncerange: z.string().optional(),
  sigoplimit: uint.optional(),
  sizelimit: uint.optional(),
  weightlimit: uint.optional(),
  curtime: uint,
  /** Compact target, 8 hex chars big-endian, e.g. "17034219". */
  bits: z.string().regex(/^[0-9a-fA-F]{8}$/, 'expected 8 hex chars'),
  height: uint,
  /** Full scriptPubKey of the witness commitment output (`6a24aa21a9ed…`), present once segwit is active. */
  default_witness_commitment: hex.optional(),
  signet_challenge: hex.optional(),
})

export type BlockTemplate = z.infer<typeof blockTemplateSchema>
export type TemplateTransaction = z.infer<typeof templateTransactionSchema>

export const blockchainInfoSchema = z.object({
  chain: z.string(),
  blocks: uint,
  headers: uint,
  bestblockhash: hash256,
  difficulty: z.number().optional(),
  mediantime: uint.optional(),
  verificationprogress: z.number().optional(),
  initialblockdownload: z.boolean().default(false),
  pruned: z.boolean().optional(),
})
export type BlockchainInfo = z.infer<typeof blockchainInfoSchema>

export const miningInfoSchema = z.object({
  blocks: uint,
  chain: z.string(),
  difficulty: z.number().optional(),
  networkhashps: z.number().optional(),
  pooledtx: uint.optional(),
})
export type MiningInfo = z.infer<typeof miningInfoSchema>

export const blockHeaderInfoSchema = z.object({
  hash: hash256,
  /** -1 when the block is known but not on the active chain (stale / orphaned). */
  confirmations: z.number().int(),
  height: uint,
  version: z.number().int(),
  merkleroot: hash256,
  time: uint,
  nonce: uint,
  bits: z.string(),
  previousblockhash: hash256.optional(),
  nextblockhash: hash256.optional(),
})
export type BlockHeaderInfo = z.infer<typeof blockHeaderInfoSchema>

export const bestBlockHashSchema = hash256

/**
 * What submitblock's answer means. Bitcoin Core returns null when the block became (part of) the
 * active chain, "duplicate" when it already had it (a retry after a lost reply), "inconclusive"
 * when it stored the block without connecting it (e.g. another block at that height came first),
 * and otherwise a BIP22 reject reason.
 */
export type SubmitOutcome =
  | { status: 'accepted' }
  | { status: 'duplicate' }
  | { status: 'inconclusive'; message: string }
  | { status: 'rejected'; reason: string; message: string }

const REJECT_EXPLANATIONS: Record<string, string> = {
  'high-hash': 'the block hash is above the target (not enough proof of work)',
  'bad-txnmrklroot': 'the merkle root in the header does not match the transactions',
  'bad-txns-duplicate': 'the transaction list is mutated (a duplicated transaction)',
  'bad-cb-height': 'the coinbase does not start with the block height (BIP34)',
  'bad-cb-length': 'the coinbase scriptSig is shorter than 2 or longer than 100 bytes',
  'bad-cb-amount': 'the coinbase pays out more than the subsidy plus fees',
  'bad-cb-missing': 'the first transaction is not a coinbase',
  'bad-cb-multiple': 'the block has more than one coinbase',
  'bad-witness-nonce-size': 'the coinbase witness reserved value is not a single 32-byte item',
  'bad-witness-merkle-match': 'the witness commitment does not match the transactions',
  'unexpected-witness': 'the block carries witness data but no witness commitment',
  'bad-diffbits': 'the header has the wrong difficulty bits for this height',
  'time-too-old': "the header time is not after the median of the last 11 blocks' times",
  'time-too-new': 'the header time is more than 2 hours in the future',
  'prev-blk-not-found': 'the node does not know the previous block',
  'bad-prevblk': 'the previous block is invalid',
  'duplicate-invalid': 'the node already knows this block and found it invalid',
  'bad-blk-weight': 'the block is over the weight limit',
  'bad-blk-length': 'the block is over the size limit',
}

export function explainRejectReason(reason: string): string {
  const known = REJECT_EXPLANATIONS[reason]
  if (known !== undefined) return `The node rejected the block: ${known} (${reason}).`
  if (reason.startsWith('bad-version')) return `The node rejected the block: its version is obsolete (${reason}).`
  if (reason.startsWith('bad-txns')) return `The node rejected the block: a transaction in it is invalid (${reason}).`
  return `The node rejected the block: ${reason}.`
}

/** Pure interpretation of submitblock's JSON result; `undefined` means the shape was unexpected. */
export function interpretSubmitResult(result: unknown): SubmitOutcome | undefined {
  if (result === null) return { status: 'accepted' }
  if (typeof result !== 'string') return undefined
  if (result === 'duplicate') return { status: 'duplicate' }
  if (result === 'inconclusive') {
    return {
      status: 'inconclusive',
      message:
        'The node stored the block but has not made it the tip (another block at this height may have come first); check it with getblockheader.',
    }
  }
  return { status: 'rejected', reason: result, message: explainRejectReason(result) }
}
