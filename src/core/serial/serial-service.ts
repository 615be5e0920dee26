import { randomUUID } from 'node:crypto'
import type { AppError, Result } from '../../shared/errors'
import { ok } from '../../shared/errors'
import type { Logger } from '../logger'
import { type BackupInfo, NvsBackupStore } from './backups'
import { nextWorkerName, type PoolInput, toPoolTarget } from './bench'
import { emitSerialDeviceOnline, type SerialDeviceOnline } from './device-online'
import { EspRomFlasher, type FlasherOptions, type FlashProgress, type ProgressFn } from './esp-rom/flasher'
import { realDelay } from './esp-rom/reset'
import { SerialMonitors } from './monitor'
import { detectPoolLayout, type PoolLayout, type SettingsChange } from './nvs/editor'
import { readNvs } from './nvs/reader'
import { OrderedRing } from './ordered-ring'
import type { PortOpener } from './port-access'
import { type PortLister, type SerialPortEntry, SerialPortWatcher } from './ports'
import { SecretRedactor } from './redact'
import { serialErr } from './serial-error'
import { type SettingsSummary, secretsIn, summariseSettings } from './settings-summary'
import { restoreBackupOverUsb, writeSettingsOverUsb } from './write-settings'

export type JobOp = 'read' | 'write' | 'restore'
export type JobPhase = FlashProgress['phase'] | 'backup' | 'done' | 'failed' | 'waiting-for-ip' | 'online' | 'no-ip'

export interface FlashFrame {
  seq: number
  tsMs: number
  jobId: string
  path: string
  op: JobOp
  phase: JobPhase
  doneBytes: number
  totalBytes: number
  message?: string
  mac?: string
  ip?: string
  error?: { code: string; message: string; reason?: string }
}

export interface PortInfo {
  path: string
  vendorId?: string
  productId?: string
  serialNumber?: string
  manufacturer?: string
  board: {
    bridge: SerialPortEntry['board']['bridge']
    label: string
    resetStrategy?: 'classic' | 'usb-jtag'
    likelyMiner: boolean
  }
  monitor: 'closed' | 'open' | 'busy'
  mac?: string
  lastIp?: string
}

export interface DeviceSettingsResult extends SettingsSummary {
  jobId: string
  chip: string
  mac: string
  backupId: string
}

export interface WriteSettingsInput {
  path: string
  jobId?: string | undefined
  wifi?: { ssid: string; password?: string | undefined } | undefined
  pool?: PoolInput | undefined
  fallbackPool?: PoolInput | undefined
  workerName?: string | undefined
}

export interface WriteSettingsOutput {
  jobId: string
  chip: string
  mac: string
  layout: PoolLayout
  changedKeys: string[]
  backupId: string
  verifiedBy: 'md5' | 'md5+read-back'
  nextWorkerName?: string
}

/** The event log as far as this module writes to it. */
export interface EventSink {
  append(level: 'info' | 'warn' | 'error', source: string, message: string, data?: Record<string, unknown>): unknown
}

export interface SerialServiceOptions {
  dataDir: string
  open: PortOpener
  list: PortLister
  logger: Logger
  events?: EventSink
  /** Flasher limits (timeouts, reset step, read-back). The reset sequence comes from the board guess. */
  flasher?: Omit<FlasherOptions, 'logger' | 'resetStrategy'>
  /** How often the port list is polled while someone watches it; 0 disables polling. Default 1500 ms. */
  watchIntervalMs?: number
  /** How long to wait, after a write, for the device to print its IP. Default 120 s. */
  ipWaitMs?: number
  monitorRingLines?: number
  /** Frames of serialFlash.stream kept for replay. Default 2000. */
  flashRingFrames?: number
  onDeviceOnline?: (d: SerialDeviceOnline) => void
  now?: () => number
}

/**
 * The USB-serial feature behind the API: the port list, one serial monitor per port, and the
 * read/write/restore jobs that borrow a monitor's port for the ROM bootloader. One job per port
 * at a time; only ports the core listed may be opened. Every `nvs` partition read is backed up
 * before anything else happens to it. Passwords enter through `writeSettings` and never leave:
 * not in answers, frames, events or log records, and device output is masked for them.
 */
