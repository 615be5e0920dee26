import { create } from 'zustand'
import type { MethodOutput } from '../../shared/contract'
import type {
  DeviceSettings,
  SerialBackupInfo,
  SerialFlashFrame,
  SerialMonitorFrame,
  SerialPortInfo,
} from '../../shared/contract/serial'
import type { MessageKey } from './i18n'
import { client } from './store'
import {
  AFTER_DONE,
  adviceFor,
  buildWriteRequest,
  EMPTY_FORM,
  type FieldErrors,
  type JobOp,
  type JobPhase,
  jobFraction,
  newJobId,
  nextBenchPort,
  type SetupForm,
  splitPoolAddress,
} from './usb-form'

/** Lines kept per port, and ports whose log is kept: the monitor can run for hours. */
export const MAX_LINES = 500
const MAX_LOG_PORTS = 8
const MAX_JOBS = 50

export type MonitorLine = SerialMonitorFrame

export interface JobFailure {
  code: string
  message: string
  reason?: string
  /** The backup a failed write can be undone with (from the answer's `details.backupId`). */
  backupId?: string
}

/** One read, write or restore, as its frames and its answer tell it. */
export interface JobView {
  jobId: string
  path: string
  op: JobOp
  phase: JobPhase
  doneBytes: number
  totalBytes: number
  fraction: number
  lastSeq: number
  message?: string
  mac?: string
  ip?: string
  failure?: JobFailure
  /** What the device said while joining Wi-Fi (a failed attempt, its setup access point). */
  waitNote?: string
  /** Set when the answer arrived (the frames may come first). */
  answered: boolean
  backupId?: string
}

export interface BenchEntry {
  path: string
  jobId: string
  workerName?: string
  mac?: string
}

export interface Notice {
  key: MessageKey
  vars?: Record<string, string | number>
  /** The core's own words, shown under the translated advice. */
  detail?: string
  tone: 'info' | 'warn' | 'bad'
}

interface UsbState {
  ports: SerialPortInfo[]
  portsLoaded: boolean
  selected: string | undefined
  lines: Record<string, MonitorLine[]>
  paused: boolean
  settings: Record<string, DeviceSettings>
  /** Ports written or restored since their settings were read: what is shown is the old state. */
  settingsStale: Record<string, boolean>
  jobs: Record<string, JobView>
  /** The newest job of each port (path → jobId). */
  currentJob: Record<string, string>
  form: SetupForm
  formErrors: FieldErrors
  /** The pasted pool address was split into host and port. */
  poolFixed: boolean
  /** The port whose settings filled empty form fields (shown beside those settings). */
  formFilledFrom: string | undefined
  bench: boolean
  /** Bench mode waits for a port absent from this set (the ports present when the last device finished). */
  benchKnown: string[] | undefined
  benchBusy: boolean
  benchLog: BenchEntry[]
  /** MAC → worker name written in this bench session: the same board is never written twice. */
  benchDone: Record<string, string>
  backups: SerialBackupInfo[]
  backupsMac: string | undefined
  notice: Notice | undefined
}

export const useUsb = create<UsbState>(() => ({
  ports: [],
  portsLoaded: false,
  selected: undefined,
  lines: {},
  paused: false,
  settings: {},
  settingsStale: {},
  jobs: {},
  currentJob: {},
  form: EMPTY_FORM,
  formErrors: {},
  poolFixed: false,
  formFilledFrom: undefined,
  bench: false,
  benchKnown: undefined,
  benchBusy: false,
  benchLog: [],
  benchDone: {},
  backups: [],
  backupsMac: undefined,
  notice: undefined,
}))

const failureOf = (e: unknown): JobFailure => {
  const f = e as { code?: unknown; message?: unknown; details?: unknown }
  const details = (typeof f?.details === 'object' && f.details !== null ? f.details : {}) as {
    reason?: unknown
    backupId?: unknown
  }
  return {
    code: typeof f?.code === 'string' ? f.code : 'INTERNAL',
    message: typeof f?.message === 'string' ? f.message : String(e),
    ...(typeof details.reason === 'string' ? { reason: details.reason } : {}),
    ...(typeof details.backupId === 'string' ? { backupId: details.backupId } : {}),
  }
}

const failureNotice = (e: unknown): Notice => {
  const f = failureOf(e)
  return { key: adviceFor(f.reason, f.code), detail: f.message, tone: 'bad' }
}

// ---- live data --------------------------------------------------------------------------

let monitorSeq = 0

