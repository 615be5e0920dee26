import type { DeviceStatus } from '../devices/types'
import type { HistorySample } from './history/history-store'
import { type EntityRef, reasonKey } from './history/metrics'
import type { DeviceObservation, SharesObservation } from './rules/types'

/**
 * Glue from what the app already has (a driver's `DeviceStatus`, the pool's share counts) to what
 * health consumes (history samples, engine observations), so the poll loop stays two lines.
 */

/** Hottest of every board and chip sensor, or null. */
export function maxTempC(st: DeviceStatus): number | null {
  let max: number | null = null
  for (const b of st.boards) {
    for (const t of [b.boardTempC, b.chipTempC])
      if (t !== null && Number.isFinite(t) && (max === null || t > max)) max = t
  }
  return max
}

/** Slowest fan (a stopped fan reads 0 and is the one that matters), or null with no fans. */
export function slowestFanRpm(st: DeviceStatus): number | null {
  const fans = st.fansRpm.filter((r) => Number.isFinite(r))
  return fans.length ? Math.min(...fans) : null
}

/** History samples of one poll; `status` null means the device did not answer. */
export function deviceSamples(deviceId: string, status: DeviceStatus | null, tsMs: number): HistorySample[] {
  const entity: EntityRef = { kind: 'device', id: deviceId }
  const out: HistorySample[] = [{ entity, metric: 'reachable', value: status ? 1 : 0, tsMs }]
  if (!status) return out
  const add = (metric: string, v: number | null) => {
    if (v !== null && Number.isFinite(v)) out.push({ entity, metric, value: v, tsMs })
  }
  add('hashrate_reported_ths', status.hashrateThs)
  add('temp_max_c', maxTempC(status))
  add('fan_rpm', slowestFanRpm(status))
  add('power_w', status.powerW)
  return out
}

/** The engine's view of one poll. */
export function deviceObservation(
  deviceId: string,
  name: string | undefined,
  status: DeviceStatus | null,
  tsMs: number,
): DeviceObservation {
  if (!status) return { kind: 'device', tsMs, deviceId, name, reachable: false }
  return {
    kind: 'device',
    tsMs,
    deviceId,
    name,
    reachable: true,
    hashrateThs: status.hashrateThs,
    nameplateThs: status.expectedHashrateThs,
    maxTempC: maxTempC(status),
    acceptedTotal: status.accepted,
    pools: status.pools.map((p) => ({ url: p.url, user: p.user, active: p.active })),
  }
}

/** Shares the pool or proxy counted for one entity since the last flush (increments). */
export interface ShareTally {
  accepted: number
  /** Rejected (not stale) by the pool's reason text; keys are turned into reason keys. */
  rejectedByReason: Readonly<Record<string, number>>
  stale: number
  diffAccepted: number
  diffRejected: number
  diffStale: number
  /** Current difficulty at the end of the interval, if known. */
  difficulty?: number | null
  /** Hashrate derived from accepted difficulty over the interval. */
  shareHashrateThs?: number | null
}

/** History samples for a tally. Rejected shares are recorded per reason only, so sums never double-count. */
export function shareSamples(entity: EntityRef, t: ShareTally, tsMs: number): HistorySample[] {
  const out: HistorySample[] = []
  const add = (metric: string, v: number | null | undefined) => {
    if (v !== null && v !== undefined && Number.isFinite(v)) out.push({ entity, metric, value: v, tsMs })
  }
  add('shares_accepted', t.accepted)
  add('shares_stale', t.stale)
  add('diff_accepted', t.diffAccepted)
  add('diff_stale', t.diffStale)
  const byKey = new Map<string, number>()
  for (const [reason, n] of Object.entries(t.rejectedByReason))
    byKey.set(reasonKey(reason), (byKey.get(reasonKey(reason)) ?? 0) + n)
  for (const [key, n] of byKey) add(`shares_rejected:${key}`, n)
  if (t.diffRejected > 0) add('diff_rejected', t.diffRejected)
  add('difficulty', t.difficulty)
  add('hashrate_shares_ths', t.shareHashrateThs)
  return out
}

/** The engine's view of a device's tally. */
export function sharesObservation(deviceId: string, t: ShareTally, tsMs: number): SharesObservation {
  const rejected = Object.values(t.rejectedByReason).reduce((a, n) => a + n, 0)
  return { kind: 'shares', tsMs, deviceId, accepted: t.accepted, rejected, stale: t.stale }
}
