/**
 * Stratum jobs from `getblocktemplate` (research §3): coinbase split, merkle branch, header fields,
 * and the `mining.notify` line serialized once per job so the server never re-serializes per client.
 */
import { randomInt } from 'node:crypto'
import { fromDisplayHex } from '../bitcoin/hash'
import { u32ToBeHex } from '../bitcoin/serialize'
import { nbitsToTarget, targetToBytesLE, targetToDifficulty } from '../bitcoin/target'
import { buildCoinbase, CoinbaseError, DEFAULT_EXTRANONCE1_BYTES } from './coinbase'
import { merkleBranch } from './merkle'

/** A template transaction as GBT returns it (hex strings; `txid`/`hash` in display order). */
export interface TemplateTransaction {
  /** Raw transaction, witness serialization when it has witnesses. */
  readonly data: string
  /** Non-witness hash, display order: what the merkle tree is built from. */
  readonly txid: string
  /** wtxid, display order. */
  readonly hash?: string
}

/**
 * The `getblocktemplate` fields a job needs. Structurally a subset of the validated RPC result
 * (`src/core/node/messages.ts` `BlockTemplate`), so that type can be passed as is.
 */
export interface BlockTemplate {
  readonly version: number
  /** Display order. */
  readonly previousblockhash: string
  readonly transactions: readonly TemplateTransaction[]
  /** Satoshis: subsidy plus fees. */
  readonly coinbasevalue: number
  /** Compact target, 8 hex chars big-endian. */
  readonly bits: string
  readonly curtime: number
  readonly height: number
  /** Full witness-commitment scriptPubKey hex (`6a24aa21a9ed…`). */
  readonly default_witness_commitment?: string
  /** Network target, 64 hex chars big-endian. */
  readonly target: string
  readonly mintime?: number
  readonly longpollid?: string
}

/** `mining.notify` params: [job_id, prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime, clean_jobs]. */
export type NotifyParams = readonly [string, string, string, string, readonly string[], string, string, string, boolean]

export interface Job {
  readonly id: string
  readonly height: number
  /** Header nVersion the job announces: the template version with the rolling-mask bits cleared. */
  readonly version: number
  /** The version-rolling mask the job was built for (0 = none). */
  readonly versionRollingMask: number
  readonly nbits: number
  /** nTime the job announces (seconds). */
  readonly ntime: number
  /** Earliest valid nTime (GBT `mintime`, median time past + 1); `ntime` when the template has none. */
  readonly mintime: number
  /** Previous block hash, internal byte order (header bytes 4..36). */
  readonly prevHash: Buffer
  /** Previous block hash, display order (as RPC shows it). */
  readonly prevHashHex: string
  /** Stratum form of the previous hash: internal order with each 4-byte word byte-reversed (§0). */
  readonly prevHashStratum: string
  /** Non-witness coinbase before the extranonces. */
  readonly coinb1: Buffer
  /** Non-witness coinbase after the extranonces. */
  readonly coinb2: Buffer
  readonly extranonce1Size: number
  readonly extranonce2Size: number
  /** Coinbase branch, internal byte order. */
  readonly merkleBranch: readonly Buffer[]
  /** Network target from nBits. */
  readonly networkTarget: bigint
  /** `networkTarget` as 32 little-endian bytes, for the allocation-free block check. */
  readonly networkTargetLE: Buffer
  readonly networkDifficulty: number
  /** The coinbase carries a witness commitment: the block must use its witness serialization. */
  readonly segwit: boolean
  /** Satoshis the coinbase pays out in total. */
  readonly coinbaseValueSats: number
  /** The template's transactions (shared with the template, not copied) for block assembly. */
  readonly transactions: readonly TemplateTransaction[]
  readonly longpollid?: string
  /**
   * Scratch buffer `coinb1 ‖ en1 ‖ en2 ‖ coinb2` reused by `computeShare` (synchronous, so never
   * shared between two shares in flight). Not for other callers.
   */
  readonly coinbaseScratch: Buffer
  /** Precomputed notify params; the same frozen array on every call. */
  notifyParams(cleanJobs: boolean): NotifyParams
  /** The whole `mining.notify` line, newline included, ready to write to any socket. */
  notifyLine(cleanJobs: boolean): string
}

export type JobBuildErrorCode = 'BAD_TEMPLATE' | 'BAD_OPTIONS'

/**
 * Thrown by the job builders. Templates reach us validated by the RPC layer, so this means a node
 * bug or a pool misconfiguration; the pool reports it and keeps the previous job.
 */
export class JobBuildError extends Error {
  constructor(
    readonly code: JobBuildErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'JobBuildError'
  }
}

