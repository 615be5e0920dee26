/**
 * The exact `PATCH /api/system` bodies AxeOS expects (research §4.10):
 * - ≤ v2.14: top-level `stratumURL` (host only, no scheme), `stratumPort` (u16), `stratumUser`,
 *   `stratumPassword`, and the same four with a `fallback` prefix. Two pools exist, no third.
 * - ≥ v2.15: `pools[]` slot objects with an `id`, plus `primaryPoolIndex`/`secondaryPoolIndex`.
 * The AxeOS UI strips `stratum+tcp://` and splits the port before sending; so do we.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { deviceError } from '../device-error'
import { type PoolUrl, parsePoolUrl } from '../pool-url'
import type { PoolTarget } from '../types'

export type AxeosLegacyBody = {
  stratumURL: string
  stratumPort: number
  stratumUser: string
  stratumPassword: string
  fallbackStratumURL?: string
  fallbackStratumPort?: number
  fallbackStratumUser?: string
  fallbackStratumPassword?: string
}

export interface AxeosPoolSlot {
  id: number
  stratumURL: string
  stratumPort: number
  stratumUser: string
  stratumPassword: string
  stratumTLS: number
}

export interface AxeosSlotsBody {
  pools: AxeosPoolSlot[]
  primaryPoolIndex: number
  secondaryPoolIndex: number
}

export const AXEOS_MAX_POOLS = 2

function parseAll(pools: readonly PoolTarget[]): Result<PoolUrl[], AppError> {
  if (pools.length === 0 || pools.length > AXEOS_MAX_POOLS)
    return err(deviceError('INVALID_POOL', `AxeOS holds 1 or 2 pools (primary and fallback), got ${pools.length}`))
  const out: PoolUrl[] = []
  for (const p of pools) {
    const u = parsePoolUrl(p.url)
    if (!u.ok) return u
    if (u.value.scheme === 'stratum2+tcp')
      return err(deviceError('INVALID_POOL', 'Stratum V2 URLs are not written by this driver'))
    out.push(u.value)
  }
  return ok(out)
}

/**
 * ≤ v2.14. With one pool only the primary is written and the device keeps its fallback
 * (write-safety: change only what was asked). `tlsSupported` is whether /info reports
 * `stratumTLS`; a TLS URL on firmware without it is refused rather than silently downgraded.
 */
export function legacyPoolBody(pools: readonly PoolTarget[], tlsSupported: boolean): Result<AxeosLegacyBody, AppError> {
  const urls = parseAll(pools)
  if (!urls.ok) return urls
  const tls = urls.value.some((u) => u.scheme !== 'stratum+tcp')
  if (tls && !tlsSupported) return err(deviceError('INVALID_POOL', 'This AxeOS version cannot connect to a TLS pool'))
  const [u0, u1] = urls.value
  const [p0, p1] = pools
  if (!u0 || !p0) return err(deviceError('INVALID_POOL', 'No pool given'))
  const body: AxeosLegacyBody = {
    stratumURL: u0.host,
    stratumPort: u0.port,
    stratumUser: p0.user,
    stratumPassword: p0.password,
  }
  if (u1 && p1) {
    body.fallbackStratumURL = u1.host
    body.fallbackStratumPort = u1.port
    body.fallbackStratumUser = p1.user
    body.fallbackStratumPassword = p1.password
  }
  return ok(body)
}

/** ≥ v2.15: writes the given pools into the current primary and secondary slots. */
export function slotsPoolBody(
  pools: readonly PoolTarget[],
  primaryIndex: number,
  secondaryIndex: number,
): Result<AxeosSlotsBody, AppError> {
  const urls = parseAll(pools)
  if (!urls.ok) return urls
  const slotIds = [primaryIndex, secondaryIndex]
  const slots: AxeosPoolSlot[] = urls.value.map((u, i) => ({
    id: slotIds[i] ?? i,
    stratumURL: u.host,
    stratumPort: u.port,
    stratumUser: pools[i]?.user ?? '',
    stratumPassword: pools[i]?.password ?? '',
    stratumTLS: u.scheme === 'stratum+tcp' ? 0 : 1,
  }))
  return ok({ pools: slots, primaryPoolIndex: primaryIndex, secondaryPoolIndex: secondaryIndex })
}
