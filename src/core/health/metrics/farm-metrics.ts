import type { AppError, Result } from '../../../shared/errors'
import { type MetricFamily, renderExposition, type Sample } from './exposition'

/** Cumulative counters are totals since Hashyard started; Prometheus handles the reset on restart. */
export interface DeviceMetrics {
  id: string
  /** Untrusted display text: exposed only as a label of `hashyard_device_info`. */
  name?: string
  model?: string
  vendor?: string
  firmware?: string
  up: boolean
  hashrateThs?: number | null
  shareHashrateThs?: number | null
  tempMaxC?: number | null
  fansRpm?: readonly number[]
  powerW?: number | null
  uptimeS?: number | null
  difficulty?: number | null
  sharesAccepted?: number
  /** Rejected (not stale) shares by reason key. */
  sharesRejected?: Readonly<Record<string, number>>
  sharesStale?: number
  difficultyAccepted?: number
  bestShareDifficulty?: number | null
}

export interface PoolMetrics {
  id: string
  name?: string
  hashrateThs: number
  workers: number
  sharesAccepted: number
  sharesRejected: Readonly<Record<string, number>>
  sharesStale: number
  difficultyAccepted: number
  blocksFound: number
  bestShareDifficulty?: number | null
  networkDifficulty?: number | null
  blockHeight?: number | null
}

export interface UpstreamMetrics {
  id: string
  name?: string
  up: boolean
  /** The upstream the proxy is mining on now. */
  active: boolean
  sharesAccepted: number
  sharesRejected: number
}

export interface FarmSnapshot {
  devices: readonly DeviceMetrics[]
  pools: readonly PoolMetrics[]
  upstreams: readonly UpstreamMetrics[]
  alertsOpen?: { info: number; warning: number; critical: number }
  version?: string
}

const TH = 1e12

class Families {
  readonly list: MetricFamily[] = []
  readonly #byName = new Map<string, MetricFamily>()

  add(
    name: string,
    type: MetricFamily['type'],
    help: string,
    labels: Record<string, string>,
    value: number | null | undefined,
  ): void {
    if (value === null || value === undefined || !Number.isFinite(value)) return
    let f = this.#byName.get(name)
    if (!f) {
      f = { name, type, help, samples: [] }
      this.#byName.set(name, f)
      this.list.push(f)
    }
    const s: Sample = { labels, value }
    f.samples.push(s)
  }

