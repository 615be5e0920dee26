import type { AlertRule } from './types'

const MIN = 60_000
const farm = { kind: 'farm' } as const

/**
 * The rules a new install starts with: all on, farm-wide, every channel. Thresholds follow what
 * owners ask for (research products.md §2 item 1: offline, no shares for ten minutes, hashrate
 * halved, overheating, pool fallback, block found). 85 °C is a chip-sensor limit that suits
 * Antminer hashboards; Bitaxe owners will want a tag-scoped rule near 70 °C.
 */
export const DEFAULT_RULES: readonly AlertRule[] = [
  {
    id: 'default-device-offline',
    type: 'device-offline',
    forMs: 5 * MIN,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  {
    id: 'default-no-accepted-share',
    type: 'no-accepted-share',
    forMs: 10 * MIN,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  {
    id: 'default-hashrate-low',
    type: 'hashrate-low',
    belowPct: 50,
    baseline: 'own-24h',
    forMs: 15 * MIN,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  {
    id: 'default-temp-high',
    type: 'temp-high',
    aboveC: 85,
    forMs: 10 * MIN,
    enabled: true,
    scope: farm,
    severity: 'critical',
  },
  {
    id: 'default-reject-rate-high',
    type: 'reject-rate-high',
    abovePct: 5,
    windowMs: 30 * MIN,
    minShares: 20,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  {
    id: 'default-stale-rate-high',
    type: 'stale-rate-high',
    abovePct: 5,
    windowMs: 30 * MIN,
    minShares: 20,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  { id: 'default-pool-drift', type: 'pool-drift', forMs: 1 * MIN, enabled: true, scope: farm, severity: 'critical' },
  {
    id: 'default-proxy-failover',
    type: 'proxy-failover',
    forMs: 1 * MIN,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  {
    id: 'default-upstream-down',
    type: 'upstream-down',
    forMs: 2 * MIN,
    enabled: true,
    scope: farm,
    severity: 'warning',
  },
  {
    id: 'default-node-unreachable',
    type: 'node-unreachable',
    forMs: 2 * MIN,
    enabled: true,
    scope: farm,
    severity: 'critical',
  },
  {
    id: 'default-template-stale',
    type: 'template-stale',
    maxAgeMs: 5 * MIN,
    forMs: 0,
    enabled: true,
    scope: farm,
    severity: 'critical',
  },
  { id: 'default-unknown-device', type: 'unknown-device', enabled: true, scope: farm, severity: 'info' },
  { id: 'default-block-found', type: 'block-found', enabled: true, scope: farm, severity: 'info' },
]
