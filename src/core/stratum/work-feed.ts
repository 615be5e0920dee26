/**
 * Where the stratum server gets its work. `WorkSource` is the server's dependency; `WorkFeed` is
 * the standard implementation: hand it each `getblocktemplate` result and it builds the job (once),
 * tells the server, builds per-payout variants on demand (miners paid to their own address) and
 * re-issues the current work under a fresh id when a connection's difficulty changes.
 */
import type { BlockTemplate, Job, NotifyParams } from '../pool/job'
import { buildJob, JobIdAllocator } from '../pool/job'
import { encodeNotify } from './messages'

export interface WorkSource {
  /** The newest job paying the pool's address; undefined before the first template. */
  current(): Job | undefined
  /**
   * Called with every new job. `clean` = miners must drop older work (a new block). Returns an
   * unsubscribe function.
   */
  onJob(listener: (job: Job, clean: boolean) => void): () => void
  /**
   * The same work paying `payoutScript` instead ('miner' payout mode). Must return the same Job
   * object for the same script until the next new job, with an id never used before. Undefined
   * when the job is no longer current or variants are not supported.
   */
  jobForPayout?(job: Job, payoutScript: Uint8Array): Job | undefined
  /** The same work under a fresh, never-used job id (to apply a new difficulty at once). */
  reissue?(job: Job): Job | undefined
}

export interface WorkFeedOptions {
  payoutScript: Uint8Array
  coinbaseTag: string
  /** Must equal the server's `extranonce2Size`. Default 4. */
  extranonce2Size?: number
  /** Must equal the server's `versionRollingMask`. Default 0x1fffe000. */
  versionRollingMask?: number
  jobIds?: JobIdAllocator
  /** Per-payout variants kept for the current template. Default 1024. */
  maxPayoutVariants?: number
}

export class WorkFeed implements WorkSource {
  private opts: Required<Omit<WorkFeedOptions, 'jobIds'>>
  private readonly ids: JobIdAllocator
  private readonly listeners = new Set<(job: Job, clean: boolean) => void>()
  private template: BlockTemplate | undefined
  private job: Job | undefined
  private variants = new Map<string, Job>()

  constructor(opts: WorkFeedOptions) {
    this.opts = {
      payoutScript: opts.payoutScript,
      coinbaseTag: opts.coinbaseTag,
      extranonce2Size: opts.extranonce2Size ?? 4,
      versionRollingMask: opts.versionRollingMask ?? 0x1fffe000,
      maxPayoutVariants: opts.maxPayoutVariants ?? 1024,
    }
    this.ids = opts.jobIds ?? new JobIdAllocator()
  }

  /** Changes payout / tag for the next `publish` (call `publish(template, {clean: true})` to apply now). */
  setOptions(partial: Partial<Pick<WorkFeedOptions, 'payoutScript' | 'coinbaseTag'>>): void {
    this.opts = { ...this.opts, ...partial }
  }

  /** The template the current job was built from. */
  currentTemplate(): BlockTemplate | undefined {
    return this.template
  }

  /**
   * Builds the job for a template and announces it. `clean` defaults to "the previous block
   * changed". Throws `JobBuildError` for a template or option the job builder refuses; the previous
   * job then stays current.
   */
  publish(template: BlockTemplate, opts: { clean?: boolean } = {}): Job {
    const job = buildJob(template, {
      payoutScript: this.opts.payoutScript,
      coinbaseTag: this.opts.coinbaseTag,
      extranonce2Size: this.opts.extranonce2Size,
      versionRollingMask: this.opts.versionRollingMask,
      jobId: this.ids.allocate(),
    })
    const clean = opts.clean ?? this.job?.prevHashHex !== job.prevHashHex
    this.template = template
    this.job = job
    this.variants = new Map()
    for (const l of this.listeners) l(job, clean)
    return job
  }

  current(): Job | undefined {
    return this.job
  }

  onJob(listener: (job: Job, clean: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  jobForPayout(job: Job, payoutScript: Uint8Array): Job | undefined {
    if (job !== this.job || this.template === undefined) return undefined
    const key = Buffer.from(payoutScript).toString('hex')
    if (key === Buffer.from(this.opts.payoutScript).toString('hex')) return job
    const hit = this.variants.get(key)
    if (hit) return hit
    if (this.variants.size >= this.opts.maxPayoutVariants) return undefined
    const variant = buildJob(this.template, {
      payoutScript,
      coinbaseTag: this.opts.coinbaseTag,
      extranonce2Size: this.opts.extranonce2Size,
      versionRollingMask: this.opts.versionRollingMask,
      jobId: this.ids.allocate(),
    })
    this.variants.set(key, variant)
    return variant
  }

  reissue(job: Job): Job {
    return withJobId(job, this.ids.allocate())
  }
}

/**
 * The same job under another id: shares every buffer (coinbase halves, branch, transactions),
 * only the notify params/lines are rebuilt. `coinbaseScratch` stays shared, which is safe because
 * `computeShare` is synchronous.
 */
export function withJobId(job: Job, id: string): Job {
  const rest = job.notifyParams(true).slice(1)
  const clean = Object.freeze([id, ...rest]) as unknown as NotifyParams
  const dirty = Object.freeze([id, ...rest.slice(0, -1), false]) as unknown as NotifyParams
  // Encoded on first use: a re-issue usually only ever goes out once, as a clean job.
  let lineClean: string | undefined
  let lineDirty: string | undefined
  return {
    ...job,
    id,
    notifyParams: (c: boolean) => (c ? clean : dirty),
    notifyLine: (c: boolean) => {
      if (c) {
        lineClean ??= encodeNotify(clean)
        return lineClean
      }
      lineDirty ??= encodeNotify(dirty)
      return lineDirty
    },
  }
}
