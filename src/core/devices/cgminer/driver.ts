/**
 * The generic cgminer driver: any daemon that speaks the cgminer API on 4028. Reads
 * `summary+pools+stats` in one round trip; writes pools with cgminer's own commands when the
 * host has privileged access (`--api-allow W:`), which stock firmware usually denies
 * (research §3.4) — `capabilities.setPools` says which case this device is in.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { deviceErr, deviceError } from '../device-error'
import { newNotes } from '../field-map'
import { parsePoolUrl } from '../pool-url'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type {
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DeviceStatus,
  DriverCapabilities,
  DriverOptions,
  MinerDriver,
  PoolStatus,
  PoolTarget,
} from '../types'
import { hasControlChars } from '../untrusted-text'
import { type CgminerTarget, cgminerCommand, cgminerMulti } from './client'
import { joinParams } from './codec'
import { readBmminerStats, readPools, readSummary, readVersion, sumPools } from './normalise'

export function rpcTarget(endpoint: DeviceEndpoint): CgminerTarget {
  return endpoint.rpcPort === undefined ? { host: endpoint.host } : { host: endpoint.host, port: endpoint.rpcPort }
}

/** Validates pools before any write: URL shape and the firmware's pool count. */
export function validatePools(pools: readonly PoolTarget[], maxPools: number): Result<void, AppError> {
  if (pools.length === 0) return deviceErr('INVALID_POOL', 'At least one pool is required')
  if (pools.length > maxPools) return deviceErr('INVALID_POOL', `This firmware holds at most ${maxPools} pools`)
  for (const [i, p] of pools.entries()) {
    const u = parsePoolUrl(p.url)
    if (!u.ok) return err({ ...u.error, message: `Pool ${i + 1}: ${u.error.message}` })
    if (p.user.trim() === '') return deviceErr('INVALID_POOL', `Pool ${i + 1}: the user (worker) is empty`)
    if (hasControlChars(p.user + p.password))
      return deviceErr('INVALID_POOL', `Pool ${i + 1}: user or password contains control characters`)
  }
  return ok(undefined)
}