  /** Declares a family even with no sample yet, so dashboards see the name from the first scrape. */
  declare(name: string, type: MetricFamily['type'], help: string): void {
    if (this.#byName.has(name)) return
    const f: MetricFamily = { name, type, help, samples: [] }
    this.#byName.set(name, f)
    this.list.push(f)
  }
}

/**
 * The `/metrics` families for a farm (issue 7 §5). Series are keyed by the stable `device`,
 * `pool` and `upstream` ids; names, models and firmware go only into `*_info` gauges (value 1) so a
 * renamed rig does not start a new series. Hashrate is in hashes per second (Prometheus base units;
 * Grafana's `H/s` unit scales it).
 */
export function farmMetrics(s: FarmSnapshot): MetricFamily[] {
  const f = new Families()
  f.add('hashyard_build_info', 'gauge', 'Hashyard version', { version: s.version ?? 'unknown' }, 1)

  for (const d of s.devices) {
    const dev = { device: d.id }
    f.add(
      'hashyard_device_info',
      'gauge',
      'Device identity (value 1)',
      {
        device: d.id,
        name: d.name ?? '',
        model: d.model ?? '',
        vendor: d.vendor ?? '',
        firmware: d.firmware ?? '',
      },
      1,
    )
    f.add('hashyard_device_up', 'gauge', '1 when the device answered its last poll', dev, d.up ? 1 : 0)
    const hr = 'hashyard_device_hashrate_hashes_per_second'
    const hrHelp = 'Device hashrate: reported by the device, or derived from accepted share difficulty'
    f.add(hr, 'gauge', hrHelp, { ...dev, source: 'reported' }, d.hashrateThs == null ? null : d.hashrateThs * TH)
    f.add(
      hr,
      'gauge',
      hrHelp,
      { ...dev, source: 'shares' },
      d.shareHashrateThs == null ? null : d.shareHashrateThs * TH,
    )
    f.add(
      'hashyard_device_temperature_max_celsius',
      'gauge',
      'Hottest temperature sensor of the device',
      dev,
      d.tempMaxC,
    )
    for (const [i, rpm] of (d.fansRpm ?? []).entries()) {
      f.add('hashyard_device_fan_rpm', 'gauge', 'Fan speed', { ...dev, fan: String(i) }, rpm)
    }
    f.add('hashyard_device_power_watts', 'gauge', 'Power draw', dev, d.powerW)
    f.add('hashyard_device_uptime_seconds', 'gauge', 'Device uptime as it reports it', dev, d.uptimeS)
    f.add('hashyard_device_difficulty', 'gauge', 'Current share difficulty', dev, d.difficulty)
    f.add(
      'hashyard_device_best_share_difficulty',
      'gauge',
      'Best share difficulty since Hashyard started',
      dev,
      d.bestShareDifficulty,
    )
    f.add('hashyard_device_shares_accepted_total', 'counter', 'Accepted shares', dev, d.sharesAccepted ?? 0)
    for (const [reason, n] of Object.entries(d.sharesRejected ?? {})) {
      f.add(
        'hashyard_device_shares_rejected_total',
        'counter',
        'Rejected shares (not stale) by reason',
        { ...dev, reason },
        n,
      )
    }
    f.add('hashyard_device_shares_stale_total', 'counter', 'Stale shares', dev, d.sharesStale ?? 0)
    f.add(
      'hashyard_device_difficulty_accepted_total',
      'counter',
      'Sum of difficulty of accepted shares',
      dev,
      d.difficultyAccepted ?? 0,
    )
  }
  f.declare('hashyard_device_shares_rejected_total', 'counter', 'Rejected shares (not stale) by reason')

  for (const p of s.pools) {
    const pool = { pool: p.id }
    f.add('hashyard_pool_info', 'gauge', 'Pool identity (value 1)', { pool: p.id, name: p.name ?? '' }, 1)
    f.add(
      'hashyard_pool_hashrate_hashes_per_second',
      'gauge',
      'Pool hashrate from accepted shares',
      pool,
      p.hashrateThs * TH,
    )
    f.add('hashyard_pool_workers', 'gauge', 'Connected workers', pool, p.workers)
    f.add('hashyard_pool_shares_accepted_total', 'counter', 'Accepted shares', pool, p.sharesAccepted)
    for (const [reason, n] of Object.entries(p.sharesRejected)) {
      f.add(
        'hashyard_pool_shares_rejected_total',
        'counter',
        'Rejected shares (not stale) by reason',
        { ...pool, reason },
        n,
      )
    }
    f.add('hashyard_pool_shares_stale_total', 'counter', 'Stale shares', pool, p.sharesStale)
    f.add(
      'hashyard_pool_difficulty_accepted_total',
      'counter',
      'Sum of difficulty of accepted shares',
      pool,
      p.difficultyAccepted,
    )
    f.add('hashyard_pool_blocks_found_total', 'counter', 'Blocks found', pool, p.blocksFound)
    f.add(
      'hashyard_pool_best_share_difficulty',
      'gauge',
      'Best share difficulty since Hashyard started',
      pool,
      p.bestShareDifficulty,
    )
    f.add(
      'hashyard_pool_network_difficulty',
      'gauge',
      'Network difficulty of the current template',
      pool,
      p.networkDifficulty,
    )
    f.add('hashyard_pool_block_height', 'gauge', 'Height of the block being mined', pool, p.blockHeight)
  }
  f.declare('hashyard_pool_shares_rejected_total', 'counter', 'Rejected shares (not stale) by reason')

  for (const u of s.upstreams) {
    const up = { upstream: u.id }
    f.add('hashyard_upstream_info', 'gauge', 'Upstream identity (value 1)', { upstream: u.id, name: u.name ?? '' }, 1)
    f.add('hashyard_upstream_up', 'gauge', '1 when the proxy is connected to this upstream', up, u.up ? 1 : 0)
    f.add('hashyard_upstream_active', 'gauge', '1 for the upstream the proxy mines on now', up, u.active ? 1 : 0)
    f.add('hashyard_upstream_shares_accepted_total', 'counter', 'Shares the upstream accepted', up, u.sharesAccepted)
    f.add('hashyard_upstream_shares_rejected_total', 'counter', 'Shares the upstream rejected', up, u.sharesRejected)
  }

  if (s.alertsOpen) {
    for (const severity of ['info', 'warning', 'critical'] as const) {
      f.add('hashyard_alerts_open', 'gauge', 'Alert incidents currently open', { severity }, s.alertsOpen[severity])
    }
  }
  return f.list
}

export function renderFarmMetrics(s: FarmSnapshot): Result<string, AppError> {
  return renderExposition(farmMetrics(s))
}
