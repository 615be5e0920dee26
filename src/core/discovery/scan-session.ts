/**
 * One scan at a time, as the API runs it: parse the ranges (default: the host's own IPv4
 * subnets), run the two-stage scan, put every identified device into the device table, and keep
 * the frames (start, each result with progress, end) in a ring for `scan.stream` subscribers that
 * join late or reconnect.
 */
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import type { ScanFrame } from '../../shared/contract/devices'
import { type AppError, appError, err, ok, type Result } from '../../shared/errors'
import { type IdentifyOptions, identifyDevice } from '../devices/registry'
import type { DeviceRepo } from '../devices/repo'
import { sanitizeForLog } from '../devices/untrusted-text'
import type { Logger } from '../logger'
import { DEFAULT_MAX_ADDRESSES, intToIp, ipToInt, parseTargets } from './ip-range'
import { DEFAULT_SCAN_PORTS, type ScanPort, type ScanProgress, type ScanResult, scanHosts } from './scan'

export interface ScanSessionOptions {
  concurrency?: number
  connectTimeoutMs?: number
  identifyTimeoutMs?: number
  maxAddresses?: number
  /** Frames kept for late subscribers. Default 5000 (four /24s with room to spare). */
  ringSize?: number
  /** The host's own subnets; replaceable so tests never touch real interfaces. */
  defaultRanges?: () => string[]
  credentialsFor?: IdentifyOptions['credentialsFor']
  /** Called with the device id of every identified device (the poller reads it soon). */
  onIdentified?: (deviceId: string) => void
  logger?: Logger
}

type Frame = ScanFrame
/** A frame before it is numbered (Omit over each member of the union). */
type Unnumbered = Frame extends infer F ? (F extends Frame ? Omit<F, 'seq'> : never) : never

/** Shortest prefix scanned as a whole; a wider LAN (a /16 office network) gets the host's own /24. */
const WIDEST_DEFAULT_PREFIX = 22

/**
 * The host's IPv4 subnets from its interfaces, skipping loopback and link-local. Pure over the
 * interfaces object so it can be tested without a network.
 */
export function defaultScanRanges(
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): string[] {
  const out = new Set<string>()
  for (const list of Object.values(interfaces))
    for (const i of list ?? []) {
      if (i.family !== 'IPv4' || i.internal) continue
      const addr = ipToInt(i.address)
      if (addr === undefined || i.address.startsWith('169.254.')) continue
      const prefix = Number((i.cidr ?? '').split('/')[1] ?? '24')
      const bits = Number.isInteger(prefix) && prefix >= WIDEST_DEFAULT_PREFIX && prefix <= 30 ? prefix : 24
      const size = 2 ** (32 - bits)
      out.add(`${intToIp(Math.floor(addr / size) * size)}/${bits}`)
    }
  return [...out]
}

export class ScanSession {
  readonly #repo: DeviceRepo
  readonly #o: ScanSessionOptions
  #ring: Frame[] = []
  #seq = 0
  readonly #listeners = new Set<(f: Frame) => void>()
  #current: { scanId: string; abort: AbortController; done: Promise<ScanResult[]> } | undefined
  #lastStartSeq = 0

  constructor(repo: DeviceRepo, opts: ScanSessionOptions = {}) {
    this.#repo = repo
    this.#o = opts
  }

  get running(): boolean {
    return this.#current !== undefined
  }

