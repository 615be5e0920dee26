/**
 * `devices.assignPools`: per-device worker names (preview) and the batched write that follows the
 * write-safety protocol (bulk-apply.ts). Pool passwords pass through to the drivers only: they are
 * never in a preview, an outcome, the action log or a log line.
 */
import type { z } from 'zod'
import type { AssignOutcome, AssignPreviewRow } from '../../shared/contract/devices'
import { type AppError, appError, err, ok, type Result } from '../../shared/errors'
import { applyPoolsInBatches, type BulkOptions, type BulkOutcome, type BulkTarget } from './bulk-apply'
import { parsePoolUrl } from './pool-url'
import type { DeviceRecord } from './repo'
import type { MinerDriver, PoolTarget, Vendor } from './types'
import { hasControlChars } from './untrusted-text'
import {
  BRAIINS_POOL_RULES,
  GENERIC_RULES,
  type PreviewDevice,
  previewWorkerNames,
  type WorkerRules,
} from './worker-names'

export type PreviewRow = z.infer<typeof AssignPreviewRow>
export type Outcome = z.infer<typeof AssignOutcome>

export interface AssignRequest {
  pools: { url: string; password: string }[]
  account: string
  workerTemplate: string
}

/** Braiins Pool is strict about worker characters; other pools get the generic rules. */
export function rulesFor(poolUrls: readonly string[]): WorkerRules {
  const braiins = poolUrls.some((u) => {
    const p = parsePoolUrl(u)
    return p.ok && /(^|\.)braiins\.com$/i.test(p.value.host)
  })
  return braiins ? BRAIINS_POOL_RULES : GENERIC_RULES
}

export function writableReason(rec: DeviceRecord): string | null {
  if (rec.ip === null) return 'The device has no known address; scan to find it again'
  if (rec.vendor === null) return 'The device was not identified yet; scan its address'
  if (!rec.capabilities) return 'The device was not identified yet; scan its address'
  if (!rec.capabilities.setPools) return 'This firmware does not let Hashyard change its pools (read-only API)'
  return null
}

/** Checks the pool URLs once, before any device is looked at. */
export function validateRequest(req: AssignRequest): Result<void, AppError> {
  for (const [i, p] of req.pools.entries()) {
    const u = parsePoolUrl(p.url)
    if (!u.ok) return err(appError('INVALID_PARAMS', `Pool ${i + 1}: ${u.error.message}`))
  }
  if (/\s/.test(req.account) || hasControlChars(req.account))
    return err(appError('INVALID_PARAMS', 'The account must not contain spaces or control characters'))
  return ok(undefined)
}

export function previewAssign(devices: readonly DeviceRecord[], req: AssignRequest): Result<PreviewRow[], AppError> {
  const rows: PreviewDevice[] = devices.map((d) => ({
    key: d.id,
    ip: d.ip,
    mac: d.mac,
    hostname: d.hostname,
    serial: d.serial,
    model: d.model,
    site: d.location.site,
    rack: d.location.rack,
    row: d.location.row,
    slot: d.location.slot,
    ...(d.vendor ? { vendor: d.vendor as Vendor } : {}),
  }))
  const preview = previewWorkerNames(rows, req.workerTemplate, req.account, rulesFor(req.pools.map((p) => p.url)))
  if (!preview.ok) return preview
  return ok(
    preview.value.map((r, i) => {
      const rec = devices[i]
      const why = rec ? writableReason(rec) : 'Unknown device'
      return {
        id: r.key,
        worker: r.worker,
        user: r.user,
        problems: why ? [...r.problems, why] : r.problems,
        duplicate: r.duplicate,
        writable: why === null,
      }
    }),
  )
}

export interface ApplyDeps {
  driverOf(rec: DeviceRecord): Promise<Result<MinerDriver, AppError>>
  onStart?(id: string): void
  onOutcome?(id: string, o: Outcome, bulk: BulkOutcome | null): void
}

/** Writes every device whose preview row has no problems; the rest are reported as skipped. */
export async function applyAssign(
  devices: readonly DeviceRecord[],
  preview: readonly PreviewRow[],
  req: AssignRequest,
  deps: ApplyDeps,
  opts: Omit<BulkOptions, 'onOutcome'>,
): Promise<Outcome[]> {
  const outcomes = new Map<string, Outcome>()
  const targets: BulkTarget[] = []
  for (const [i, row] of preview.entries()) {
    const rec = devices[i]
    if (!rec) continue
    const skip = (message: string) => {
      const o: Outcome = {
        id: rec.id,
        status: 'skipped',
        stage: 'validate',
        previous: 'kept',
        restarted: false,
        message,
        user: row.user,
      }
      outcomes.set(rec.id, o)
      deps.onOutcome?.(rec.id, o, null)
    }
    if (row.problems.length > 0 || row.user === null) {
      skip(row.problems.join('; ') || 'No worker name')
      continue
    }
    const driver = await deps.driverOf(rec)
    if (!driver.ok) {
      skip(driver.error.message)
      continue
    }
    const max = driver.value.capabilities.maxPools
    const user = row.user
    const pools: PoolTarget[] = req.pools.slice(0, max).map((p) => ({ url: p.url, user, password: p.password }))
    targets.push({ key: rec.id, driver: driver.value, pools })
    deps.onStart?.(rec.id)
  }
  const userOf = new Map(preview.map((r) => [r.id, r.user]))
  await applyPoolsInBatches(targets, {
    ...opts,
    onOutcome: (b) => {
      const o: Outcome =
        b.status === 'applied'
          ? {
              id: b.key,
              status: 'applied',
              stage: null,
              previous: null,
              restarted: b.restarted,
              message: null,
              user: userOf.get(b.key) ?? null,
            }
          : {
              id: b.key,
              status: 'failed',
              stage: b.stage,
              previous: b.previous,
              restarted: false,
              message: b.error.message,
              user: userOf.get(b.key) ?? null,
            }
      outcomes.set(b.key, o)
      deps.onOutcome?.(b.key, o, b)
    },
  })
  return devices.flatMap((d) => {
    const o = outcomes.get(d.id)
    return o ? [o] : []
  })
}
