import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'

/**
 * What history is kept for. An entity is a device, a pool (the embedded solo pool) or an upstream
 * (a pool the proxy forwards to), keyed by the string id the rest of the app uses for it.
 */
export type EntityKind = 'device' | 'pool' | 'upstream'

export interface EntityRef {
  kind: EntityKind
  id: string
}

/**
 * `gauge`: a reading (hashrate, temperature); a bucket's natural value is its average.
 * `counter`: an increment since the previous sample (shares, difficulty accepted); a bucket's
 * natural value is its sum. Counters are ingested as deltas, never as running totals, so a device
 * restart (its totals reset to 0) cannot produce a negative or a spike.
 */
export type MetricKind = 'gauge' | 'counter'

export interface MetricInfo {
  kind: MetricKind
  unit: string
  help: string
  /** Counters that may carry a reason suffix: `shares_rejected:low-difficulty`. */
  reasons?: true
}

export const METRICS = {
  hashrate_reported_ths: { kind: 'gauge', unit: 'TH/s', help: 'Hashrate the device reports (its shortest window)' },
  hashrate_shares_ths: { kind: 'gauge', unit: 'TH/s', help: 'Hashrate derived from accepted share difficulty' },
  temp_max_c: { kind: 'gauge', unit: '°C', help: 'Hottest temperature sensor' },
  fan_rpm: { kind: 'gauge', unit: 'RPM', help: 'Slowest fan (a failing fan is the one that matters)' },
  power_w: { kind: 'gauge', unit: 'W', help: 'Power draw' },
  difficulty: { kind: 'gauge', unit: '', help: 'Current share difficulty' },
  reachable: { kind: 'gauge', unit: '0/1', help: '1 when the device answered its poll' },
  shares_accepted: { kind: 'counter', unit: 'shares', help: 'Accepted shares' },
  shares_rejected: { kind: 'counter', unit: 'shares', help: 'Rejected shares (not stale), by reason', reasons: true },
  shares_stale: { kind: 'counter', unit: 'shares', help: 'Stale shares' },
  diff_accepted: { kind: 'counter', unit: 'difficulty', help: 'Sum of difficulty of accepted shares' },
  diff_rejected: { kind: 'counter', unit: 'difficulty', help: 'Sum of difficulty of rejected shares', reasons: true },
  diff_stale: { kind: 'counter', unit: 'difficulty', help: 'Sum of difficulty of stale shares' },
  // The device's own accepted/rejected counters (any pool, Hashyard's or not), kept apart from the
  // shares Hashyard's pool and proxy saw so a device mining on Hashyard is never counted twice.
  reported_accepted: { kind: 'counter', unit: 'shares', help: 'Accepted shares as the device itself reports them' },
  reported_rejected: { kind: 'counter', unit: 'shares', help: 'Rejected shares as the device itself reports them' },
} as const satisfies Record<string, MetricInfo>

export type MetricBase = keyof typeof METRICS

export interface ParsedMetric {
  base: MetricBase
  reason?: string
  info: MetricInfo
}

const REASON = /^[a-z0-9][a-z0-9_.-]{0,47}$/
export const ENTITY_ID_MAX = 200

/** Parses `shares_rejected` or `shares_rejected:duplicate`. Unknown names are an error value. */
export function parseMetric(name: string): Result<ParsedMetric, AppError> {
  const colon = name.indexOf(':')
  const base = colon < 0 ? name : name.slice(0, colon)
  if (!Object.hasOwn(METRICS, base)) return err(appError('INVALID_PARAMS', `unknown metric "${base.slice(0, 60)}"`))
  const info: MetricInfo = METRICS[base as MetricBase]
  if (colon < 0) return ok({ base: base as MetricBase, info })
  const reason = name.slice(colon + 1)
  if (!info.reasons) return err(appError('INVALID_PARAMS', `metric "${base}" has no reasons`))
  if (!REASON.test(reason)) return err(appError('INVALID_PARAMS', 'metric reason must be 1-48 of a-z 0-9 _ . -'))
  return ok({ base: base as MetricBase, reason, info })
}

/**
 * Turns a pool's reject text ("Job not found (=stale)", "low difficulty share") into a reason
 * key usable in a metric name: lower case, runs of other characters become one `-`, capped.
 */
export function reasonKey(text: string): string {
  const key = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '')
  return key === '' ? 'other' : key
}

export function validateEntity(e: EntityRef): Result<EntityRef, AppError> {
  if (e.kind !== 'device' && e.kind !== 'pool' && e.kind !== 'upstream') {
    return err(appError('INVALID_PARAMS', 'entity kind must be device, pool or upstream'))
  }
  if (typeof e.id !== 'string' || e.id.length === 0 || e.id.length > ENTITY_ID_MAX) {
    return err(appError('INVALID_PARAMS', `entity id must be 1-${ENTITY_ID_MAX} characters`))
  }
  return ok(e)
}