  #push(frame: Unnumbered): void {
    const f = { ...frame, seq: ++this.#seq } as Frame
    this.#ring.push(f)
    const max = this.#o.ringSize ?? 5000
    if (this.#ring.length > max) this.#ring.splice(0, this.#ring.length - max)
    for (const cb of this.#listeners) cb(f)
  }

  start(
    rangesText: string | undefined,
    ports: readonly ScanPort[] = DEFAULT_SCAN_PORTS,
  ): Result<{ scanId: string; ranges: string[]; total: number }, AppError> {
    if (this.#current)
      return err(appError('CONFLICT', 'A scan is already running; cancel it or wait for it to finish.'))
    const ranges =
      rangesText !== undefined && rangesText.trim() !== ''
        ? rangesText
            .split(/[\s,;]+/)
            .map((t) => t.trim())
            .filter((t) => t !== '')
        : (this.#o.defaultRanges ?? defaultScanRanges)()
    if (ranges.length === 0)
      return err(appError('INVALID_PARAMS', 'This computer has no IPv4 network to scan; enter a range.'))
    const hosts = parseTargets(ranges.join(' '), this.#o.maxAddresses ?? DEFAULT_MAX_ADDRESSES)
    if (!hosts.ok) return hosts
    const scanId = `s-${randomBytes(6).toString('hex')}`
    const abort = new AbortController()
    this.#lastStartSeq = this.#seq + 1
    this.#push({ type: 'started', scanId, ranges, total: hosts.value.length })
    this.#o.logger?.info('scan started', { scanId, hosts: hosts.value.length, ranges: ranges.length })
    let last: ScanProgress = { total: hosts.value.length, done: 0, identified: 0, openUnidentified: 0, noAnswer: 0 }
    const done = scanHosts(hosts.value, {
      ports,
      signal: abort.signal,
      ...(this.#o.concurrency !== undefined ? { concurrency: this.#o.concurrency } : {}),
      ...(this.#o.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.#o.connectTimeoutMs } : {}),
      ...(this.#o.identifyTimeoutMs !== undefined ? { identifyTimeoutMs: this.#o.identifyTimeoutMs } : {}),
      identify: (endpoint, timeoutMs, skip) =>
        identifyDevice(endpoint, {
          timeoutMs,
          ...skip,
          ...(this.#o.credentialsFor ? { credentialsFor: this.#o.credentialsFor } : {}),
          ...(this.#o.logger ? { logger: this.#o.logger } : {}),
        }),
      onProgress: (p) => {
        last = p
      },
      onResult: (r) => this.#onResult(scanId, r, last),
    })
    this.#current = { scanId, abort, done }
    void done
      .then(
        () => undefined,
        (e: unknown) => this.#o.logger?.error('scan failed', { scanId, error: String(e) }),
      )
      .finally(() => {
        const cancelled = abort.signal.aborted
        this.#current = undefined
        this.#push({ type: 'finished', scanId, cancelled, progress: { ...last } })
        this.#o.logger?.info('scan finished', { scanId, cancelled, ...last })
      })
    return ok({ scanId, ranges, total: hosts.value.length })
  }

  /** onProgress runs after onResult in scanHosts; the frame carries the counts including this result. */
  #onResult(scanId: string, r: ScanResult, before: ScanProgress): void {
    const progress: ScanProgress = {
      total: before.total,
      done: before.done + 1,
      identified: before.identified + (r.state === 'identified' ? 1 : 0),
      openUnidentified: before.openUnidentified + (r.state === 'open-unidentified' ? 1 : 0),
      noAnswer: before.noAnswer + (r.state === 'no-answer' ? 1 : 0),
    }
    if (r.state === 'identified') {
      const id = r.identity
      const up = this.#repo.upsertSighting({
        ip: r.host,
        mac: id.mac,
        serial: id.serial,
        hostname: id.hostname,
        vendor: id.vendor,
        kind: r.kind,
        model: id.model,
        firmware: id.firmware,
        httpPort: id.endpoint.httpPort ?? null,
        rpcPort: id.endpoint.rpcPort ?? null,
        v3Port: id.endpoint.v3Port ?? null,
        capabilities: r.capabilities ?? null,
        source: 'scan',
      })
      this.#o.onIdentified?.(up.record.id)
      this.#o.logger?.debug('scan identified', {
        host: r.host,
        vendor: id.vendor,
        model: sanitizeForLog(id.model ?? ''),
      })
      this.#push({
        type: 'result',
        scanId,
        result: {
          host: r.host,
          state: 'identified',
          openPorts: r.openPorts,
          kind: r.kind,
          deviceId: up.record.id,
          vendor: id.vendor,
          model: id.model,
        },
        progress,
      })
      return
    }
    this.#push({ type: 'result', scanId, result: r, progress })
  }

  cancel(scanId?: string): boolean {
    const cur = this.#current
    if (!cur || (scanId !== undefined && scanId !== cur.scanId)) return false
    cur.abort.abort()
    return true
  }

  /** Waits for the running scan, if any (tests and shutdown). */
  async settle(): Promise<void> {
    const cur = this.#current
    if (cur) await cur.done.catch(() => undefined)
    // Let the finished frame be pushed.
    await new Promise((r) => setImmediate(r))
  }

  /** Frames after `sinceSeq`; without it, the latest scan from its start. 'gone' when the ring lost some. */
  replay(sinceSeq: number | undefined): Frame[] | 'gone' {
    const from = sinceSeq ?? this.#lastStartSeq - 1
    if (from >= this.#seq) return []
    const first = this.#ring[0]
    if (!first || first.seq > from + 1) return 'gone'
    return this.#ring.filter((f) => f.seq > from)
  }

  onFrame(cb: (f: Frame) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }
}
