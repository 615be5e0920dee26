/**
 * The pool's recent jobs by id (oldest first), the current tip, and the share hashes seen per job
 * for duplicate detection. Bounded by age and count; a job's share set goes with the job.
 */
import type { Job } from '../pool/job'

export interface JobBookLimits {
  /** Jobs stay submittable (as stale after a new block) for this long. */
  jobMaxAgeMs: number
  /** Hard cap on remembered jobs. */
  maxJobs: number
}

interface Entry {
  job: Job
  addedMs: number
  shares: Set<string> | undefined
}

export class JobBook {
  private readonly entries = new Map<string, Entry>()
  /** Display-order previous-block hash of the newest work; '' before any. */
  tipPrevHash = ''

  constructor(private readonly limits: JobBookLimits) {}

  get size(): number {
    return this.entries.size
  }

  /** Remembers a job (no-op for a known id) and forgets the oldest beyond the limits. */
  add(job: Job, nowMs: number): void {
    if (this.entries.has(job.id)) return
    this.entries.set(job.id, { job, addedMs: nowMs, shares: undefined })
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.limits.maxJobs && nowMs - e.addedMs <= this.limits.jobMaxAgeMs) break
      if (e.job === job) break
      this.entries.delete(id)
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
