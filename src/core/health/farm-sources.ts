import type { PoolConnection, PoolStatus } from '../../shared/contract/pool'
import type { ProxyDevice, ProxyStatus } from '../../shared/contract/proxy'
import type { DeviceRepo } from '../devices/repo'
import type { HistorySample } from './history/history-store'
import type { EntityRef } from './history/metrics'
import { type ShareTally, shareSamples } from './ingest'
import type { FarmSnapshot, PoolMetrics, UpstreamMetrics } from './metrics/farm-metrics'
import type { Observation } from './rules/types'
import type { ConnectionCounters } from './share-tally'

/**
 * What health reads from the local pool and the proxy. Both are polled (every `sharesEveryMs`)
 * rather than subscribed to: their counters are exact where their share feeds are capped per
 * second, and polling keeps health out of their hot paths.
 */
export interface FarmSources {
  pool(): { status: PoolStatus; connections: PoolConnection[] } | undefined
  proxy(): { status: ProxyStatus; devices: ProxyDevice[] } | undefined
}

/** The embedded pool's entity id in history and `/metrics` (there is one pool per Hashyard). */
export const POOL_ENTITY_ID = 'pool'

const unmap = (addr: string) => addr.replace(/^::ffff:/i, '')

/** Every live miner connection of the pool and the proxy, matched to device records. */
export function connectionCounters(
  pool: ReturnType<FarmSources['pool']>,
  proxy: ReturnType<FarmSources['proxy']>,
  repo: DeviceRepo | undefined,
): ConnectionCounters[] {
  const out: ConnectionCounters[] = []
  for (const c of pool?.connections ?? []) {
    out.push({
      key: `pool:${c.id}`,
      deviceId: repo?.findByIp(unmap(c.remoteAddress))?.id ?? null,
      connectedAtMs: c.connectedAtMs,
      accepted: c.accepted,
      rejectedByReason: c.rejectedByReason,
      stale: c.stale,
      diffAccepted: c.diffAccepted,
      difficulty: c.difficulty,
      hashrateHs: c.hashrateHs.h1m,
      bestShareDifficulty: c.bestShareDifficulty,
    })
  }
  for (const d of proxy?.devices ?? []) {
    out.push({
      key: `proxy:${d.id}`,
      deviceId: d.deviceRecordId ?? repo?.findByIp(unmap(d.remoteAddress))?.id ?? null,
      connectedAtMs: d.connectedAtMs,
      accepted: d.accepted,
      rejectedByReason: d.rejectedByReason,
      stale: d.stale,
      diffAccepted: d.diffAccepted,
      difficulty: d.difficulty,
      hashrateHs: d.hashrateHs.h1m,
      bestShareDifficulty: d.bestShareDifficulty,
    })
  }
  return out
}

/** Running totals → increments, per entity (pool, upstreams), for history. */
export class EntityCounters {
  readonly #prev = new Map<string, number>()

  /** The increment of `key` since the last call (the first call only sets the baseline). */
  delta(key: string, total: number): number {
    const p = this.#prev.get(key)
    this.#prev.set(key, total)
    if (p === undefined) return 0
    return total < p ? total : total - p
  }
}

/** History samples and observations for the pool and its node. */
export function poolReadings(
  st: PoolStatus,
  counters: EntityCounters,
  rejectedByReason: Readonly<Record<string, number>>,
  tsMs: number,
): { samples: HistorySample[]; observations: Observation[] } {
  const observations: Observation[] = []
  if (!st.running) return { samples: [], observations }
  const entity: EntityRef = { kind: 'pool', id: POOL_ENTITY_ID }
  const tally: ShareTally = {
    accepted: counters.delta('pool.accepted', st.shares.accepted),
    rejectedByReason,
    stale: counters.delta('pool.stale', st.shares.stale),
    diffAccepted: counters.delta('pool.diffAccepted', st.shares.diffAccepted),
    diffRejected: 0,
    diffStale: 0,
    difficulty: st.job?.networkDifficulty ?? null,
    shareHashrateThs: st.hashrateHs.h1m / 1e12,
  }
  const samples = shareSamples(entity, tally, tsMs)
  // The node: only states that say something about reachability count; starting/stopped are no data.
  const down = ['unreachable', 'auth', 'error', 'wrong-network'].includes(st.node.state)
  if (st.node.state === 'connected' || down) {
    observations.push({
      kind: 'node',
      tsMs,
      nodeId: 'node',
      name: 'the bitcoin node',
      reachable: !down,
      templateAgeMs: st.node.templateAgeS === null ? null : st.node.templateAgeS * 1000,
    })
  }
  if (st.lastBlock) {
    observations.push({
      kind: 'block',
      tsMs: st.lastBlock.foundAtMs,
      height: st.lastBlock.height,
      hash: st.lastBlock.hashHex,
    })
  }
  return { samples, observations }
}

