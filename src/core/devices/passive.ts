/**
 * Passive discovery: a miner that connects to the local pool or the proxy is matched to its
 * device record by IP, or gets a new (weak, IP-keyed) record that a later scan upgrades with a
 * MAC and merges (repo.ts). The worker name and user agent come from the miner: untrusted text,
 * stored capped and shown as text.
 */
import { ipToInt } from '../discovery/ip-range'
import type { DeviceRepo } from './repo'

export interface MinerConnection {
  /** The peer address as the socket reports it; `::ffff:` IPv4-mapped forms are accepted. */
  remoteIp: string
  /** The stratum user from `mining.authorize` (`account.worker`), if it authorised yet. */
  worker?: string | null
  /** The `mining.subscribe` user agent, e.g. `bitaxe/BM1370/v2.12.2`. */
  userAgent?: string | null
}

export type PassiveMatch =
  | { matched: true; deviceId: string; created: boolean }
  | { matched: false; reason: 'not-ipv4' | 'loopback' }

export function normaliseRemoteIp(remote: string): string | undefined {
  const t = remote.trim().replace(/^::ffff:/i, '')
  return ipToInt(t) === undefined ? undefined : t
}

export interface PassiveOptions {
  /** Loopback peers are this host (a local test miner, the proxy itself); skipped unless allowed. */
  allowLoopback?: boolean
}

/** Matches (or records) the device behind a stratum connection. Never throws. */
export function matchConnectedMiner(repo: DeviceRepo, c: MinerConnection, opts: PassiveOptions = {}): PassiveMatch {
  const ip = normaliseRemoteIp(c.remoteIp)
  if (ip === undefined) return { matched: false, reason: 'not-ipv4' }
  if (ip.startsWith('127.') && !opts.allowLoopback) return { matched: false, reason: 'loopback' }
  const worker = c.worker ?? null
  const userAgent = c.userAgent ?? null
  const existing = repo.findByIp(ip)
  if (existing) {
    repo.notePassive(existing.id, worker, userAgent)
    return { matched: true, deviceId: existing.id, created: false }
  }
  const up = repo.upsertSighting({
    ip,
    mac: null,
    serial: null,
    hostname: null,
    vendor: null,
    kind: null,
    model: null,
    firmware: null,
    httpPort: null,
    rpcPort: null,
    v3Port: null,
    capabilities: null,
    source: 'passive',
  })
  repo.notePassive(up.record.id, worker, userAgent)
  return { matched: true, deviceId: up.record.id, created: up.created }
}
