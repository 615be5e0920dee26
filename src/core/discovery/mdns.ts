/**
 * mDNS / DNS-SD discovery (research §2.3). Browses `_axeos._sub._http._tcp` (AxeOS ≥ 2.15
 * advertises this subtype) and `_http._tcp`, keeps the services that look like miners (the AxeOS
 * subtype, an `asic` TXT key, an instance or host name starting with a vendor name), identifies
 * each through the device registry and records it in the device table with source `mdns`.
 *
 * Off until started (`mdns.start` in the API, or the module option `mdns.autoStart`): a browser
 * sends multicast on every interface of the host, which tests must never do outside a network
 * namespace they created.
 *
 * Security: every name, host and TXT value comes from the network and is untrusted text. It is
 * capped (`MDNS_TEXT_MAX`) when taken in, kept verbatim for display as text, and reaches logs only
 * through `sanitizeForLog`. A responder could also advertise any address: only private (RFC 1918)
 * and loopback IPv4 addresses are probed, so an announcement cannot make Hashyard connect out to
 * the internet. The number of services kept is capped, so a flood of announcements cannot grow
 * memory without bound.
 */
import type { EventEmitter } from 'node:events'
import Bonjour from 'bonjour-service'
import { type AppError, appError, err, ok, type Result } from '../../shared/errors'
import { type Identified, type IdentifyOptions, identifyDevice } from '../devices/registry'
import type { DeviceRepo } from '../devices/repo'
import type { DeviceEndpoint } from '../devices/types'
import { sanitizeForLog } from '../devices/untrusted-text'
import type { Logger } from '../logger'
import { ipToInt } from './ip-range'

/** Longest network-provided string kept from an announcement (names, hosts, TXT values). */
export const MDNS_TEXT_MAX = 256
/** TXT keys kept per service; AxeOS sends five. */
const MAX_TXT_KEYS = 16

/** A DNS-SD service as received, already capped; every string is untrusted text. */
export interface MdnsService {
  /** Instance name, e.g. `Bitaxe Gamma 601 (A1B2)`. */
  name: string
  /** SRV target host, e.g. `bitaxe.local`. */
  host: string
  port: number
  /** A records that came with the answer. */
  addresses: string[]
  /** The address the answer came from. */
  from: string | null
  subtypes: string[]
  txt: Record<string, string>
}

export type MdnsMatchReason = 'axeos-subtype' | 'txt-asic' | 'instance-name' | 'hostname'

export interface MdnsMatch {
  /** A hint only: the registry decides the vendor by probing the device. */
  hint: 'axeos' | 'nerdqaxe' | 'antminer' | 'whatsminer' | 'avalon' | 'braiins' | 'other'
  by: MdnsMatchReason
}

const cap = (v: unknown): string => (typeof v === 'string' ? v.slice(0, MDNS_TEXT_MAX) : '')

/** Reads a bonjour-service `Service` (or anything shaped like one) defensively; undefined when unusable. */
export function toMdnsService(s: unknown): MdnsService | undefined {
  if (typeof s !== 'object' || s === null) return undefined
  const r = s as Record<string, unknown>
  const port = r.port
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined
  const txt: Record<string, string> = {}
  if (typeof r.txt === 'object' && r.txt !== null) {
    for (const [k, v] of Object.entries(r.txt as Record<string, unknown>).slice(0, MAX_TXT_KEYS)) {
      // dns-txt decodes `key=value` to a string and a bare `key` to `true`.
      const value = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : ''
      txt[k.slice(0, 64).toLowerCase()] = value.slice(0, MDNS_TEXT_MAX)
    }
  }
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.slice(0, 16).map(cap) : [])
  const referer = typeof r.referer === 'object' && r.referer !== null ? (r.referer as Record<string, unknown>) : {}
  return {
    name: cap(r.name),
    host: cap(r.host),
    port,
    addresses: list(r.addresses),
    from: typeof referer.address === 'string' ? referer.address.slice(0, 64) : null,
    subtypes: list(r.subtypes).map((t) => t.toLowerCase()),
    txt,
  }
}

