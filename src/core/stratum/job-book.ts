/**
 * The pool's recent jobs by id, the current tip, and the share hashes seen per job (duplicate
 * detection). Jobs are grouped in generations: each new job from the work source starts one, and
 * the per-payout variants and re-issues made from it belong to it. A generation stays submittable
 * for `jobMaxAgeMs` after it was superseded (as stale shares after a new block — and so a block
 * found on it is still reported); the current generation never expires, however long the node
 * keeps us on it. `maxJobs` is a hard cap on top.
 */
import type { Job } from '../pool/job'

export interface JobBookLimits {
  /** How long a superseded generation of jobs remains submittable. */
  jobMaxAgeMs: number
  /** Hard cap on remembered jobs. */
  maxJobs: number
}

interface Entry {
  job: Job
  gen: number
  shares: Set<string> | undefined
}

export class JobBook {
  /** Insertion order = generation order, so pruning only ever looks at the front. */
  private readonly entries = new Map<string, Entry>()
  private readonly retiredAtMs = new Map<number, number>()
  private gen = 0
  /** Display-order previous-block hash of the newest work; '' before any. */
  tipPrevHash = ''

  constructor(private readonly limits: JobBookLimits) {}

  get size(): number {
    return this.entries.size
  }

  /** A new job from the work source: it starts a generation and sets the tip. */
  addCurrent(job: Job, nowMs: number): void {
    if (this.entries.has(job.id)) return
    this.retiredAtMs.set(this.gen, nowMs)
    this.gen++
    this.tipPrevHash = job.prevHashHex
    this.add(job, nowMs)
  }

  /** A job derived from the current one (payout variant, re-issue); no-op for a known id. */
  add(job: Job, nowMs: number): void {
    if (this.entries.has(job.id)) return
    this.entries.set(job.id, { job, gen: this.gen, shares: undefined })
    for (const [id, e] of this.entries) {
      const retired = this.retiredAtMs.get(e.gen)
      const expired = e.gen !== this.gen && retired !== undefined && nowMs - retired > this.limits.jobMaxAgeMs
      if ((!expired && this.entries.size <= this.limits.maxJobs) || e.job === job) break
      this.entries.delete(id)
    }
    for (const g of this.retiredAtMs.keys()) {
      const first = this.entries.values().next().value
      if (first === undefined || g >= first.gen) break
      this.retiredAtMs.delete(g)
    }
  }

  get(id: string): Job | undefined {
    return this.entries.get(id)?.job
  }

  /** The job builds on a block that is no longer the tip. */
  isStale(job: Job): boolean {
    return this.tipPrevHash !== '' && job.prevHashHex !== this.tipPrevHash
  }

  hasShare(job: Job, hashKey: string): boolean {
    return this.entries.get(job.id)?.shares?.has(hashKey) === true
  }

  addShare(job: Job, hashKey: string): void {
    const e = this.entries.get(job.id)
    if (!e) return
    if (e.shares === undefined) e.shares = new Set()
    e.shares.add(hashKey)
  }
}
