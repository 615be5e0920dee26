/**
 * Keeps every known device's status fresh. Each device has its own due time, so 500 devices are
 * spread over the interval instead of polled in one burst (the core's event loop stays smooth);
 * at most `concurrency` reads run at once. Adaptive:
 * - an answering device is read every `intervalMs` (default 15 s);
 * - a failing one backs off (2×, 4×, … up to `maxBackoffMs`) and is marked offline after
 *   `offlineAfterFailures` consecutive failures, with "offline since" = its first failed read;
 * - `pollSoon(id)` brings a device forward (after a pool change, a reboot, a locate).
 * Telemetry samples are stored at most every `sampleEveryMs` per device, in one transaction per tick.
 */
import type { AppError, Result } from '../../shared/errors'
import type { Logger } from '../logger'
import type { DeviceRecord, DeviceRepo, SampleRow } from './repo'
import type { DeviceStatus, MinerDriver } from './types'
import { sanitizeForLog } from './untrusted-text'

export interface PollerOptions {
  /** Default 15 000 ms. */
  intervalMs?: number
  /** Reads in flight at once. Default 32. */
  concurrency?: number
  /** Consecutive failed reads before a device is marked offline. Default 2. */
  offlineAfterFailures?: number
  /** Longest gap between reads of a failing device. Default 120 000 ms. */
  maxBackoffMs?: number
  /**
   * How often the scheduler looks for due devices. Small ticks mean small bursts: at 500 devices
   * every 15 s, a 100 ms tick starts about 3 reads at a time. Default min(100, intervalMs / 4).
   */
  tickMs?: number
  /** Shortest gap between two stored telemetry samples of one device. Default 60 000 ms. */
  sampleEveryMs?: number
  logger?: Logger
}

export type DriverSource = (rec: DeviceRecord) => Promise<Result<MinerDriver, AppError>>

/**
 * One finished read, for observers such as fleet health (src/core/health): `status` is null when
 * the device did not answer; `offline` says the poller now counts it offline (after
 * `offlineAfterFailures` failed reads), so a single missed read can be told from an outage.
 */
export interface PollOutcome {
  deviceId: string
  tsMs: number
  status: DeviceStatus | null
  offline: boolean
}

interface Slot {
  nextDueMs: number
  failures: number
  firstFailureMs: number | null
  inFlight: boolean
  lastSampleMs: number
}

/** Spreads first reads over the interval by a stable hash of the id. */
function offsetOf(id: string, intervalMs: number): number {
  let h = 0
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0
  return h % Math.max(1, intervalMs)
}

function hottest(s: DeviceStatus): number | null {
  let t: number | null = null
  for (const b of s.boards) for (const v of [b.chipTempC, b.boardTempC]) if (v !== null && (t === null || v > t)) t = v
  return t
}

export class DevicePoller {
  readonly #repo: DeviceRepo
  readonly #driver: DriverSource
  readonly #o: Required<Omit<PollerOptions, 'logger'>>
  readonly #logger: Logger | undefined
  readonly #slots = new Map<string, Slot>()
  #timer: ReturnType<typeof setInterval> | undefined
  #inFlight = 0
  #samples: SampleRow[] = []
  #stopped = false
  #lastPruneMs = 0
  readonly #running = new Set<Promise<void>>()
  readonly #observers = new Set<(o: PollOutcome) => void>()