const HOST_HINTS: readonly [RegExp, MdnsMatch['hint']][] = [
  [/^bitaxe/i, 'axeos'],
  [/^nerd(q|octa)?axe/i, 'nerdqaxe'],
  [/^luckyminer/i, 'axeos'],
  [/^antminer/i, 'antminer'],
  [/^whatsminer/i, 'whatsminer'],
  [/^avalon/i, 'avalon'],
  [/^braiins/i, 'braiins'],
]

/**
 * Is this service a miner? The strongest evidence first (research §2.3): the AxeOS subtype, an
 * `asic` TXT key, an instance name starting `Bitaxe`/`NerdQAxe`, then vendor host-name prefixes
 * (weak: a hostname is whatever the owner typed). Everything else (printers, NAS) is ignored.
 */
export function classifyMdnsService(s: MdnsService): MdnsMatch | undefined {
  if (s.subtypes.includes('axeos')) return { hint: 'axeos', by: 'axeos-subtype' }
  if (Object.hasOwn(s.txt, 'asic')) return { hint: 'axeos', by: 'txt-asic' }
  for (const [re, hint] of HOST_HINTS) if (re.test(s.name.trim())) return { hint, by: 'instance-name' }
  const hostLabel = s.host.split('.')[0] ?? ''
  for (const [re, hint] of HOST_HINTS) if (re.test(hostLabel)) return { hint, by: 'hostname' }
  return undefined
}

/** RFC 1918 private or loopback IPv4: the only addresses an announcement may send us to. */
export function isProbeableAddress(ip: string): boolean {
  const n = ipToInt(ip)
  if (n === undefined) return false
  const a = n >>> 24
  const b = (n >>> 16) & 255
  return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
}

/** The address to probe: the packet's source when usable (where the responder really is), else an A record. */
export function targetAddress(s: MdnsService): string | undefined {
  const from = s.from?.replace(/^::ffff:/i, '') ?? null
  if (from !== null && isProbeableAddress(from)) return from
  return s.addresses.find(isProbeableAddress)
}

export interface MdnsHit {
  name: string
  host: string
  address: string | null
  port: number
  match: MdnsMatchReason
  state: 'identifying' | 'identified' | 'unidentified' | 'ignored'
  deviceId: string | null
  vendor: string | null
  /** Why it was not identified or not probed. */
  reason: string | null
  lastSeenMs: number
  /** When the last identification finished; null while none has. */
  checkedAtMs: number | null
}

export interface MdnsOptions {
  /** Re-sends the browse queries this often. Default 60 000 ms. */
  requeryMs?: number
  /** An address:port already identified is probed again only after this long. Default 600 000 ms. */
  reidentifyAfterMs?: number
  /** Identifications at once. Default 4. */
  concurrency?: number
  /** Per-probe budget. Default 3000 ms. */
  identifyTimeoutMs?: number
  /** Services remembered at most (oldest dropped). Default 512. */
  maxHits?: number
  /** Multicast interface address (multicast-dns `interface`); default: every IPv4 interface. */
  interface?: string
  credentialsFor?: IdentifyOptions['credentialsFor']
  onIdentified?: (deviceId: string) => void
  logger?: Logger
  /** Replaceable for tests that drive identification without devices. */
  identify?: (endpoint: DeviceEndpoint, opts: IdentifyOptions) => Promise<Result<Identified, AppError>>
}

/** The two browses of research §2.3: the AxeOS subtype first, then every HTTP service. */
const BROWSES = [{ type: 'http', name: '_axeos._sub' }, { type: 'http' }] as const

export class MdnsDiscovery {
  readonly #repo: DeviceRepo
  readonly #o: MdnsOptions
  #bonjour: Bonjour | undefined
  #browsers: ReturnType<Bonjour['find']>[] = []
  #requery: ReturnType<typeof setInterval> | undefined
  #startedAtMs: number | null = null
  /** By `address:port` (or `name` when no usable address), insertion-ordered for eviction. */
  readonly #hits = new Map<string, MdnsHit>()
  readonly #queue: { key: string; endpoint: DeviceEndpoint }[] = []
  #active = 0
  readonly #running = new Set<Promise<void>>()
  readonly #listeners = new Set<() => void>()