/** Reads `version` and probes `privileged`; the identity has no MAC or hostname on plain cgminer. */
export async function detectCgminer(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity & { privileged: boolean }>> {
  const target = rpcTarget(endpoint)
  const version = await cgminerCommand(target, { command: 'version' }, { timeoutMs: opts.timeoutMs })
  if (!version.ok) return version
  const notes = newNotes()
  const v = readVersion(version.value, notes)
  const priv = await cgminerCommand(target, { command: 'privileged' }, { timeoutMs: opts.timeoutMs })
  return ok({
    vendor: 'cgminer',
    endpoint,
    model: v.model,
    firmware: v.firmware ?? v.daemon,
    mac: null,
    hostname: null,
    serial: null,
    privileged: priv.ok,
  })
}

/** Builds a status from the three report commands; a refused part becomes a warning, not a failure. */
export async function readCgminerStatus(
  target: CgminerTarget,
  timeoutMs: number | undefined,
): Promise<DeviceResult<DeviceStatus>> {
  const multi = await cgminerMulti(target, ['summary', 'pools', 'stats'], { timeoutMs })
  if (!multi.ok) return multi
  const parts = multi.value
  const status = emptyStatus(Date.now())
  const notes = newNotes()
  const summary = parts.summary
  const pools = parts.pools
  const stats = parts.stats
  if (!summary?.ok && !pools?.ok)
    return err(summary && !summary.ok ? summary.error : deviceError('BAD_REPLY', 'No summary'))
  if (summary?.ok) {
    const s = readSummary(summary.value, notes)
    status.hashrates = s.hashrates
    status.uptimeS = s.uptimeS
    status.accepted = s.accepted
    status.rejected = s.rejected
    status.powerW = s.powerW
  } else if (summary) notes.warnings.push(`summary: ${summary.error.message}`)
  if (pools?.ok) status.pools = readPools(pools.value, notes)
  else if (pools) notes.warnings.push(`pools: ${pools.error.message}`)
  if (stats?.ok) {
    const st = readBmminerStats(stats.value, notes)
    status.boards = st.boards
    status.fansRpm = st.fansRpm
    status.expectedHashrateThs = st.expectedThs
    status.uptimeS ??= st.uptimeS
  } else if (stats) notes.warnings.push(`stats: ${stats.error.message}`)
  status.hashrates = normaliseReadings(status.hashrates)
  status.hashrateThs = currentThs(status.hashrates)
  status.accepted ??= sumPools(status.pools, 'accepted')
  status.rejected ??= sumPools(status.pools, 'rejected')
  status.warnings = notes.warnings
  return ok(status)
}

/**
 * cgminer pool replacement with its own commands: add the new pools, give them the top
 * priorities in order, then remove the old ones. `removepool` renumbers (the last pool moves
 * into the hole, cgminer.c:remove_pool), so the slot bookkeeping mirrors that rule and the pool
 * list is re-read after every removal to confirm it. A pool cgminer refuses to remove because it
 * is still the active one (E 67) is disabled instead.
 */
export async function replacePoolsViaCgminer(
  target: CgminerTarget,
  pools: readonly PoolTarget[],
  timeoutMs: number | undefined,
): Promise<DeviceResult<void>> {
  const call = (command: string, parameter?: string) =>
    cgminerCommand(target, parameter === undefined ? { command } : { command, parameter }, { timeoutMs })
  const before = await call('pools')
  if (!before.ok) return before
  const notes = newNotes()
  const slots: ('old' | 'new')[] = readPools(before.value, notes).map(() => 'old')
  const newIndexes: number[] = []
  for (const p of pools) {
    const added = await call('addpool', joinParams([p.url, p.user, p.password]))
    if (!added.ok) return added
    slots.push('new')
    newIndexes.push(slots.length - 1)
  }
  const prio = await call('poolpriority', newIndexes.join(','))
  if (!prio.ok) return prio
  for (;;) {
    const n = slots.indexOf('old')
    if (n < 0) break
    const removed = await call('removepool', String(n))
    if (!removed.ok) {
      const code = (removed.error.details as { code?: unknown } | undefined)?.code
      if (code !== 67) return removed
      const disabled = await call('disablepool', String(n))
      if (!disabled.ok) return disabled
      slots[n] = 'new' // kept but disabled; it is no longer a pool to remove
      continue
    }
    const last = slots.pop()
    if (last !== undefined && n < slots.length) slots[n] = last
    const check = await call('pools')
    if (!check.ok) return check
    if (readPools(check.value, notes).length !== slots.length)
      return deviceErr('VERIFY_FAILED', 'Pool list changed unexpectedly while removing old pools')
  }
  const saved = await call('save')
  if (!saved.ok) return err({ ...saved.error, message: `Pools applied but not saved: ${saved.error.message}` })
  return ok(undefined)
}

export function createCgminerDriver(
  identity: DeviceIdentity,
  privileged: boolean,
  opts: DriverOptions = {},
): MinerDriver {
  const target = rpcTarget(identity.endpoint)
  const capabilities: DriverCapabilities = {
    setPools: privileged,
    maxPools: 3,
    reboot: privileged,
    locate: 'none',
    afterPoolWrite: 'none',
  }
  return {
    identity,
    capabilities,
    read: () => readCgminerStatus(target, opts.timeoutMs),
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      if (!privileged)
        return deviceErr('ACCESS_DENIED', 'This miner only allows read commands from this host (api-allow)')
      return replacePoolsViaCgminer(target, pools, opts.timeoutMs)
    },
    async reboot() {
      const r = await cgminerCommand(target, { command: 'restart' }, { timeoutMs: opts.timeoutMs })
      return r.ok ? ok(undefined) : r
    },
    locate: async () => deviceErr('NOT_SUPPORTED', 'cgminer has no locate command'),
  }
}

/** The active pool of a status, if any. */
export function activePool(pools: readonly PoolStatus[]): PoolStatus | undefined {
  return pools.find((p) => p.active)
}
