import type { PoolRef } from './types'

export interface PoolDrift {
  /** 0-based slot that differs, or the slot of an active pool Hashyard never assigned. */
  slot: number
  reason: 'slot-differs' | 'slot-missing' | 'active-unassigned'
  expected: PoolRef | null
  found: PoolRef | null
}

/**
 * Compares URLs the way firmware mangle them: scheme and host are case-insensitive, a missing
 * scheme means stratum+tcp, `stratum+ssl` and `stratum+tls` are the same thing, and a trailing
 * slash is noise. The user (worker name, often the payout address) compares exactly, because a
 * hijack that keeps the pool and swaps the user is the dangerous one.
 */
export function normalisePoolUrl(url: string): string {
  let t = url.trim().replace(/\/+$/, '')
  if (!t.includes('://')) t = `stratum+tcp://${t}`
  const sep = t.indexOf('://')
  const scheme = t.slice(0, sep).toLowerCase().replace('stratum+ssl', 'stratum+tls')
  return `${scheme}://${t.slice(sep + 3).toLowerCase()}`
}

function same(a: PoolRef, b: PoolRef): boolean {
  return normalisePoolUrl(a.url) === normalisePoolUrl(b.url) && a.user.trim() === b.user.trim()
}

/**
 * Drift between a device's reported pools and the ones Hashyard assigned (issue 7 §2), or null.
 * Each assigned slot must hold the same pool and user; slots past the assigned ones are ignored
 * (firmware keep a factory fallback there) unless the device is actually mining on one of them.
 */
export function comparePools(
  reported: ReadonlyArray<PoolRef & { active?: boolean }>,
  assigned: readonly PoolRef[],
): PoolDrift | null {
  const configured = reported.filter((p) => p.url.trim() !== '')
  for (let i = 0; i < assigned.length; i++) {
    const want = assigned[i]!
    const got = configured[i]
    if (!got) return { slot: i, reason: 'slot-missing', expected: want, found: null }
    if (!same(got, want))
      return { slot: i, reason: 'slot-differs', expected: want, found: { url: got.url, user: got.user } }
  }
  const idx = configured.findIndex((p) => p.active === true && !assigned.some((a) => same(a, p)))
  if (idx >= 0) {
    const p = configured[idx]!
    return { slot: idx, reason: 'active-unassigned', expected: null, found: { url: p.url, user: p.user } }
  }
  return null
}