function onMonitorFrame(f: SerialMonitorFrame): void {
  // Resubscribing replays what the core still holds: keep each frame once.
  if (f.seq <= monitorSeq) return
  monitorSeq = f.seq
  useUsb.setState((s) => {
    const prev = s.lines[f.path] ?? []
    const next = prev.length >= MAX_LINES ? [...prev.slice(prev.length - MAX_LINES + 1), f] : [...prev, f]
    const lines = { ...s.lines, [f.path]: next }
    const paths = Object.keys(lines)
    if (paths.length > MAX_LOG_PORTS) {
      const drop = paths.find((p) => p !== s.selected && p !== f.path)
      if (drop) delete lines[drop]
    }
    return { lines }
  })
}

function onFlashFrame(f: SerialFlashFrame): void {
  useUsb.setState((s) => {
    const prev = s.jobs[f.jobId]
    if (prev && f.seq <= prev.lastSeq) return {}
    const job: JobView = {
      ...(prev ?? { jobId: f.jobId, path: f.path, op: f.op, answered: false, fraction: 0 }),
      phase: f.phase,
      doneBytes: f.doneBytes,
      totalBytes: f.totalBytes,
      fraction: jobFraction(f.op, f.phase, f.doneBytes, f.totalBytes, prev?.fraction ?? 0),
      lastSeq: f.seq,
      ...(f.message !== undefined ? { message: f.message } : {}),
      ...(f.mac ? { mac: f.mac } : {}),
      ...(f.ip ? { ip: f.ip } : {}),
    }
    // The first `waiting-for-ip` says "waiting"; later ones carry what the device printed meanwhile.
    if (prev?.phase === 'waiting-for-ip' && f.phase === 'waiting-for-ip' && f.message) job.waitNote = f.message
    if (f.phase === 'failed' && f.error) {
      job.failure = {
        ...job.failure,
        code: f.error.code,
        message: f.error.message,
        ...(f.error.reason ? { reason: f.error.reason } : {}),
      }
    }
    const jobs = trimJobs({ ...s.jobs, [f.jobId]: job })
    // A job started elsewhere (another window) becomes the port's current job too.
    const currentJob = prev ? s.currentJob : { ...s.currentJob, [f.path]: f.jobId }
    return { jobs, currentJob }
  })
  if (f.phase === 'done' || f.phase === 'failed') {
    const mac = f.mac ?? useUsb.getState().backupsMac
    if (mac && mac === useUsb.getState().backupsMac) void loadBackups(mac)
  }
}

function trimJobs(jobs: Record<string, JobView>): Record<string, JobView> {
  const ids = Object.keys(jobs)
  if (ids.length <= MAX_JOBS) return jobs
  const keep = ids.sort((a, b) => (jobs[b]?.lastSeq ?? 0) - (jobs[a]?.lastSeq ?? 0)).slice(0, MAX_JOBS)
  return Object.fromEntries(keep.map((id) => [id, jobs[id] as JobView]))
}

function onPorts(ports: SerialPortInfo[]): void {
  useUsb.setState((s) => {
    const present = new Set(ports.map((p) => p.path))
    // A port that went away and came back is a new device (the next miner on the same cable).
    const benchKnown = s.benchKnown?.filter((p) => present.has(p))
    return { ports, portsLoaded: true, benchKnown }
  })
  maybeStartBench()
}

let started = false
/** Subscribes once to the three serial topics; they survive reconnects (the client resubscribes). */
export function startUsbData(): void {
  if (started) return
  started = true
  client.listen('serialPorts.stream', {}, { frame: (f) => onPorts(f.ports) })
  client.listen(
    'serialMonitor.stream',
    {},
    {
      frame: onMonitorFrame,
      resync: () => {
        monitorSeq = 0
        useUsb.setState({ lines: {} })
      },
    },
  )
  client.listen(
    'serialFlash.stream',
    {},
    {
      frame: onFlashFrame,
      resync: () =>
        useUsb.setState((s) => ({
          jobs: Object.fromEntries(Object.entries(s.jobs).map(([k, j]) => [k, { ...j, lastSeq: 0 }])),
        })),
    },
  )
  void refreshPorts()
}

export async function refreshPorts(): Promise<void> {
  try {
    const r = await client.call('serial.ports', {})
    onPorts(r.ports)
  } catch (e) {
    useUsb.setState({ portsLoaded: true, notice: failureNotice(e) })
  }
}

// ---- actions ----------------------------------------------------------------------------

export function dismissNotice(): void {
  useUsb.setState({ notice: undefined })
}

export async function selectPort(path: string): Promise<void> {
  useUsb.setState({ selected: path, notice: undefined })
  const port = useUsb.getState().ports.find((p) => p.path === path)
  const mac = useUsb.getState().settings[path]?.mac ?? port?.mac
  if (mac) void loadBackups(mac)
  else useUsb.setState({ backups: [], backupsMac: undefined })
  await openMonitor(path)
}