export class SerialService {
  readonly monitors: SerialMonitors
  readonly backups: NvsBackupStore
  readonly flashFrames: OrderedRing<FlashFrame>
  readonly #o: SerialServiceOptions
  readonly #log: Logger
  readonly #redactor = new SecretRedactor()
  readonly #watcher: SerialPortWatcher
  readonly #busy = new Set<string>()
  readonly #macByPath = new Map<string, string>()
  readonly #portListeners = new Set<() => void>()
  /** The IP watch of each port after a write: stop it silently, or with a reason sent as `no-ip`. */
  readonly #ipWatches = new Map<string, (reason?: string) => void>()
  #ports: SerialPortEntry[] = []
  #lastListError: string | undefined
  #stopped = false

  constructor(o: SerialServiceOptions) {
    this.#o = o
    this.#log = o.logger
    this.backups = new NvsBackupStore(o.dataDir, o.now)
    this.flashFrames = new OrderedRing(o.flashRingFrames ?? 2000)
    this.monitors = new SerialMonitors({
      open: o.open,
      ...(o.monitorRingLines ? { ringLines: o.monitorRingLines } : {}),
      redact: (t) => this.#redactor.redact(t),
      logger: o.logger.child('monitor'),
      ...(o.now ? { now: o.now } : {}),
    })
    this.monitors.onFrame((f) => {
      if (f.kind === 'state' || f.event?.kind === 'ip') this.#portsChanged()
    })
    this.#watcher = new SerialPortWatcher(
      (c) => {
        this.#ports = c.current
        this.#portsChanged()
      },
      { lister: o.list, intervalMs: o.watchIntervalMs ?? 1500, onError: (m) => this.#listFailed(m) },
    )
  }

  // ---- ports ------------------------------------------------------------------------------

  async listPorts(): Promise<Result<PortInfo[]>> {
    const r = await this.#watcher.poll()
    if (!r.ok) {
      this.#listFailed(r.error.message)
      return r
    }
    this.#lastListError = undefined
    this.#ports = r.value.current
    return ok(this.portsSnapshot())
  }

