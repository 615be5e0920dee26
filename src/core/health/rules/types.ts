/**
 * Alert rules, the observations the engine consumes, and the events it emits (issue 7 §2).
 *
 * Every string that reaches an observation from a device or the network (names, pool URLs,
 * worker names, addresses) is untrusted text: messages built from it strip control characters
 * and cap its length, and channels send it as plain text (never HTML or Markdown that could ping).
 */

export type Severity = 'info' | 'warning' | 'critical'

/**
 * Which subjects a rule covers. `device` names a device id (or, for non-device rules, the id of
 * the upstream, proxy or node); `tag` covers the devices carrying it; `farm` covers everything.
 * Precedence per device and rule type: a device-scoped rule overrides tag-scoped ones, which
 * override farm-scoped ones — including disabled rules, so a disabled device-scoped rule mutes
 * that alert for one device.
 */
export type RuleScope = { kind: 'farm' } | { kind: 'device'; deviceId: string } | { kind: 'tag'; tag: string }

export interface RuleCommon {
  /** Stable id; defaults are `default-<type>`. */
  id: string
  enabled: boolean
  scope: RuleScope
  severity: Severity
  /** Channel ids to notify; null or absent: every enabled channel. The in-app centre always records. */
  channels?: string[] | null
}

export type RuleCondition =
  /** The device's latest poll failed, continuously for `forMs`. */
  | { type: 'device-offline'; forMs: number }
  /**
   * No accepted share (seen by the pool/proxy, or the device's own accepted counter rising) for
   * `forMs`, while the device is reachable. Measured from the latest of: the last accepted share,
   * the engine's start, the device's first observation, the device coming back online.
   */
  | { type: 'no-accepted-share'; forMs: number }
  /** Hashrate below `belowPct` % of the baseline, continuously for `forMs`. */
  | { type: 'hashrate-low'; belowPct: number; baseline: 'own-24h' | 'nameplate'; forMs: number }
  /** Hottest sensor above `aboveC`, continuously for `forMs`. */
  | { type: 'temp-high'; aboveC: number; forMs: number }
  /** Rejected (not stale) shares above `abovePct` % of all shares over the last `windowMs`, when ≥ `minShares`. */
  | { type: 'reject-rate-high'; abovePct: number; windowMs: number; minShares: number }
  /** Stale shares above `abovePct` % of all shares over the last `windowMs`, when ≥ `minShares`. */
  | { type: 'stale-rate-high'; abovePct: number; windowMs: number; minShares: number }
  /** The device's pools differ from what Hashyard assigned (changed on the device itself), for `forMs`. */
  | { type: 'pool-drift'; forMs: number }
  /** A proxy mines on another upstream than its preferred one, for `forMs`. */
  | { type: 'proxy-failover'; forMs: number }
  /** An upstream pool is down, for `forMs`. */
  | { type: 'upstream-down'; forMs: number }
  /** The bitcoin node does not answer, for `forMs`. */
  | { type: 'node-unreachable'; forMs: number }
  /** The pool's block template is older than `maxAgeMs`, for `forMs`. */
  | { type: 'template-stale'; maxAgeMs: number; forMs: number }
  /** A device discovery found that is not in the farm (once per address). */
  | { type: 'unknown-device' }
  /** The embedded pool found a block. Never rate-limited. */
  | { type: 'block-found' }

export type RuleType = RuleCondition['type']
export type AlertRule = RuleCommon & RuleCondition

export const DEVICE_RULE_TYPES = [
  'device-offline',
  'no-accepted-share',
  'hashrate-low',
  'temp-high',
  'reject-rate-high',
  'stale-rate-high',
  'pool-drift',
] as const satisfies readonly RuleType[]

/** A pool as a device reports it or as Hashyard assigned it (no password: never needed here). */
export interface PoolRef {
  url: string
  user: string
}

export interface DeviceObservation {
  kind: 'device'
  tsMs: number
  deviceId: string
  /** Display name (hostname or the owner's label). Untrusted. */
  name?: string
  reachable: boolean
  hashrateThs?: number | null
  /** The model's rated hashrate (DeviceStatus.expectedHashrateThs). */
  nameplateThs?: number | null
  maxTempC?: number | null
  /** The device's own running total of accepted shares; a rise counts as an accepted share. */
  acceptedTotal?: number | null
  /** Pools as the device reports them, in priority order; `active` marks the one in use. */
  pools?: ReadonlyArray<PoolRef & { active?: boolean }> | null
}

/** Shares the pool or proxy saw from a device since the previous observation (increments). */
export interface SharesObservation {
  kind: 'shares'
  tsMs: number
  deviceId: string
  name?: string
  accepted: number
  /** Rejected for any reason other than staleness. */
  rejected: number
  stale: number
}

export interface UpstreamObservation {
  kind: 'upstream'
  tsMs: number
  upstreamId: string
  name?: string
  up: boolean
}

export interface ProxyObservation {
  kind: 'proxy'
  tsMs: number
  proxyId: string
  name?: string
  /** Null when no upstream is connected. */
  activeUpstreamId: string | null
  preferredUpstreamId: string
}

export interface NodeObservation {
  kind: 'node'
  tsMs: number
  nodeId: string
  name?: string
  reachable: boolean
  /** Time since the pool last got a fresh block template from this node. */
  templateAgeMs?: number | null
}

export interface DiscoveryObservation {
  kind: 'discovery'
  tsMs: number
  /** IP address (or host) the scan found. */
  address: string
  /** True when the device is already in the farm (or the owner dismissed it). */
  known: boolean
  name?: string
  model?: string
}

export interface BlockObservation {
  kind: 'block'
  tsMs: number
  height: number
  hash: string
  deviceId?: string
  deviceName?: string
  worker?: string
  rewardSats?: number
}

export type Observation =
  | DeviceObservation
  | SharesObservation
  | UpstreamObservation
  | ProxyObservation
  | NodeObservation
  | DiscoveryObservation
  | BlockObservation

export type SubjectKind = 'device' | 'upstream' | 'proxy' | 'node' | 'address' | 'farm'

export interface AlertSubject {
  kind: SubjectKind
  id: string
  /** Cleaned display name (controls stripped, capped). */
  name: string
}

/**
 * `fired` and `recovered` bracket one incident (same `incidentId`); `event` is instant (block
 * found, new device); `closed` ends an incident silently because its rule was removed, disabled or
 * overridden, or its device forgotten — only the in-app centre shows it.
 */
export type AlertPhase = 'fired' | 'recovered' | 'event' | 'closed'

export type AlertData = Record<string, string | number | boolean | null>

export interface AlertEvent {
  incidentId: string
  phase: AlertPhase
  ruleId: string
  ruleType: RuleType
  severity: Severity
  subject: AlertSubject
  tsMs: number
  /** Short line for a notification title or e-mail subject. */
  title: string
  /** One or two sentences in plain words. */
  message: string
  data: AlertData
  channels: string[] | null
  /** For `recovered`/`closed`: when the incident fired. */
  firedAtMs?: number
  /**
   * Over the per-subject rate limit: record in the app, do not notify. A recovery is suppressed
   * exactly when its firing was, so nobody gets "back online" without "offline".
   */
  suppressed: boolean
}

/** An incident still open in the alert centre, handed back to a new engine at start-up. */
export interface OpenIncident {
  incidentId: string
  ruleId: string
  subject: { kind: SubjectKind; id: string }
  firedAtMs: number
}
