import type { MethodInput } from '../../shared/contract'
import type { SerialFlashFrame } from '../../shared/contract/serial'
import type { MessageKey } from './i18n'

/**
 * The pure half of the USB setup screen: reading what the technician typed into the shape
 * `serial.writeSettings` takes, and turning job frames into a progress fraction. No DOM, no
 * client: tested on its own (usb-form.test.ts).
 */

export type WriteRequest = MethodInput<'serial.writeSettings'>

export interface SetupForm {
  ssid: string
  /** Write-only: never shown back, never prefilled. Empty keeps the device's password. */
  wifiPassword: string
  poolUrl: string
  poolPort: string
  poolUser: string
  /** Write-only, like the Wi-Fi password. */
  poolPassword: string
  workerName: string
}

export const EMPTY_FORM: SetupForm = {
  ssid: '',
  wifiPassword: '',
  poolUrl: '',
  poolPort: '',
  poolUser: '',
  poolPassword: '',
  workerName: '',
}

export type FieldErrors = Partial<Record<keyof SetupForm | 'form', MessageKey>>

/** `stratum+tcp://host:port/` as a pasted pool address: the scheme AxeOS adds itself, host and port apart. */
export type PoolAddress = { host: string; port?: number; fixed: boolean } | { error: MessageKey }

const PLAIN_SCHEMES = new Set(['stratum+tcp', 'stratum', 'tcp'])
const HOST = /^[A-Za-z0-9.-]{1,253}$/
const WORKER = /^[A-Za-z0-9_@+:-]{1,32}$/

/** Splits a pasted pool address; a plain-TCP scheme, a trailing slash or a port are fixed up, not refused. */
export function splitPoolAddress(text: string): PoolAddress {
  let rest = text.trim()
  let fixed = false
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(rest)
  if (scheme) {
    const s = (scheme[1] as string).toLowerCase()
    // ESP-Miner's TLS flag and certificate are not part of what is written over USB.
    if (!PLAIN_SCHEMES.has(s))
      return { error: s.includes('ssl') || s.includes('tls') ? 'usb.err.tls' : 'usb.err.scheme' }
    rest = rest.slice(scheme[0].length)
    fixed = true
  }
  const trimmed = rest.replace(/\/+$/, '')
  if (trimmed !== rest) fixed = true
  rest = trimmed
  let port: number | undefined
  const withPort = /^(.*):(\d{1,5})$/.exec(rest)
  if (withPort) {
    port = Number(withPort[2])
    rest = withPort[1] as string
    fixed = true
  }
  if (!HOST.test(rest)) return { error: 'usb.err.host' }
  if (port !== undefined && (port < 1 || port > 65535)) return { error: 'usb.err.port' }
  return port === undefined ? { host: rest, fixed } : { host: rest, port, fixed }
}

/**
 * Checks the form and builds the write request. Wi-Fi and pool are each optional, but one of them
 * is needed; a worker name goes with a pool. Empty passwords are left out: the device keeps its own.
 */
export function buildWriteRequest(
  form: SetupForm,
  path: string,
  jobId: string,
): { ok: true; value: WriteRequest } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {}
  const req: WriteRequest = { path, jobId }
  const ssid = form.ssid.trim()
  if (ssid) {
    if (new TextEncoder().encode(ssid).length > 32) errors.ssid = 'usb.err.ssid'
    else if (new TextEncoder().encode(form.wifiPassword).length > 63) errors.wifiPassword = 'usb.err.wifiPassword'
    else req.wifi = form.wifiPassword ? { ssid, password: form.wifiPassword } : { ssid }
  } else if (form.wifiPassword) errors.ssid = 'usb.err.ssidMissing'

  const url = form.poolUrl.trim()
  const worker = form.workerName.trim()
  if (url) {
    const addr = splitPoolAddress(url)
    const portText = form.poolPort.trim()
    const portField = portText ? Number(portText) : undefined
    if ('error' in addr) errors.poolUrl = addr.error
    else if (portField !== undefined && (!Number.isInteger(portField) || portField < 1 || portField > 65535)) {
      errors.poolPort = 'usb.err.port'
    } else if (addr.port !== undefined && portField !== undefined && addr.port !== portField) {
      errors.poolPort = 'usb.err.portMismatch'
    } else if (addr.port === undefined && portField === undefined) errors.poolPort = 'usb.err.portMissing'
    const user = form.poolUser.trim()
    if (!user) errors.poolUser = 'usb.err.user'
    else if (user.length > 256) errors.poolUser = 'usb.err.userLong'
    if (worker && !WORKER.test(worker)) errors.workerName = 'usb.err.worker'
    if (!('error' in addr)) {
      const port = addr.port ?? portField
      req.pool = {
        url: addr.host,
        ...(port !== undefined ? { port } : {}),
        user,
        ...(form.poolPassword ? { password: form.poolPassword } : {}),
      }
      if (worker) req.workerName = worker
    }
  } else if (worker || form.poolUser.trim() || form.poolPassword) errors.poolUrl = 'usb.err.poolMissing'

  if (!ssid && !url && Object.keys(errors).length === 0) errors.form = 'usb.err.nothing'
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, value: req }
}