/** History samples and observations for the proxy's upstream pools and routes. */
export function proxyReadings(
  st: ProxyStatus,
  counters: EntityCounters,
  tsMs: number,
): { samples: HistorySample[]; observations: Observation[] } {
  const samples: HistorySample[] = []
  const observations: Observation[] = []
  if (!st.running) return { samples, observations }
  for (const p of st.pools) {
    const id = String(p.id)
    const k = (what: string) => `upstream.${id}.${what}`
    const rejected: Record<string, number> = {}
    for (const [kind, n] of Object.entries(p.rejectedByKind)) {
      const inc = counters.delta(k(`rejected.${kind}`), n)
      if (inc > 0) rejected[kind] = inc
    }
    const tally: ShareTally = {
      accepted: counters.delta(k('accepted'), p.accepted),
      rejectedByReason: rejected,
      stale: counters.delta(k('stale'), p.stale),
      diffAccepted: counters.delta(k('diffAccepted'), p.diffAccepted),
      diffRejected: 0,
      diffStale: 0,
      difficulty: p.difficulty,
      shareHashrateThs: p.hashrateHs.h1m / 1e12,
    }
    samples.push(...shareSamples({ kind: 'upstream', id }, tally, tsMs))
    samples.push({ entity: { kind: 'upstream', id }, metric: 'reachable', value: p.health === 'up' ? 1 : 0, tsMs })
    if (p.health !== 'unknown') {
      observations.push({ kind: 'upstream', tsMs, upstreamId: id, name: p.name, up: p.health === 'up' })
    }
  }
  for (const r of st.routes) {
    for (const [i, g] of r.goals.entries()) {
      const preferred = g.pools[0]
      if (preferred === undefined) continue
      const nameOf = (pid: number | null) =>
        pid === null ? null : (st.pools.find((p) => p.id === pid)?.name ?? String(pid))
      observations.push({
        kind: 'proxy',
        tsMs,
        proxyId: r.goals.length > 1 ? `route-${r.id}-${i + 1}` : `route-${r.id}`,
        name: r.goals.length > 1 ? `${r.name} (goal ${i + 1})` : r.name,
        activeUpstreamId: nameOf(g.activePoolId),
        preferredUpstreamId: nameOf(preferred) ?? String(preferred),
      })
    }
  }
  return { samples, observations }
}

/** The pool and upstream parts of the `/metrics` snapshot. */
export function poolAndUpstreamMetrics(
  pool: ReturnType<FarmSources['pool']>,
  proxy: ReturnType<FarmSources['proxy']>,
): Pick<FarmSnapshot, 'pools' | 'upstreams'> {
  const pools: PoolMetrics[] = []
  if (pool?.status.running) {
    const st = pool.status
    const rejected: Record<string, number> = {}
    for (const c of pool.connections)
      for (const [reason, n] of Object.entries(c.rejectedByReason)) rejected[reason] = (rejected[reason] ?? 0) + n
    pools.push({
      id: POOL_ENTITY_ID,
      name: 'Hashyard pool',
      hashrateThs: st.hashrateHs.h1m / 1e12,
      workers: st.miners.workers,
      sharesAccepted: st.shares.accepted,
      sharesRejected: rejected,
      sharesStale: st.shares.stale,
      difficultyAccepted: st.shares.diffAccepted,
      blocksFound: st.blocksFound,
      bestShareDifficulty: st.shares.bestShareDifficulty,
      networkDifficulty: st.job?.networkDifficulty ?? null,
      blockHeight: st.job?.height ?? null,
    })
  }
  const upstreams: UpstreamMetrics[] = []
  if (proxy?.status.running) {
    const active = new Set<number>()
    for (const r of proxy.status.routes)
      for (const g of r.goals) if (g.activePoolId !== null) active.add(g.activePoolId)
    for (const p of proxy.status.pools) {
      upstreams.push({
        id: String(p.id),
        name: p.name,
        up: p.health === 'up',
        active: active.has(p.id),
        sharesAccepted: p.accepted,
        sharesRejected: p.rejected,
      })
    }
  }
  return { pools, upstreams }
}