export async function openMonitor(path: string): Promise<boolean> {
  try {
    await client.call('serial.monitorOpen', { path })
    return true
  } catch (e) {
    useUsb.setState({ notice: failureNotice(e) })
    return false
  }
}

export async function closeMonitor(path: string): Promise<void> {
  try {
    await client.call('serial.monitorClose', { path })
  } catch (e) {
    useUsb.setState({ notice: failureNotice(e) })
  }
}

export async function resetDevice(path: string): Promise<void> {
  try {
    await client.call('serial.reset', { path })
  } catch (e) {
    useUsb.setState({ notice: failureNotice(e) })
  }
}

export function togglePaused(): void {
  useUsb.setState((s) => ({ paused: !s.paused }))
}

export function setForm(patch: Partial<SetupForm>): void {
  useUsb.setState((s) => {
    const formErrors = { ...s.formErrors }
    for (const k of Object.keys(patch) as (keyof SetupForm)[]) delete formErrors[k]
    delete formErrors.form
    return { form: { ...s.form, ...patch }, formErrors, ...('poolUrl' in patch ? { poolFixed: false } : {}) }
  })
}

/** On leaving the pool field: `stratum+tcp://host:port/` becomes host and port, as the device stores them. */
export function fixPoolAddress(): void {
  const { form } = useUsb.getState()
  if (!form.poolUrl.trim()) return
  const a = splitPoolAddress(form.poolUrl)
  if ('error' in a) {
    useUsb.setState((s) => ({ formErrors: { ...s.formErrors, poolUrl: a.error } }))
    return
  }
  if (!a.fixed) return
  if (a.port !== undefined && form.poolPort.trim() && Number(form.poolPort) !== a.port) {
    useUsb.setState((s) => ({ formErrors: { ...s.formErrors, poolPort: 'usb.err.portMismatch' } }))
    return
  }
  useUsb.setState((s) => ({
    form: { ...s.form, poolUrl: a.host, ...(a.port !== undefined ? { poolPort: String(a.port) } : {}) },
    poolFixed: true,
  }))
}

export function setBench(on: boolean): void {
  useUsb.setState({ bench: on, benchKnown: undefined, ...(on ? {} : { benchBusy: false }) })
}

export async function loadBackups(mac: string): Promise<void> {
  try {
    const r = await client.call('serial.backups', { mac })
    useUsb.setState({ backups: r.backups, backupsMac: mac })
  } catch (e) {
    useUsb.setState({ notice: failureNotice(e) })
  }
}

function beginJob(path: string, op: JobOp, jobId = newJobId()): string {
  useUsb.setState((s) => ({
    notice: undefined,
    jobs: trimJobs({
      ...s.jobs,
      [jobId]: s.jobs[jobId] ?? {
        jobId,
        path,
        op,
        phase: 'connect',
        doneBytes: 0,
        totalBytes: 0,
        fraction: 0,
        lastSeq: 0,
        answered: false,
      },
    }),
    currentJob: { ...s.currentJob, [path]: jobId },
  }))
  return jobId
}

function endJob(jobId: string, patch: Partial<JobView>): void {
  useUsb.setState((s) => {
    const j = s.jobs[jobId]
    if (!j) return {}
    return { jobs: { ...s.jobs, [jobId]: { ...j, ...patch, answered: true } } }
  })
}

/** The answer failed: the frames may already say so; the answer adds the backup to restore. */
function failJob(jobId: string, e: unknown): void {
  const failure = failureOf(e)
  useUsb.setState((s) => {
    const j = s.jobs[jobId]
    if (!j) return {}
    const phase = j.phase === 'failed' ? j.phase : ('failed' as const)
    return { jobs: { ...s.jobs, [jobId]: { ...j, phase, failure: { ...j.failure, ...failure }, answered: true } } }
  })
}

/** Between the start of a job and its `done`/`failed` (the IP watch after a write is not a job). */
export const isRunning = (j: JobView | undefined): boolean =>
  !!j && !j.answered && !AFTER_DONE.has(j.phase) && j.phase !== 'failed'

export async function readSettings(
  path: string,
  opts: { fillForm?: boolean } = {},
): Promise<DeviceSettings | undefined> {
  const jobId = beginJob(path, 'read')
  try {
    const r = await client.call('serial.readSettings', { path, jobId })
    endJob(jobId, { backupId: r.backupId, mac: r.mac })
    useUsb.setState((s) => ({
      settings: { ...s.settings, [path]: r },
      settingsStale: { ...s.settingsStale, [path]: false },
      ...(opts.fillForm !== false ? fillEmpty(s.form, r, path) : {}),
    }))
    void loadBackups(r.mac)
    return r
  } catch (e) {
    failJob(jobId, e)
    return undefined
  }
}