export type JobOp = SerialFlashFrame['op']
export type JobPhase = SerialFlashFrame['phase']

/** The steps of each job up to `done`, in order, with their share of the bar (bytes move inside a step). */
export const STEPS: Record<JobOp, { phase: JobPhase; weight: number }[]> = {
  read: [
    { phase: 'connect', weight: 10 },
    { phase: 'read', weight: 75 },
    { phase: 'backup', weight: 5 },
    { phase: 'reset', weight: 10 },
  ],
  write: [
    { phase: 'connect', weight: 5 },
    { phase: 'read', weight: 35 },
    { phase: 'backup', weight: 3 },
    { phase: 'erase', weight: 5 },
    { phase: 'write', weight: 35 },
    { phase: 'verify', weight: 12 },
    { phase: 'reset', weight: 5 },
  ],
  restore: [
    { phase: 'connect', weight: 5 },
    { phase: 'erase', weight: 10 },
    { phase: 'write', weight: 65 },
    { phase: 'verify', weight: 15 },
    { phase: 'reset', weight: 5 },
  ],
}

/** Phases that come after `done` on a write: the device rebooting and joining Wi-Fi. */
export const AFTER_DONE: ReadonlySet<JobPhase> = new Set(['done', 'waiting-for-ip', 'online', 'no-ip'])

/** 0…1 along the job's steps; 1 from `done` on. A phase outside the list keeps the bar where it was. */
export function jobFraction(op: JobOp, phase: JobPhase, doneBytes: number, totalBytes: number, prev = 0): number {
  if (AFTER_DONE.has(phase)) return 1
  const steps = STEPS[op]
  const i = steps.findIndex((s) => s.phase === phase)
  if (i === -1) return prev
  const total = steps.reduce((n, s) => n + s.weight, 0)
  const before = steps.slice(0, i).reduce((n, s) => n + s.weight, 0)
  const inside = totalBytes > 0 ? Math.min(1, Math.max(0, doneBytes / totalBytes)) : 0
  // Phases can repeat (the reset after a read is also `reset`): never move the bar backwards.
  return Math.max(prev, (before + inside * (steps[i] as { weight: number }).weight) / total)
}

/** Phases whose counters are bytes (`connect` counts attempts, `reset` steps). */
export const BYTE_PHASES: ReadonlySet<JobPhase> = new Set(['read', 'erase', 'write', 'verify'])

/** What the technician should do about a failure, keyed on the core's stable `details.reason`. */
export function adviceFor(reason: string | undefined, code: string | undefined): MessageKey {
  switch (reason) {
    case 'PORT_PERMISSION':
      return 'usb.advice.permission'
    case 'PORT_BUSY':
      return 'usb.advice.busy'
    case 'PORT_CLOSED':
    case 'PORT_ERROR':
    case 'PORT_NOT_FOUND':
      return 'usb.advice.unplugged'
    case 'ROM_SYNC_FAILED':
      return 'usb.advice.bootloader'
    case 'ROM_TIMEOUT':
    case 'ROM_BAD_RESPONSE':
    case 'ROM_COMMAND_FAILED':
    case 'SLIP_FRAME_TOO_LONG':
      return 'usb.advice.link'
    case 'VERIFY_FAILED':
      return 'usb.advice.verify'
    case 'ROM_NOT_SUPPORTED':
    case 'PARTITION_TABLE':
    case 'NVS_PARTITION_MISSING':
    case 'NVS_PARTITION_UNEXPECTED':
    case 'NVS_BAD_IMAGE':
    case 'NVS_BAD_ENTRY':
    case 'NVS_TOO_LARGE':
    case 'NVS_LAYOUT':
      return 'usb.advice.layout'
    case 'BAD_ARGUMENT':
      return 'usb.advice.input'
    case 'BACKUP_FAILED':
      return 'usb.advice.backup'
    case 'BACKUP_NOT_FOUND':
    case 'BACKUP_DAMAGED':
      return 'usb.advice.backupBad'
    case 'PORT_IN_USE_BY_HASHYARD':
      return 'usb.advice.inUse'
  }
  if (code === 'INVALID_PARAMS') return 'usb.advice.input'
  if (code === 'CORE_DOWN') return 'usb.advice.coreDown'
  return 'usb.advice.generic'
}

/**
 * Bench mode: the port to set up next. A port counts as new when it was absent from `known` (the
 * ports present when the last device finished); only ports that look like a miner qualify, so a
 * stray USB adapter is never flashed.
 */
export function nextBenchPort(
  ports: { path: string; board: { likelyMiner: boolean }; monitor: string }[],
  known: ReadonlySet<string>,
): string | undefined {
  return ports.find((p) => !known.has(p.path) && p.board.likelyMiner && p.monitor !== 'busy')?.path
}

/** Job ids the caller picks so progress frames can be matched before the answer arrives. */
let jobCounter = 0
export function newJobId(): string {
  jobCounter++
  return `ui-${Date.now().toString(36)}-${jobCounter}-${Math.floor(Math.random() * 1e9).toString(36)}`
}