export interface BuildJobOptions {
  payoutScript: Uint8Array
  coinbaseTag: string
  /** 1..8; Stratum miners commonly expect 4 (cgminer refuses < 2). */
  extranonce2Size: number
  jobId: string
  /** BIP320 mask negotiated with miners (e.g. 0x1fffe000); its bits are cleared from the job version. */
  versionRollingMask?: number
  /** Defaults to 4. */
  extranonce1Size?: number
  /** Bytes pushed into the scriptSig before the tag. */
  coinbaseExtra?: Uint8Array
  /** nTime to announce; defaults to max(template.curtime, template.mintime). */
  ntime?: number
}

export interface JobParts {
  coinb1: Uint8Array
  coinb2: Uint8Array
  extranonce1Size: number
  extranonce2Size: number
  /** The coinbase has a witness commitment (so the block needs the witness reserved value). */
  segwit: boolean
  /**
   * The coinbase's merkle branch (internal order) when it is known but the transactions are not,
   * e.g. work relayed from an upstream pool. Default: computed from `template.transactions`.
   * Such a job cannot assemble a full block unless `template.transactions` matches the branch.
   */
  merkleBranch?: readonly Uint8Array[]
}

export interface BuildJobFromPartsOptions {
  jobId: string
  versionRollingMask?: number
  ntime?: number
}

const HASH_HEX = /^[0-9a-fA-F]{64}$/
const HEX = /^(?:[0-9a-fA-F]{2})*$/

/** Display-order hash hex → Stratum prevhash: the display hash's 8 words in reverse order (§0). */
export function prevHashToStratum(displayHex: string): string {
  let out = ''
  for (let i = 56; i >= 0; i -= 8) out += displayHex.slice(i, i + 8)
  return out.toLowerCase()
}

/** Stratum prevhash → internal-order bytes for the header: byte-reverse each 4-byte word (§0). */
export function prevHashFromStratum(stratumHex: string): Buffer | null {
  if (!HASH_HEX.test(stratumHex)) return null
  const b = Buffer.from(stratumHex, 'hex')
  for (let i = 0; i < 32; i += 4) b.subarray(i, i + 4).reverse()
  return b
}

/** Builds a job whose coinbase pays the template's `coinbasevalue` to `payoutScript`. */
export function buildJob(template: BlockTemplate, opts: BuildJobOptions): Job {
  let commitment: Buffer | undefined
  if (template.default_witness_commitment !== undefined) {
    if (!HEX.test(template.default_witness_commitment) || template.default_witness_commitment.length === 0) {
      throw new JobBuildError('BAD_TEMPLATE', 'default_witness_commitment is not hex')
    }
    commitment = Buffer.from(template.default_witness_commitment, 'hex')
  }
  if (opts.payoutScript.length === 0) throw new JobBuildError('BAD_OPTIONS', 'payout script is empty')
  try {
    const cb = buildCoinbase({
      height: template.height,
      payoutScript: opts.payoutScript,
      valueSats: template.coinbasevalue,
      ...(commitment ? { witnessCommitmentScript: commitment } : {}),
      coinbaseTag: opts.coinbaseTag,
      ...(opts.coinbaseExtra ? { extra: opts.coinbaseExtra } : {}),
      extranonce1Size: opts.extranonce1Size ?? DEFAULT_EXTRANONCE1_BYTES,
      extranonce2Size: opts.extranonce2Size,
    })
    return buildJobFromParts(
      template,
      {
        coinb1: cb.coinb1,
        coinb2: cb.coinb2,
        extranonce1Size: opts.extranonce1Size ?? DEFAULT_EXTRANONCE1_BYTES,
        extranonce2Size: opts.extranonce2Size,
        segwit: cb.segwit,
      },
      {
        jobId: opts.jobId,
        ...(opts.versionRollingMask !== undefined ? { versionRollingMask: opts.versionRollingMask } : {}),
        ...(opts.ntime !== undefined ? { ntime: opts.ntime } : {}),
      },
    )
  } catch (e) {
    if (e instanceof CoinbaseError) {
      const fromTemplate = e.code === 'BAD_HEIGHT' || e.code === 'BAD_VALUE'
      throw new JobBuildError(fromTemplate ? 'BAD_TEMPLATE' : 'BAD_OPTIONS', e.message)
    }
    throw e
  }
}

/**
 * Builds a job around an already split coinbase (a replayed real block, or a proxy's upstream
 * work). `coinb1 ‖ en1 ‖ en2 ‖ coinb2` must be the coinbase's non-witness serialization.
 */
