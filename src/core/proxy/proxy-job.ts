/**
 * Upstream work as the proxy keeps it: the pool's `mining.notify`, re-issued under a short local
 * job id (upstream ids may be long, and two upstream sessions may both use id "1" — a miner moved
 * between them would ignore the second, ESP-Miner remembers its last 16 ids, research §1.2), plus a
 * `Job` for local share hashing and the upstream target in force when the work arrived.
 *
 * The notify line is encoded once per job and written to every miner of the session: the only
 * per-miner difference is the extranonce1, which the notify never carries.
 */
import { difficultyToTarget, targetToBytesLE } from '../bitcoin/target'
import { buildJobFromParts, type Job, prevHashToStratum } from '../pool/job'
import { encodeNotify, hex32 } from '../stratum/messages'
import type { UpstreamNotify } from './upstream-messages'

/** Shared by a job and its re-issues (same work, other local id). */
export interface UpstreamWork {
  upstreamJobId: string
  notify: UpstreamNotify
  /** For computeShare: coinb1 ‖ the part of every miner's extranonce1 that is the same (see `jobExtranonce1`). */
  job: Job
  /** Difficulty the pool had set when this work arrived (it judges shares on it at that difficulty). */
  upstreamDifficulty: number
  upstreamTargetLE: Buffer
  /** The session's generation when the work arrived; older than the session's = stale. */
  generation: number
  receivedMs: number
  /** Share hashes seen (duplicate check), across re-issues. */
  shares: Set<string>
}

export interface ProxyJob {
  localId: string
  work: UpstreamWork
  notifyLine(clean: boolean): string
}

/**
 * `computeShare` wants an extranonce1 of 1..8 bytes, but a miner's is `en1_up ‖ prefix` (up to 16).
 * The leading bytes that all miners of the session share are folded into coinb1, leaving the last
 * `min(8, length)` bytes — which always contain the whole prefix (≤ 8 bytes) — as the job's extranonce1.
 */
export function jobExtranonce1Size(downstreamEn1Length: number): number {
  return Math.min(8, downstreamEn1Length)
}

export interface WorkContext {
  upstreamExtranonce1: Buffer
  prefixBytes: number
  downstreamEn2Size: number
  upstreamDifficulty: number
  generation: number
  nowMs: number
}

export type BuildWorkResult = { ok: true; value: UpstreamWork } | { ok: false; message: string }

export function buildUpstreamWork(n: UpstreamNotify, ctx: WorkContext): BuildWorkResult {
  const en1Len = ctx.upstreamExtranonce1.length + ctx.prefixBytes
  if (en1Len === 0) return { ok: false, message: 'the pool gave an empty extranonce1 and there is no prefix' }
  const k = jobExtranonce1Size(en1Len)
  const folded = ctx.upstreamExtranonce1.subarray(0, en1Len - k)
  try {
    const job = buildJobFromParts(
      {
        version: n.version,
        // The stratum prevhash is the display hash with its 8 words in reverse order; reversing the
        // word order again gives back the display form (research §0).
        previousblockhash: prevHashToStratum(n.prevhash),
        transactions: [],
        coinbasevalue: 0,
        bits: hex32(n.nbits),
        curtime: n.ntime,
        height: 0,
        target: '',
      },
      {
        coinb1: Buffer.concat([Buffer.from(n.coinb1, 'hex'), folded]),
        coinb2: Buffer.from(n.coinb2, 'hex'),
        extranonce1Size: k,
        extranonce2Size: ctx.downstreamEn2Size,
        segwit: false,
        merkleBranch: n.branch.map((b) => Buffer.from(b, 'hex')),
      },
      { jobId: 'p' },
    )
    return {
      ok: true,
      value: {
        upstreamJobId: n.jobId,
        notify: n,
        job,
        upstreamDifficulty: ctx.upstreamDifficulty,
        upstreamTargetLE: targetToBytesLE(difficultyToTarget(ctx.upstreamDifficulty)),
        generation: ctx.generation,
        receivedMs: ctx.nowMs,
        shares: new Set(),
      },
    }
  } catch (e) {
    return { ok: false, message: `unusable work from the pool: ${(e as Error).message}` }
  }
}

/** The notify miners get: the pool's fields verbatim, only the job id is ours. */
export function proxyJob(localId: string, work: UpstreamWork): ProxyJob {
  const n = work.notify
  const base = [localId, n.prevhash, n.coinb1, n.coinb2, n.branch, hex32(n.version), hex32(n.nbits), hex32(n.ntime)]
  const clean = encodeNotify([...base, true])
  const dirty = encodeNotify([...base, false])
  return { localId, work, notifyLine: (c) => (c ? clean : dirty) }
}