  constructor(repo: DeviceRepo, driver: DriverSource, opts: PollerOptions = {}) {
    this.#repo = repo
    this.#driver = driver
    const intervalMs = Math.max(100, opts.intervalMs ?? 15_000)
    this.#o = {
      intervalMs,
      concurrency: Math.max(1, opts.concurrency ?? 32),
      offlineAfterFailures: Math.max(1, opts.offlineAfterFailures ?? 2),
      maxBackoffMs: Math.max(intervalMs, opts.maxBackoffMs ?? 120_000),
      tickMs: Math.max(10, opts.tickMs ?? Math.min(100, intervalMs / 4)),
      sampleEveryMs: opts.sampleEveryMs ?? 60_000,
    }
    this.#logger = opts.logger
  }

  start(): void {
    if (this.#timer || this.#stopped) return
    this.#timer = setInterval(() => this.#tick(), this.#o.tickMs)
    this.#timer.unref?.()
  }

  /** Stops scheduling and waits for reads in flight. */
  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await Promise.all([...this.#running])
    this.#flushSamples()
    this.#repo.flush()
  }

  /** Called after every read (see PollOutcome); returns the unsubscribe. Observers must not throw. */
  onPolled(cb: (o: PollOutcome) => void): () => void {
    this.#observers.add(cb)
    return () => this.#observers.delete(cb)
  }

  #notify(o: PollOutcome): void {
    for (const cb of this.#observers) {
      try {
        cb(o)
      } catch (e) {
        this.#logger?.error('poll observer failed', { error: String(e) })
      }
    }
  }

  /** Brings a device's next read forward to the next tick. */
  pollSoon(id: string): void {
    const s = this.#slots.get(id)
    if (s) s.nextDueMs = 0
  }

  #slot(id: string, nowMs: number): Slot {
    let s = this.#slots.get(id)
    if (!s) {
      s = {
        nextDueMs: nowMs + offsetOf(id, this.#o.intervalMs),
        failures: 0,
        firstFailureMs: null,
        inFlight: false,
        lastSampleMs: 0,
      }
      this.#slots.set(id, s)
    }
    return s
  }

  #tick(): void {
    const now = Date.now()
    for (const rec of this.#repo.list()) {
      if (this.#inFlight >= this.#o.concurrency) break
      if (rec.ip === null || rec.vendor === null) continue
      const s = this.#slot(rec.id, now)
      if (s.inFlight || s.nextDueMs > now) continue
      this.#track(this.#pollOne(rec, s))
    }
    // Slots of deleted devices are dropped once per interval, not on every tick.
    if (now - this.#lastPruneMs >= this.#o.intervalMs) {
      this.#lastPruneMs = now
      for (const id of this.#slots.keys()) if (!this.#repo.get(id)) this.#slots.delete(id)
    }
    this.#flushSamples()
  }

  #track(p: Promise<void>): void {
    this.#running.add(p)
    void p.finally(() => this.#running.delete(p))
  }

  /**
   * Reads the given devices (default: every device with an address) now, ignoring due times;
   * resolves when all reads finished. Used at start-up, by tests and by "refresh" in the UI.
   */
  async pollNow(ids?: readonly string[]): Promise<void> {
    const now = Date.now()
    const recs = this.#repo
      .list()
      .filter((r) => r.ip !== null && r.vendor !== null && (ids === undefined || ids.includes(r.id)))
    const queue = [...recs]
    const worker = async () => {
      for (;;) {
        const rec = queue.shift()
        if (!rec) return
        const s = this.#slot(rec.id, now)
        if (s.inFlight) continue
        await this.#pollOne(rec, s)
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.#o.concurrency, queue.length) }, worker))
    this.#flushSamples()
  }

  async #pollOne(rec: DeviceRecord, s: Slot): Promise<void> {
    s.inFlight = true
    this.#inFlight++
    try {
      const driver = await this.#driver(rec)
      const status: Result<DeviceStatus, AppError> = driver.ok ? await driver.value.read() : driver
      if (this.#stopped && !this.#repo.get(rec.id)) return
      const now = Date.now()
      if (status.ok) {
        s.failures = 0
        s.firstFailureMs = null
        s.nextDueMs = now + this.#o.intervalMs
        if (this.#repo.recordStatus(rec.id, status.value, now))
          this.#logger?.info('device back online', { device: rec.id })
        if (now - s.lastSampleMs >= this.#o.sampleEveryMs) {
          s.lastSampleMs = now
          this.#samples.push({
            deviceId: rec.id,
            tsMs: now,
            online: true,
            hashrateThs: status.value.hashrateThs,
            powerW: status.value.powerW,
            tempMaxC: hottest(status.value),
          })
        }
        this.#notify({ deviceId: rec.id, tsMs: now, status: status.value, offline: false })
      } else {
        s.failures++
        s.firstFailureMs ??= now
        const backoff = Math.min(this.#o.maxBackoffMs, this.#o.intervalMs * 2 ** Math.min(10, s.failures - 1))
        s.nextDueMs = now + backoff
        const offline = s.failures >= this.#o.offlineAfterFailures
        this.#repo.recordFailure(rec.id, status.error.message, offline, s.firstFailureMs)
        if (offline && s.failures === this.#o.offlineAfterFailures) {
          this.#logger?.info('device offline', { device: rec.id, error: sanitizeForLog(status.error.message, 200) })
          this.#samples.push({
            deviceId: rec.id,
            tsMs: now,
            online: false,
            hashrateThs: null,
            powerW: null,
            tempMaxC: null,
          })
        }
        this.#notify({ deviceId: rec.id, tsMs: now, status: null, offline })
      }
    } finally {
      s.inFlight = false
      this.#inFlight--
    }
  }

  #flushSamples(): void {
    if (this.#samples.length === 0) return
    const rows = this.#samples
    this.#samples = []
    try {
      this.#repo.insertSamples(rows)
    } catch (e) {
      // Telemetry history is best effort; the live status is already stored.
      this.#logger?.warn('device telemetry write failed', { error: String(e) })
    }
  }
}
