/**
 * Turns a real serialized block into what a pool would have had when it was mined: a GBT-shaped
 * template, the real coinbase split into coinb1 / extranonce1 / extranonce2 / coinb2, and the real
 * header fields. Replaying those through `buildJobFromParts` + `computeShare` + `assembleBlock`
 * must give back the block's exact hash and bytes. Test support only: throws on bad input.
 */

import { parseBlock } from '../../bitcoin/block'
import { toDisplayHex } from '../../bitcoin/hash'
import { decodeBip34Height } from '../../bitcoin/script'
import { varintSize } from '../../bitcoin/serialize'
import { nbitsToTarget } from '../../bitcoin/target'
import type { BlockTemplate, JobParts } from '../job'
import { WITNESS_COMMITMENT_HEADER } from '../merkle'

export interface ReplayParts extends JobParts {
  coinb1: Buffer
  coinb2: Buffer
  /** The real bytes the miner's extranonce1 / extranonce2 stood for. */
  extranonce1: Buffer
  extranonce2: Buffer
}

export interface ReplayBlock {
  template: BlockTemplate
  parts: ReplayParts
  /** The real header fields (version is the full header nVersion). */
  version: number
  ntime: number
  nonce: number
  nbits: number
  height: number
  /** Real block hash, internal order and display hex. */
  blockHash: Buffer
  blockHashHex: string
  /** The original block bytes. */
  blockBytes: Buffer
}

export interface TemplateFromBlockOptions {
  /** Default 4. */
  extranonce1Size?: number
  /** Default 4. */
  extranonce2Size?: number
}

/**
 * The real coinbase's scriptSig ends with arbitrary bytes; we declare its last
 * `extranonce1Size + extranonce2Size` bytes to be the extranonces (miners only ever concatenate,
 * so any split of the real bytes reproduces the real coinbase).
 */
export function templateFromBlock(blockHex: string, opts: TemplateFromBlockOptions = {}): ReplayBlock {
  const en1Size = opts.extranonce1Size ?? 4
  const en2Size = opts.extranonce2Size ?? 4
  const blockBytes = Buffer.from(blockHex.trim(), 'hex')
  const parsed = parseBlock(blockBytes)
  if (!parsed.ok) throw new Error(`not a block: ${parsed.error.message}`)
  const { header, transactions } = parsed.value
  const coinbase = transactions[0]!
  const input = coinbase.inputs[0]
  if (coinbase.inputs.length !== 1 || !input || input.prevIndex !== 0xffffffff || input.prevTxid.some((b) => b !== 0)) {
    throw new Error('first transaction is not a coinbase')
  }
  const scriptSig = input.scriptSig
  if (scriptSig.length < en1Size + en2Size) throw new Error('coinbase scriptSig is shorter than the extranonces')
  const height = decodeBip34Height(scriptSig)
  if (height === null) throw new Error('coinbase scriptSig does not start with a BIP34 height')

  // Offsets inside the non-witness serialization: version, vin count, prevout, scriptSig length, scriptSig.
  const stripped = coinbase.stripped
  const scriptSigEnd = 4 + varintSize(1) + 36 + varintSize(scriptSig.length) + scriptSig.length
  const en1At = scriptSigEnd - en1Size - en2Size
  const coinb1 = Buffer.from(stripped.subarray(0, en1At))
  const extranonce1 = Buffer.from(stripped.subarray(en1At, en1At + en1Size))
  const extranonce2 = Buffer.from(stripped.subarray(en1At + en1Size, scriptSigEnd))
  const coinb2 = Buffer.from(stripped.subarray(scriptSigEnd))

  // BIP141: the commitment is the highest-index output starting with the commitment header.
  let commitment: Buffer | undefined
  for (const out of coinbase.outputs) {
    if (out.script.length >= 38 && out.script.subarray(0, 6).equals(WITNESS_COMMITMENT_HEADER)) commitment = out.script
  }
  const valueSats = coinbase.outputs.reduce((sum, o) => sum + o.value, 0n)

  const template: BlockTemplate = {
    version: header.version,
    previousblockhash: toDisplayHex(header.prevHash),
    transactions: transactions.slice(1).map((tx) => ({
      data: tx.raw.toString('hex'),
      txid: toDisplayHex(tx.txid),
      hash: toDisplayHex(tx.wtxid),
    })),
    coinbasevalue: Number(valueSats),
    bits: header.bits.toString(16).padStart(8, '0'),
    curtime: header.time,
    mintime: header.time,
    height,
    target: nbitsToTarget(header.bits).toString(16).padStart(64, '0'),
    ...(commitment ? { default_witness_commitment: commitment.toString('hex') } : {}),
  }
  return {
    template,
    parts: {
      coinb1,
      coinb2,
      extranonce1,
      extranonce2,
      extranonce1Size: en1Size,
      extranonce2Size: en2Size,
      segwit: coinbase.hasWitness,
    },
    version: header.version,
    ntime: header.time,
    nonce: header.nonce,
    nbits: header.bits,
    height,
    blockHash: parsed.value.hash,
    blockHashHex: toDisplayHex(parsed.value.hash),
    blockBytes,
  }
}
