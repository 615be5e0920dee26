/**
 * Which stored device a sighting belongs to. A device is keyed by MAC, then serial, then hostname,
 * then IP (issue 4 "Stable identity"), so a DHCP change does not split its history. Pure: the
 * repository calls it with its records.
 *
 * Two guards keep the weak keys from merging different machines:
 * - factory-default hostnames (`Antminer`, `bitaxe`, …) are shared by every unit of a model, so
 *   they never identify a device;
 * - a weaker key only matches when nothing stronger disagrees (a record with another MAC or
 *   serial, or another vendor at the same IP, is a different machine).
 */

export interface IdentityFields {
  mac: string | null
  serial: string | null
  hostname: string | null
  ip: string | null
  vendor: string | null
}

export interface Keyed extends IdentityFields {
  id: string
}

/** Hostnames firmware ship with; every unit of the model has them until the owner changes it. */
const DEFAULT_HOSTNAMES = new Set([
  'antminer',
  'bitaxe',
  'nerdqaxe',
  'nerdaxe',
  'whatsminer',
  'avalon',
  'avalonminer',
  'luxos',
  'braiins-os',
  'bos',
  'miner',
  'localhost',
  'openwrt',
  'espressif',
])

/** A hostname that can tell one device from another. */
export function usableHostname(h: string | null): string | null {
  if (h === null) return null
  const t = h.trim().toLowerCase()
  if (t === '' || DEFAULT_HOSTNAMES.has(t)) return null
  return t
}

export function identityKeyOf(f: IdentityFields): string {
  if (f.mac) return `mac:${f.mac}`
  if (f.serial) return `serial:${f.serial}`
  const h = usableHostname(f.hostname)
  if (h) return `host:${h}`
  return `ip:${f.ip ?? 'unknown'}`
}

/** True when the two describe different machines for sure. */
export function conflicts(a: IdentityFields, b: IdentityFields): boolean {
  if (a.mac && b.mac && a.mac !== b.mac) return true
  if (a.serial && b.serial && a.serial !== b.serial) return true
  return false
}

/** "Weak" records know no MAC and no serial: a passive sighting or an RPC-only identify. */
export function isWeak(f: IdentityFields): boolean {
  return !f.mac && !f.serial
}

export type MatchReason = 'mac' | 'serial' | 'hostname' | 'ip'

/** The record this sighting belongs to, and by which key; undefined means a new device. */
export function findMatch<T extends Keyed>(
  records: readonly T[],
  c: IdentityFields,
): { record: T; by: MatchReason } | undefined {
  if (c.mac) {
    const r = records.find((x) => x.mac === c.mac)
    if (r) return { record: r, by: 'mac' }
  }
  if (c.serial) {
    const r = records.find((x) => x.serial === c.serial && !conflicts(x, c))
    if (r) return { record: r, by: 'serial' }
  }
  const host = usableHostname(c.hostname)
  if (host) {
    const r = records.find((x) => usableHostname(x.hostname) === host && !conflicts(x, c) && sameVendorOrUnknown(x, c))
    if (r) return { record: r, by: 'hostname' }
  }
  if (c.ip) {
    const r = records.find((x) => x.ip === c.ip && !conflicts(x, c) && sameVendorOrUnknown(x, c))
    if (r) return { record: r, by: 'ip' }
  }
  return undefined
}

function sameVendorOrUnknown(a: IdentityFields, b: IdentityFields): boolean {
  return a.vendor === null || b.vendor === null || a.vendor === b.vendor
}