  portsSnapshot(): PortInfo[] {
    return this.#ports.map((p) => {
      const info: PortInfo = {
        path: p.path,
        board: {
          bridge: p.board.bridge,
          label: p.board.label,
          likelyMiner: p.board.likelyMiner,
          ...(p.board.resetStrategy ? { resetStrategy: p.board.resetStrategy } : {}),
        },
        monitor: this.#busy.has(p.path) ? 'busy' : this.monitors.state(p.path),
      }
      if (p.vendorId) info.vendorId = p.vendorId
      if (p.productId) info.productId = p.productId
      if (p.serialNumber) info.serialNumber = p.serialNumber
      if (p.manufacturer) info.manufacturer = p.manufacturer
      const mac = this.#macByPath.get(p.path)
      if (mac) info.mac = mac
      const ip = this.monitors.lastIp(p.path)
      if (ip) info.lastIp = ip
      return info
    })
  }

  /** Subscribes to port-list changes; the list is polled only while someone listens. */
  onPortsChange(cb: () => void): () => void {
    this.#portListeners.add(cb)
    if (this.#portListeners.size === 1 && (this.#o.watchIntervalMs ?? 1500) > 0 && !this.#stopped) this.#watcher.start()
    return () => {
      this.#portListeners.delete(cb)
      if (this.#portListeners.size === 0) this.#watcher.stop()
    }
  }

  // ---- monitor ----------------------------------------------------------------------------

  async monitorOpen(path: string): Promise<Result<{ path: string; baudRate: number }>> {
    const known = await this.#known(path)
    if (!known.ok) return known
    return this.monitors.open(path)
  }

  async monitorClose(path: string): Promise<Result<{ path: string; wasOpen: boolean }>> {
    if (this.#busy.has(path)) {
      return serialErr(
        'PORT_IN_USE_BY_HASHYARD',
        `Settings are being read or written on ${path}; the monitor stays open until that is finished.`,
      )
    }
    const r = await this.monitors.close(path)
    return r.ok ? ok({ path, wasOpen: r.value.wasOpen }) : r
  }

  /** Reboots the device into its firmware; opens the monitor first so its boot log is seen. */
  async reset(path: string): Promise<Result<{ path: string }>> {
    const known = await this.#known(path)
    if (!known.ok) return known
    if (this.#busy.has(path)) {
      return serialErr('PORT_IN_USE_BY_HASHYARD', `Settings are being read or written on ${path}; try again after.`)
    }
    const opened = await this.monitors.open(path)
    if (!opened.ok) return opened
    const r = await this.monitors.reset(
      path,
      known.value.board.resetStrategy ?? 'classic',
      this.#o.flasher?.delay ?? realDelay,
      this.#o.flasher?.resetStepMs ?? 100,
    )
    return r.ok ? ok({ path }) : r
  }

  // ---- jobs -------------------------------------------------------------------------------

  async readSettings(path: string, jobId?: string): Promise<Result<DeviceSettingsResult>> {
    const job = this.#job(jobId, path, 'read')
    const r = await this.#withFlasher<DeviceSettingsResult>(
      path,
      'Reading the settings through the ROM bootloader.',
      async (f) => {
        const chip = await f.connect(job.progress)
        if (!chip.ok) return chip
        const { mac } = chip.value
        this.#macByPath.set(path, mac)
        job.mac = mac
        const image = await f.readNvsPartition(job.progress)
        if (!image.ok) return this.#thenReset(f, image)
        const parsed = readNvs(image.value)
        const saved = await this.#backup(job, {
          mac,
          chip: chip.value.chip,
          image: image.value,
          layout: parsed.ok ? detectPoolLayout(parsed.value.entries) : undefined,
          reason: 'read',
        })
        if (!saved.ok) return this.#thenReset(f, saved)
        const reset = await f.hardReset(job.progress)
        if (!reset.ok) return reset
        if (!parsed.ok) {
          return {
            ok: false,
            error: {
              ...parsed.error,
              message: `${parsed.error.message} The raw partition was kept as backup ${saved.value.id}.`,
            },
          }
        }
        this.#redactor.add(...secretsIn(parsed.value.entries))
        const summary = summariseSettings(parsed.value.entries)
        return ok({
          jobId: job.id,
          chip: chip.value.chip,
          mac,
          backupId: saved.value.id,
          ...summary,
          warnings: [...parsed.value.warnings, ...summary.warnings],
        })
      },
    )
    job.finish(r, (v) => `Read the settings of ${v.chip} ${v.mac} (backup ${v.backupId}).`)
    return r
  }

  async writeSettings(input: WriteSettingsInput): Promise<Result<WriteSettingsOutput>> {
    const { path } = input
    const job = this.#job(input.jobId, path, 'write')
    const change = buildChange(input)
    if (!change.ok) {
      job.finish(change, () => '')
      return change
    }
    this.#redactor.add(input.wifi?.password, input.pool?.password, input.fallbackPool?.password)
    let backup: BackupInfo | undefined
    let resetMarkSeq = this.monitors.lastSeq
    const verifiedBy = this.#o.flasher?.readBackAfterWrite ? ('md5+read-back' as const) : ('md5' as const)
    const r = await this.#withFlasher<WriteSettingsOutput>(
      path,
      'Writing settings through the ROM bootloader.',
      async (f) => {
        const w = await writeSettingsOverUsb(f, {
          change: change.value,
          onBackup: async (b) => {
            this.#macByPath.set(path, b.mac)
            job.mac = b.mac
            const parsed = readNvs(b.image)
            if (parsed.ok) this.#redactor.add(...secretsIn(parsed.value.entries))
            const saved = await this.#backup(job, {
              mac: b.mac,
              chip: b.chip,
              image: b.image,
              layout: parsed.ok ? detectPoolLayout(parsed.value.entries) : undefined,
              reason: 'before-write',
            })
            if (saved.ok) backup = saved.value
            return saved
          },
          onProgress: (p) => {
            // The firmware's boot log starts with this reset: the IP line to wait for comes after it.
            if (p.phase === 'reset' && p.doneBytes === 0) resetMarkSeq = this.monitors.lastSeq
            job.progress(p)
          },
        })
        if (!w.ok) return { ok: false, error: withBackupHint(w.error, backup) }
        const out: WriteSettingsOutput = {
          jobId: job.id,
          chip: w.value.chip,
          mac: w.value.mac,
          layout: w.value.layout,
          changedKeys: w.value.changedKeys,
          backupId: backup?.id ?? '',
          verifiedBy,
        }
        if (input.workerName) out.nextWorkerName = nextWorkerName(input.workerName)
        return ok(out)
      },
    )
    job.finish(
      r,
      (v) =>
        `Wrote ${v.changedKeys.join(', ')} to ${v.chip} ${v.mac}, verified (${v.verifiedBy}); backup ${v.backupId}.`,
    )
    if (r.ok) {
      const pool = change.value.primaryPool
      this.#watchForIp(
        job,
        path,
        r.value,
        resetMarkSeq,
        pool ? { url: pool.url, port: pool.port, user: pool.user } : undefined,
      )
    }
    return r
  }

  async restoreBackup(
    path: string,
    backupId: string,
    jobId?: string,
  ): Promise<Result<{ jobId: string; chip: string; mac: string; backupId: string }>> {
    const job = this.#job(jobId, path, 'restore')
    const loaded = await this.backups.load(backupId)
    if (!loaded.ok) {
      job.finish(loaded, () => '')
      return loaded
    }
    job.mac = loaded.value.info.mac
    const r = await this.#withFlasher(path, `Restoring backup ${backupId}.`, async (f) => {
      const done = await restoreBackupOverUsb(
        f,
        { mac: loaded.value.info.mac, image: loaded.value.image },
        job.progress,
      )
      return done.ok ? ok({ jobId: job.id, chip: done.value.chip, mac: done.value.mac, backupId }) : done
    })
    job.finish(r, (v) => `Restored backup ${v.backupId} to ${v.chip} ${v.mac}, verified.`)
    return r
  }

  async listBackups(mac?: string): Promise<BackupInfo[]> {
    return this.backups.list(mac)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    this.#watcher.stop()
    for (const cancel of [...this.#ipWatches.values()]) cancel()
    await this.monitors.closeAll()
  }

  // ---- internals --------------------------------------------------------------------------

  /** Only ports the core listed may be opened: a caller cannot point us at arbitrary files. */
  async #known(path: string): Promise<Result<SerialPortEntry>> {
    let entry = this.#ports.find((p) => p.path === path)
    if (!entry) {
      const listed = await this.listPorts()
      if (!listed.ok) return listed
      entry = this.#ports.find((p) => p.path === path)
    }
    if (!entry) {
      return serialErr(
        'PORT_NOT_FOUND',
        `${path.slice(0, 256)} is not a serial port Hashyard has listed. Plug the device in and refresh the list.`,
      )
    }
    return ok(entry)
  }

  async #withFlasher<T>(path: string, why: string, run: (f: EspRomFlasher) => Promise<Result<T>>): Promise<Result<T>> {
    if (this.#stopped) return serialErr('PORT_CLOSED', 'Hashyard is shutting down.')
    if (this.#busy.has(path)) {
      return serialErr(
        'PORT_IN_USE_BY_HASHYARD',
        `Another operation is already running on ${path}; wait for it to finish.`,
      )
    }
    this.#busy.add(path)
    this.#ipWatches.get(path)?.('Another job started on this port before the device reported its IP address.')
    this.#portsChanged()
    try {
      const known = await this.#known(path)
      if (!known.ok) return known
      const opened = await this.monitors.open(path)
      if (!opened.ok) return opened
      const lent = this.monitors.borrow(path, why)
      if (!lent.ok) return lent
      const flasher = new EspRomFlasher(lent.value.port, {
        ...this.#o.flasher,
        resetStrategy: known.value.board.resetStrategy ?? 'classic',
        logger: this.#log.child('esp-rom'),
      })
      try {
        return await run(flasher)
      } finally {
        flasher.dispose()
        lent.value.giveBack()
      }
    } finally {
      this.#busy.delete(path)
      this.#portsChanged()
    }
  }

  /** After a failed read the chip sits in download mode: boot it back into its firmware. */
  async #thenReset<T>(f: EspRomFlasher, failure: Result<T>): Promise<Result<T>> {
    const r = await f.hardReset()
    if (!r.ok) this.#log.warn('could not reset the device after a failed read', { error: r.error.message })
    return failure
  }

  async #backup(job: Job, b: Parameters<NvsBackupStore['save']>[0]): Promise<Result<BackupInfo>> {
    job.emit('backup', 0, b.image.length, { message: 'Keeping a backup of the partition read from the device.' })
    const saved = await this.backups.save(b)
    if (saved.ok) {
      job.emit('backup', b.image.length, b.image.length, { message: `Backup ${saved.value.id} kept.` })
      this.#log.info('nvs backup kept', { id: saved.value.id, mac: b.mac, reason: b.reason })
    }
    return saved
  }

  #job(jobId: string | undefined, path: string, op: JobOp): Job {
    const id = jobId ?? randomUUID()
    const now = this.#o.now ?? Date.now
    let last: { phase: JobPhase; doneBytes: number } | undefined
    const job: Job = {
      id,
      mac: undefined,
      emit: (phase, doneBytes, totalBytes, extra = {}) => {
        last = { phase, doneBytes }
        this.flashFrames.push((seq) => ({
          seq,
          tsMs: now(),
          jobId: id,
          path,
          op,
          phase,
          doneBytes,
          totalBytes,
          ...(job.mac ? { mac: job.mac } : {}),
          ...extra,
        }))
      },
      progress: (p: FlashProgress) => {
        // A read is 384 commands of 64 bytes: send about 25 frames a phase, not one per command.
        const step = Math.max(1, Math.floor(p.totalBytes / 25))
        if (last?.phase === p.phase && p.doneBytes !== p.totalBytes && p.doneBytes - last.doneBytes < step) return
        job.emit(p.phase, p.doneBytes, p.totalBytes)
      },
      finish: (r, describe) => {
        if (r.ok) {
          job.emit('done', 1, 1)
          const message = describe(r.value)
          if (message) this.#o.events?.append('info', 'serial', message, { path, jobId: id, op })
          return
        }
        const reason = (r.error.details as { reason?: string } | undefined)?.reason
        job.emit('failed', 0, 0, {
          message: r.error.message,
          error: { code: r.error.code, message: r.error.message, ...(reason ? { reason } : {}) },
        })
        this.#o.events?.append('warn', 'serial', `${opLabel(op)} on ${path} failed: ${r.error.message}`, {
          path,
          jobId: id,
          op,
          ...(reason ? { reason } : {}),
        })
      },
    }
    return job
  }

  #watchForIp(
    job: Job,
    path: string,
    w: WriteSettingsOutput,
    afterSeq: number,
    pool: SerialDeviceOnline['pool'],
  ): void {
    const waitMs = this.#o.ipWaitMs ?? 120_000
    job.emit('waiting-for-ip', 0, 0, { message: 'Waiting for the device to join Wi-Fi and report its IP address.' })
    let finished = false
    let off: (() => void) | undefined
    const finish = (): void => {
      finished = true
      clearTimeout(timer)
      off?.()
      if (this.#ipWatches.get(path) === cancel) this.#ipWatches.delete(path)
    }
    const cancel = (reason?: string): void => {
      if (finished) return
      finish()
      if (reason) job.emit('no-ip', 0, 0, { message: reason })
    }
    const timer = setTimeout(() => {
      finish()
      job.emit('no-ip', 0, 0, {
        message: `The device did not report an IP address within ${waitMs >= 10_000 ? Math.round(waitMs / 1000) : (waitMs / 1000).toFixed(1)} s. Check the Wi-Fi name and password; the monitor shows what it printed.`,
      })
    }, waitMs)
    timer.unref?.()
    this.#ipWatches.get(path)?.('A newer write on this port is waiting for the IP address instead.')
    this.#ipWatches.set(path, cancel)
    off = this.monitors.watch(path, afterSeq, (f) => {
      if (finished) return true
      if (f.kind === 'state') {
        if (f.state !== 'unplugged' && f.state !== 'closed') return false
        finish()
        job.emit('no-ip', 0, 0, { message: 'The serial port closed before the device reported its IP address.' })
        return true
      }
      const e = f.event
      if (!e) return false
      if (e.kind === 'ip') {
        finish()
        job.emit('online', 1, 1, { ip: e.ip, message: `The device joined the network as ${e.ip}.` })
        this.#online({
          dataDir: this.#o.dataDir,
          path,
          mac: w.mac,
          chip: w.chip,
          ip: e.ip,
          tsMs: f.tsMs,
          ...(pool ? { pool } : {}),
        })
        return true
      }
      if (e.kind === 'wifi-failed') {
        job.emit('waiting-for-ip', 0, 0, {
          message: `Could not join "${e.ssid}" (reason ${e.reason}); the device keeps trying.`,
        })
      } else if (e.kind === 'wifi-no-ssid' || e.kind === 'ap-mode') {
        job.emit('waiting-for-ip', 0, 0, {
          message: 'The device opened its setup access point instead of joining Wi-Fi.',
        })
      }
      return false
    })
    if (finished) off()
  }

  #online(d: SerialDeviceOnline): void {
    this.#o.events?.append('info', 'serial', `Miner ${d.mac} joined the network as ${d.ip}.`, {
      path: d.path,
      mac: d.mac,
      ip: d.ip,
    })
    const failures: unknown[] = []
    try {
      this.#o.onDeviceOnline?.(d)
    } catch (e) {
      failures.push(e)
    }
    failures.push(...emitSerialDeviceOnline(d))
    for (const e of failures) this.#log.error('a device-online listener failed', { error: String(e) })
  }

  #portsChanged(): void {
    for (const cb of [...this.#portListeners]) cb()
  }

  #listFailed(message: string): void {
    if (this.#lastListError === message) return
    this.#lastListError = message
    this.#log.warn('listing serial ports failed', { error: message })
  }
}