/** Fills only the fields still empty with what the device holds; passwords are never known here. */
function fillEmpty(
  form: SetupForm,
  d: DeviceSettings,
  path: string,
): { form: SetupForm; formFilledFrom: string | undefined } {
  const primary = d.pools.find((p) => p.role === 'primary')
  const out = { ...form }
  if (!out.ssid && d.wifi.ssid) out.ssid = d.wifi.ssid
  if (primary && !out.poolUrl && !out.poolUser && !out.workerName) {
    out.poolUrl = primary.url
    if (primary.port !== undefined && !out.poolPort) out.poolPort = String(primary.port)
    const dot = primary.user.indexOf('.')
    out.poolUser = dot === -1 ? primary.user : primary.user.slice(0, dot)
    if (dot !== -1) out.workerName = primary.user.slice(dot + 1)
  }
  return { form: out, formFilledFrom: JSON.stringify(out) !== JSON.stringify(form) ? path : undefined }
}

export async function writeSettings(path: string): Promise<MethodOutput<'serial.writeSettings'> | undefined> {
  const jobId = newJobId()
  const built = buildWriteRequest(useUsb.getState().form, path, jobId)
  if (!built.ok) {
    useUsb.setState({ formErrors: built.errors })
    return undefined
  }
  useUsb.setState({ formErrors: {} })
  const started = beginJob(path, 'write', jobId)
  try {
    const r = await client.call('serial.writeSettings', built.value)
    endJob(started, { backupId: r.backupId, mac: r.mac })
    markStale(path)
    const s = useUsb.getState()
    const worker = built.value.workerName
    if (s.bench) {
      useUsb.setState({
        benchLog: [...s.benchLog, { path, jobId, mac: r.mac, ...(worker ? { workerName: worker } : {}) }].slice(-200),
        benchDone: { ...s.benchDone, [r.mac]: worker ?? '' },
        benchKnown: s.ports.map((p) => p.path),
        ...(r.nextWorkerName ? { form: { ...s.form, workerName: r.nextWorkerName } } : {}),
      })
    } else {
      // Write-only: once on the device, the passwords leave the form.
      useUsb.setState({ form: { ...s.form, wifiPassword: '', poolPassword: '' } })
    }
    void loadBackups(r.mac)
    return r
  } catch (e) {
    failJob(started, e)
    return undefined
  }
}

function markStale(path: string): void {
  useUsb.setState((s) => (s.settings[path] ? { settingsStale: { ...s.settingsStale, [path]: true } } : {}))
}

export async function restoreBackup(path: string, backupId: string): Promise<void> {
  const jobId = beginJob(path, 'restore')
  try {
    const r = await client.call('serial.restoreBackup', { path, backupId, jobId })
    endJob(jobId, { backupId: r.backupId, mac: r.mac })
    markStale(path)
  } catch (e) {
    failJob(jobId, e)
  }
}

/** Bench mode: a miner plugged in after the last one finished gets the same settings, next worker name. */
function maybeStartBench(): void {
  const s = useUsb.getState()
  if (!s.bench || !s.benchKnown || s.benchBusy) return
  if (Object.values(s.currentJob).some((id) => isRunning(s.jobs[id]))) return
  const path = nextBenchPort(s.ports, new Set(s.benchKnown))
  if (!path) return
  useUsb.setState({ benchBusy: true, benchKnown: undefined })
  void runBench(path).finally(() => useUsb.setState({ benchBusy: false }))
}

async function runBench(path: string): Promise<void> {
  await selectPort(path)
  // Read first: it tells the MAC, so a board that merely re-enumerated after its reboot is not written twice.
  const read = await readSettings(path, { fillForm: false })
  if (!read) return
  const s = useUsb.getState()
  const done = s.benchDone[read.mac]
  if (done !== undefined) {
    useUsb.setState({
      benchKnown: s.ports.map((p) => p.path),
      notice: { key: 'usb.bench.already', vars: { mac: read.mac, worker: done || '—' }, tone: 'warn' },
    })
    return
  }
  if (!useUsb.getState().bench) return
  await writeSettings(path)
}

export const selectCurrentJob = (s: UsbState, path: string | undefined): JobView | undefined => {
  if (!path) return undefined
  const id = s.currentJob[path]
  return id ? s.jobs[id] : undefined
}