  constructor(repo: DeviceRepo, opts: MdnsOptions = {}) {
    this.#repo = repo
    this.#o = opts
  }

  get running(): boolean {
    return this.#bonjour !== undefined
  }

  onChange(cb: () => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  #changed(): void {
    for (const cb of this.#listeners) cb()
  }

  /** Starts browsing; a second call while running is a no-op. */
  start(): Result<{ startedAtMs: number }, AppError> {
    if (this.#bonjour && this.#startedAtMs !== null) return ok({ startedAtMs: this.#startedAtMs })
    const log = this.#o.logger
    let bonjour: Bonjour
    try {
      // The options go to multicast-dns (`interface`, `bind`); bonjour-service types them as ServiceConfig.
      const socketOpts = this.#o.interface ? { interface: this.#o.interface, bind: '0.0.0.0' } : {}
      bonjour = new Bonjour(socketOpts as unknown as ConstructorParameters<typeof Bonjour>[0], (e: unknown) =>
        log?.warn('mdns send failed', { error: sanitizeForLog(String(e)) }),
      )
    } catch (e) {
      return err(appError('UNAVAILABLE', `mDNS could not start: ${sanitizeForLog(String(e))}`))
    }
    // multicast-dns emits 'error' for EACCES/EADDRINUSE on its socket; unhandled it would throw.
    // bonjour-service keeps the socket on a private field, hence the narrow cast.
    const socket = (bonjour as unknown as { server?: { mdns?: EventEmitter } }).server?.mdns
    socket?.on('error', (e: unknown) => {
      log?.warn('mdns socket error; discovery stopped', { error: sanitizeForLog(String(e)) })
      void this.stop()
    })
    socket?.on('warning', (e: unknown) => log?.debug('mdns warning', { error: sanitizeForLog(String(e)) }))
    this.#bonjour = bonjour
    this.#startedAtMs = Date.now()
    for (const b of BROWSES) {
      const browser = bonjour.find(b)
      browser.on('up', (svc) => this.#seen(svc))
      browser.on('srv-update', (svc) => this.#seen(svc))
      this.#browsers.push(browser)
    }
    this.#requery = setInterval(() => {
      for (const b of this.#browsers) b.update()
    }, this.#o.requeryMs ?? 60_000)
    this.#requery.unref?.()
    log?.info('mdns discovery started')
    this.#changed()
    return ok({ startedAtMs: this.#startedAtMs })
  }

  /** Stops browsing and waits for identifications in flight. Hits stay for `status()`. */
  async stop(): Promise<void> {
    const bonjour = this.#bonjour
    if (!bonjour) return
    this.#bonjour = undefined
    this.#startedAtMs = null
    if (this.#requery) clearInterval(this.#requery)
    this.#requery = undefined
    for (const b of this.#browsers) b.stop()
    this.#browsers = []
    this.#queue.length = 0
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()))
    await Promise.all([...this.#running])
    this.#o.logger?.info('mdns discovery stopped')
    this.#changed()
  }

  status(): { running: boolean; startedAtMs: number | null; hits: MdnsHit[] } {
    return {
      running: this.running,
      startedAtMs: this.#startedAtMs,
      hits: [...this.#hits.values()].map((h) => ({ ...h })).reverse(),
    }
  }

  /** Waits until the identification queue is empty (tests and shutdown). */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running])
  }

  #remember(key: string, hit: MdnsHit): void {
    this.#hits.delete(key)
    this.#hits.set(key, hit)
    const max = this.#o.maxHits ?? 512
    while (this.#hits.size > max) {
      const oldest = this.#hits.keys().next().value
      if (oldest === undefined) break
      this.#hits.delete(oldest)
    }
  }

  /** One announcement or answer; never throws (it runs inside the socket's event handler). */
  #seen(raw: unknown): void {
    const svc = toMdnsService(raw)
    if (!svc) return
    const match = classifyMdnsService(svc)
    if (!match) return
    const now = Date.now()
    const address = targetAddress(svc) ?? null
    const key = address === null ? `name:${svc.name}` : `${address}:${svc.port}`
    const prev = this.#hits.get(key)
    const base: MdnsHit = {
      name: svc.name,
      host: svc.host,
      address,
      port: svc.port,
      match: match.by,
      state: 'identifying',
      deviceId: prev?.deviceId ?? null,
      vendor: prev?.vendor ?? null,
      reason: null,
      lastSeenMs: now,
      checkedAtMs: prev?.checkedAtMs ?? null,
    }
    if (address === null) {
      this.#remember(key, {
        ...base,
        state: 'ignored',
        reason: 'The announcement gave no private or loopback IPv4 address',
      })
      this.#changed()
      return
    }
    // Devices re-announce often; probe an address again only after `reidentifyAfterMs`.
    const fresh =
      prev !== undefined &&
      (prev.state === 'identifying' ||
        (prev.checkedAtMs !== null && now - prev.checkedAtMs < (this.#o.reidentifyAfterMs ?? 600_000)))
    if (fresh && prev) {
      this.#remember(key, { ...prev, name: svc.name, host: svc.host, lastSeenMs: now })
      return
    }
    this.#remember(key, base)
    this.#o.logger?.debug('mdns service', {
      name: sanitizeForLog(svc.name),
      address,
      port: svc.port,
      match: match.by,
    })
    this.#queue.push({ key, endpoint: { host: address, httpPort: svc.port } })
    this.#pump()
    this.#changed()
  }

  #pump(): void {
    const limit = Math.max(1, this.#o.concurrency ?? 4)
    while (this.#active < limit && this.#queue.length > 0) {
      const job = this.#queue.shift()
      if (!job) break
      this.#active++
      const p = this.#identify(job.key, job.endpoint).finally(() => {
        this.#active--
        this.#running.delete(p)
        this.#pump()
      })
      this.#running.add(p)
    }
  }

  async #identify(key: string, endpoint: DeviceEndpoint): Promise<void> {
    const identify = this.#o.identify ?? identifyDevice
    const r = await identify(endpoint, {
      timeoutMs: this.#o.identifyTimeoutMs ?? 3000,
      ...(this.#o.credentialsFor ? { credentialsFor: this.#o.credentialsFor } : {}),
      ...(this.#o.logger ? { logger: this.#o.logger } : {}),
    })
    const hit = this.#hits.get(key)
    if (!hit) return
    if (!r.ok) {
      this.#remember(key, {
        ...hit,
        state: 'unidentified',
        reason: r.error.message.slice(0, 500),
        checkedAtMs: Date.now(),
      })
      this.#changed()
      return
    }
    const id = r.value.identity
    const up = this.#repo.upsertSighting({
      ip: endpoint.host,
      mac: id.mac,
      serial: id.serial,
      hostname: id.hostname,
      vendor: id.vendor,
      kind: r.value.kind,
      model: id.model,
      firmware: id.firmware,
      httpPort: id.endpoint.httpPort ?? null,
      rpcPort: id.endpoint.rpcPort ?? null,
      v3Port: id.endpoint.v3Port ?? null,
      capabilities: r.value.driver.capabilities,
      source: 'mdns',
    })
    this.#remember(key, {
      ...hit,
      state: 'identified',
      deviceId: up.record.id,
      vendor: id.vendor,
      reason: null,
      checkedAtMs: Date.now(),
    })
    this.#o.logger?.info('mdns identified', {
      address: endpoint.host,
      vendor: id.vendor,
      name: sanitizeForLog(hit.name),
      created: up.created,
    })
    this.#o.onIdentified?.(up.record.id)
    this.#changed()
  }
}
