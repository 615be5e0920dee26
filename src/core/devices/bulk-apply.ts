/**
 * Batch pool changes following the write-safety protocol (research §7): read, change only the
 * pools, write once (never retried on a timeout: the physical outcome is unknown), restart only
 * where the firmware needs it, read back, and report per device. On a failed change the old
 * pools are kept (the device refused) or restored from a snapshot where the firmware exposes
 * passwords; where neither is possible the report says so instead of guessing.
 */
import type { AppError } from '../../shared/errors'
import type { Logger } from '../logger'
import { reasonOf } from './device-error'
import { formatPoolUrl, parsePoolUrl } from './pool-url'
import type { MinerDriver, PoolStatus, PoolTarget } from './types'
import { sanitizeForLog } from './untrusted-text'

export interface BulkTarget {
  /** The device key in the store (MAC, serial, hostname or IP). */
  key: string
  driver: MinerDriver
  pools: PoolTarget[]
}

export interface BulkOptions {
  /** Devices changed at once. Default 5. */
  batchSize?: number
  /** Pause between batches, so a farm's power draw and pool connections ramp gently. Default 0. */
  pauseMs?: number
  /** Read-back attempts after the write (and restart). Default 6. */
  verifyAttempts?: number
  /** Delay between read-back attempts; devices restart in a few seconds. Default 5000 ms. */
  verifyDelayMs?: number
  logger?: Logger
  onOutcome?: (o: BulkOutcome) => void
}

export type BulkStage = 'read' | 'write' | 'restart' | 'verify'

/** What became of the device's previous pools when the change failed. */
export type PreviousPools = 'kept' | 'restored' | 'restore-failed' | 'unknown'

export type BulkOutcome =
  | { key: string; status: 'applied'; before: PoolStatus[]; after: PoolStatus[]; restarted: boolean }
  | {
      key: string
      status: 'failed'
      stage: BulkStage
      error: AppError
      previous: PreviousPools
      before: PoolStatus[] | null
    }

/** Scheme, lower-case host and port, so `Pool.Example:3333` and `stratum+tcp://pool.example:3333` compare equal. */
export function canonicalUrl(url: string): string {
  const u = parsePoolUrl(url)
  return u.ok ? formatPoolUrl({ ...u.value, host: u.value.host.toLowerCase() }) : url.trim().toLowerCase()
}

/** True when the device's pools, in priority order, start with the wanted ones. */
export function poolsMatch(read: readonly PoolStatus[], wanted: readonly { url: string; user: string }[]): boolean {
  const ordered = [...read].sort((a, b) => (a.priority ?? a.index) - (b.priority ?? b.index))
  return wanted.every((w, i) => {
    const r = ordered[i]
    return r !== undefined && canonicalUrl(r.url) === canonicalUrl(w.url) && r.user === w.user
  })
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

async function readPools(driver: MinerDriver) {
  const r = await driver.read()
  return r.ok ? { ok: true as const, pools: r.value.pools } : { ok: false as const, error: r.error }
}

async function verify(driver: MinerDriver, wanted: readonly PoolTarget[], attempts: number, delayMs: number) {
  let last: PoolStatus[] | null = null
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(delayMs)
    const r = await readPools(driver)
    if (r.ok) {
      last = r.pools
      if (poolsMatch(r.pools, wanted)) return { ok: true as const, pools: r.pools }
    }
  }
  return { ok: false as const, pools: last }
}

async function applyOne(t: BulkTarget, o: Required<Omit<BulkOptions, 'logger' | 'onOutcome'>>): Promise<BulkOutcome> {
  const d = t.driver
  const failed = (
    stage: BulkStage,
    error: AppError,
    previous: PreviousPools,
    before: PoolStatus[] | null,
  ): BulkOutcome => ({
    key: t.key,
    status: 'failed',
    stage,
    error,
    previous,
    before,
  })
  const before = await readPools(d)
  if (!before.ok) return failed('read', before.error, 'kept', null)
  const snapshot = d.snapshotPools ? await d.snapshotPools() : undefined

  const restore = async (): Promise<PreviousPools> => {
    if (!snapshot?.ok || snapshot.value.length === 0) return 'unknown'
    const w = await d.setPools(snapshot.value)
    if (!w.ok) return 'restore-failed'
    if (d.capabilities.afterPoolWrite === 'restart') await d.reboot()
    const back = await verify(d, snapshot.value, o.verifyAttempts, o.verifyDelayMs)
    return back.ok ? 'restored' : 'restore-failed'
  }

  const written = await d.setPools(t.pools)
  if (!written.ok) {
    // A timeout after a write is an unknown result, not permission to retry or to restore blindly.
    if (reasonOf(written.error) === 'TIMEOUT') return failed('write', written.error, 'unknown', before.pools)
    const now = await readPools(d)
    if (now.ok && poolsMatch(now.pools, before.pools)) return failed('write', written.error, 'kept', before.pools)
    return failed('write', written.error, await restore(), before.pools)
  }
  let restarted = false
  if (d.capabilities.afterPoolWrite === 'restart') {
    const r = await d.reboot()
    if (!r.ok) return failed('restart', r.error, await restore(), before.pools)
    restarted = true
  }
  let check = await verify(d, t.pools, o.verifyAttempts, o.verifyDelayMs)
  if (!check.ok && d.capabilities.afterPoolWrite === 'verify-then-reboot' && d.capabilities.reboot) {
    const r = await d.reboot()
    if (r.ok) {
      restarted = true
      check = await verify(d, t.pools, o.verifyAttempts, o.verifyDelayMs)
    }
  }
  if (!check.ok) {
    const error: AppError = {
      code: 'CONFLICT',
      message: 'The device did not show the new pools after the change',
      details: { reason: 'VERIFY_FAILED' },
    }
    return failed('verify', error, await restore(), before.pools)
  }
  return { key: t.key, status: 'applied', before: before.pools, after: check.pools, restarted }
}

/** Applies pool changes batch by batch; resolves with one outcome per target, in target order. */
export async function applyPoolsInBatches(
  targets: readonly BulkTarget[],
  opts: BulkOptions = {},
): Promise<BulkOutcome[]> {
  const o = {
    batchSize: Math.max(1, opts.batchSize ?? 5),
    pauseMs: opts.pauseMs ?? 0,
    verifyAttempts: Math.max(1, opts.verifyAttempts ?? 6),
    verifyDelayMs: opts.verifyDelayMs ?? 5000,
  }
  const out: BulkOutcome[] = []
  for (let i = 0; i < targets.length; i += o.batchSize) {
    if (i > 0 && o.pauseMs > 0) await sleep(o.pauseMs)
    const batch = targets.slice(i, i + o.batchSize)
    const results = await Promise.all(
      batch.map(async (t) => {
        const r = await applyOne(t, o)
        opts.logger?.info('pool change', {
          device: sanitizeForLog(t.key),
          status: r.status,
          ...(r.status === 'failed'
            ? { stage: r.stage, previous: r.previous, error: sanitizeForLog(r.error.message, 200) }
            : {}),
        })
        opts.onOutcome?.(r)
        return r
      }),
    )
    out.push(...results)
  }
  return out
}
