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

/** An accepted share, as the pool or proxy reports it. */
export interface ShareAccepted {
  remoteIp: string
  /** The stratum user that submitted it (`account.worker`). */
  worker?: string | null
  /** The share's target difficulty (the difficulty the miner was assigned), not its actual hash difficulty. */
  difficulty: number
  tsMs?: number
}

export type ShareMatch =
  | { matched: true; deviceId: string; created: boolean; first: boolean }
  | { matched: false; reason: 'not-ipv4' | 'loopback' | 'bad-difficulty' }

/**
 * First-share confirmation: matches the share's miner like `matchConnectedMiner` and records the
 * first accepted share since discovery or since the device's last pool change. Never throws.
 */
export function matchShareAccepted(repo: DeviceRepo, s: ShareAccepted, opts: PassiveOptions = {}): ShareMatch {
  if (!Number.isFinite(s.difficulty) || s.difficulty <= 0) return { matched: false, reason: 'bad-difficulty' }
  // Called for every accepted share: the common case (a known device, already confirmed) writes nothing.
  const ip = normaliseRemoteIp(s.remoteIp)
  const known = ip === undefined ? undefined : repo.findByIp(ip)
  if (known && known.firstShare !== null) return { matched: true, deviceId: known.id, created: false, first: false }
  const m = matchConnectedMiner(repo, { remoteIp: s.remoteIp, worker: s.worker ?? null }, opts)
  if (!m.matched) return m
  const first = repo.noteFirstShare(m.deviceId, {
    tsMs: s.tsMs ?? Date.now(),
    difficulty: s.difficulty,
    worker: s.worker ?? null,
  })
  return { matched: true, deviceId: m.deviceId, created: m.created, first }
}