interface Job {
  id: string
  mac: string | undefined
  emit(phase: JobPhase, doneBytes: number, totalBytes: number, extra?: Partial<FlashFrame>): void
  progress: ProgressFn
  finish<T>(r: Result<T>, describe: (v: T) => string): void
}

function opLabel(op: JobOp): string {
  return op === 'read' ? 'Reading settings' : op === 'write' ? 'Writing settings' : 'Restoring a backup'
}

function buildChange(input: WriteSettingsInput): Result<SettingsChange> {
  const change: SettingsChange = {}
  if (input.wifi) change.wifi = { ssid: input.wifi.ssid, password: input.wifi.password }
  if (input.pool) {
    const t = toPoolTarget(input.pool, input.workerName)
    if (!t.ok) return t
    change.primaryPool = t.value
  }
  if (input.fallbackPool) {
    const t = toPoolTarget(input.fallbackPool, input.workerName)
    if (!t.ok) return t
    change.fallbackPool = t.value
  }
  if (input.workerName && !input.pool && !input.fallbackPool) {
    return serialErr('BAD_ARGUMENT', 'A worker name is written with a pool: choose the pool too.')
  }
  if (!change.wifi && !change.primaryPool && !change.fallbackPool) {
    return serialErr('BAD_ARGUMENT', 'Choose Wi-Fi settings or a pool to write.')
  }
  return ok(change)
}

/** Names the backup a failed write can be undone with, so the UI can offer "Restore". */
function withBackupHint(e: AppError, backup: BackupInfo | undefined): AppError {
  if (!backup) return e
  const details = typeof e.details === 'object' && e.details !== null ? e.details : {}
  return { ...e, details: { ...details, backupId: backup.id } }
}
