import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'

/** One downsampling tier: buckets `widthMs` wide, kept for `retentionMs`. */
export interface TierConfig {
  widthMs: number
  retentionMs: number
}

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** Issue 7's defaults: 10 s for 24 h, 1 min for 30 days, 15 min for a year. */
export const DEFAULT_TIERS: readonly TierConfig[] = [
  { widthMs: 10_000, retentionMs: DAY_MS },
  { widthMs: 60_000, retentionMs: 30 * DAY_MS },
  { widthMs: 15 * 60_000, retentionMs: 365 * DAY_MS },
]

/**
 * What the app runs with unless the owner chooses otherwise (`history.setSettings`), sized so a
 * 500-device farm fits under the 2 GiB store cap: at 10 series per device (poll readings plus the
 * pool's share counters) and ≈ 42 bytes per bucket (bench/health.ts), 8,650 buckets per series
 * come to ≈ 1.7 GiB. The 10 s tier holds the raw 15 s polls for live charts, 1-minute buckets
 * cover three days of detail, hourly ones a quarter, daily ones two years. The example
 * (`DEFAULT_TIERS`: 1 minute for 30 days, 15 minutes for a year) would need ≈ 16 GiB at that size;
 * it suits farms of a few dozen devices, whose owners can choose it.
 */
export const FARM_TIERS: readonly TierConfig[] = [
  { widthMs: 10_000, retentionMs: 6 * HOUR_MS },
  { widthMs: 60_000, retentionMs: 3 * DAY_MS },
  { widthMs: HOUR_MS, retentionMs: 90 * DAY_MS },
  { widthMs: DAY_MS, retentionMs: 730 * DAY_MS },
]

/**
 * Tiers must be finest first, each width a whole multiple of the previous one (so a coarse bucket
 * is exactly a union of fine ones and re-aggregating a fine tier gives the coarse tier's numbers),
 * and each retention at least the previous one (a coarser tier that forgot sooner would be useless).
 */
export function validateTiers(tiers: readonly TierConfig[]): Result<TierConfig[], AppError> {
  const bad = (why: string) => err(appError('INVALID_PARAMS', `history tiers: ${why}`))
  if (tiers.length < 1 || tiers.length > 6) return bad('between 1 and 6 tiers')
  let prev: TierConfig | undefined
  for (const t of tiers) {
    if (!Number.isInteger(t.widthMs) || t.widthMs < 1000) return bad('width must be a whole number of ms ≥ 1000')
    if (!Number.isInteger(t.retentionMs) || t.retentionMs < t.widthMs) return bad('retention must be ≥ width')
    if (prev) {
      if (t.widthMs <= prev.widthMs || t.widthMs % prev.widthMs !== 0) {
        return bad('each width must be a larger whole multiple of the previous')
      }
      if (t.retentionMs < prev.retentionMs) return bad('retention may not shrink in coarser tiers')
    }
    prev = t
  }
  return ok(tiers.map((t) => ({ ...t })))
}

export function bucketStartMs(tsMs: number, widthMs: number): number {
  return Math.floor(tsMs / widthMs) * widthMs
}

/** What every bucket keeps. All five merge exactly, in any order. */
export interface Aggregate {
  count: number
  sum: number
  min: number
  max: number
  last: number
  /** Timestamp of `last`, so merging out-of-order pieces keeps the newest value. */
  lastTsMs: number
}

export function aggregateOf(value: number, tsMs: number): Aggregate {
  return { count: 1, sum: value, min: value, max: value, last: value, lastTsMs: tsMs }
}

export function mergeInto(a: Aggregate, b: Aggregate): void {
  a.count += b.count
  a.sum += b.sum
  if (b.min < a.min) a.min = b.min
  if (b.max > a.max) a.max = b.max
  if (b.lastTsMs >= a.lastTsMs) {
    a.last = b.last
    a.lastTsMs = b.lastTsMs
  }
}

export interface TierChoice {
  tier: TierConfig
  /** A whole multiple of the tier's width, ≥ the requested resolution. */
  resolutionMs: number
}

/**
 * Chooses the tier for a query: among tiers that still hold `fromMs` (`coversFromMs(tier)`, which
 * accounts for retention and for trimming by the size cap), the coarsest whose width is ≤ the
 * requested resolution (fewest rows for the asked detail). If none that fine still covers the
 * window, the finest tier that does; if none covers it at all, the coarsest (longest kept).
 */
export function pickTier(
  tiers: readonly TierConfig[],
  fromMs: number,
  resolutionMs: number,
  coversFromMs: (tier: TierConfig) => number,
): TierChoice {
  const covering = tiers.filter((t) => coversFromMs(t) <= fromMs)
  const fine = covering.filter((t) => t.widthMs <= resolutionMs)
  const tier = fine[fine.length - 1] ?? covering[0] ?? tiers[tiers.length - 1]!
  const res = Math.max(tier.widthMs, Math.ceil(resolutionMs / tier.widthMs) * tier.widthMs)
  return { tier, resolutionMs: res }
}