export function buildJobFromParts(template: BlockTemplate, parts: JobParts, opts: BuildJobFromPartsOptions): Job {
  if (!HASH_HEX.test(template.previousblockhash)) {
    throw new JobBuildError('BAD_TEMPLATE', 'previousblockhash is not a 32-byte hex hash')
  }
  if (!/^[0-9a-fA-F]{8}$/.test(template.bits)) throw new JobBuildError('BAD_TEMPLATE', 'bits is not 8 hex characters')
  if (!Number.isInteger(template.version)) throw new JobBuildError('BAD_TEMPLATE', 'version is not an integer')
  if (!Number.isInteger(template.curtime) || template.curtime < 0 || template.curtime > 0xffffffff) {
    throw new JobBuildError('BAD_TEMPLATE', 'curtime is not a uint32')
  }
  if (!/^\w{1,16}$/.test(opts.jobId)) {
    // Stock Antminer firmware drops notifies with long job ids (research §7.7).
    throw new JobBuildError('BAD_OPTIONS', 'job id must be 1..16 word characters')
  }
  const mask = (opts.versionRollingMask ?? 0) >>> 0
  for (const size of [parts.extranonce1Size, parts.extranonce2Size]) {
    if (!Number.isInteger(size) || size < 1 || size > 8)
      throw new JobBuildError('BAD_OPTIONS', 'extranonce sizes must be 1..8')
  }
  const nbits = Number.parseInt(template.bits, 16) >>> 0
  let networkTarget: bigint
  try {
    networkTarget = nbitsToTarget(nbits)
  } catch (e) {
    throw new JobBuildError('BAD_TEMPLATE', (e as Error).message)
  }
  if (networkTarget === 0n) throw new JobBuildError('BAD_TEMPLATE', 'bits expand to a zero target')
  if (HASH_HEX.test(template.target) && BigInt(`0x${template.target}`) !== networkTarget) {
    throw new JobBuildError('BAD_TEMPLATE', `target ${template.target} does not match bits ${template.bits}`)
  }
  let branch: Buffer[]
  if (parts.merkleBranch) {
    if (parts.merkleBranch.some((b) => b.length !== 32))
      throw new JobBuildError('BAD_OPTIONS', 'merkle branch entries must be 32 bytes')
    branch = parts.merkleBranch.map((b) => Buffer.from(b))
  } else {
    const txids: Buffer[] = []
    for (const tx of template.transactions) {
      if (!HASH_HEX.test(tx.txid))
        throw new JobBuildError('BAD_TEMPLATE', `transaction txid "${tx.txid}" is not a hash`)
      txids.push(fromDisplayHex(tx.txid))
    }
    branch = merkleBranch(txids)
  }
  const coinb1 = Buffer.from(parts.coinb1)
  const coinb2 = Buffer.from(parts.coinb2)
  const version = (template.version & ~mask) >>> 0
  const mintime = template.mintime ?? template.curtime
  const ntime = (opts.ntime ?? Math.max(template.curtime, mintime)) >>> 0
  const prevHashHex = template.previousblockhash.toLowerCase()
  const prevHashStratum = prevHashToStratum(prevHashHex)
  const coinbaseScratch = Buffer.alloc(coinb1.length + parts.extranonce1Size + parts.extranonce2Size + coinb2.length)
  coinb1.copy(coinbaseScratch, 0)
  coinb2.copy(coinbaseScratch, coinbaseScratch.length - coinb2.length)

  const base = [
    opts.jobId,
    prevHashStratum,
    coinb1.toString('hex'),
    coinb2.toString('hex'),
    Object.freeze(branch.map((b) => b.toString('hex'))),
    u32ToBeHex(version),
    u32ToBeHex(nbits),
    u32ToBeHex(ntime),
  ] as const
  const notifyClean: NotifyParams = Object.freeze([...base, true] as const)
  const notifyDirty: NotifyParams = Object.freeze([...base, false] as const)
  const lineOf = (params: NotifyParams): string => `${JSON.stringify({ id: null, method: 'mining.notify', params })}\n`
  const lineClean = lineOf(notifyClean)
  const lineDirty = lineOf(notifyDirty)

  return {
    id: opts.jobId,
    height: template.height,
    version,
    versionRollingMask: mask,
    nbits,
    ntime,
    mintime,
    prevHash: fromDisplayHex(prevHashHex),
    prevHashHex,
    prevHashStratum,
    coinb1,
    coinb2,
    extranonce1Size: parts.extranonce1Size,
    extranonce2Size: parts.extranonce2Size,
    merkleBranch: branch,
    networkTarget,
    networkTargetLE: targetToBytesLE(networkTarget),
    networkDifficulty: targetToDifficulty(networkTarget),
    segwit: parts.segwit,
    coinbaseValueSats: template.coinbasevalue,
    transactions: template.transactions,
    ...(template.longpollid !== undefined ? { longpollid: template.longpollid } : {}),
    coinbaseScratch,
    notifyParams: (clean) => (clean ? notifyClean : notifyDirty),
    notifyLine: (clean) => (clean ? lineClean : lineDirty),
  }
}

/**
 * Short hex job ids, never repeated within a process. Starts at a random offset so a restarted pool
 * does not re-announce ids a still-connected miner has seen (ESP-Miner ignores a notify whose id is
 * among its last 16, research §1.2).
 */
export class JobIdAllocator {
  private next: number

  constructor(start: number = randomInt(0, 2 ** 32)) {
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError('start must be a non-negative safe integer')
    this.next = start
  }

  allocate(): string {
    const id = this.next.toString(16)
    this.next += 1
    return id
  }
}
