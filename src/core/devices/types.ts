/**
 * The contract every vendor driver implements, and the normalised shapes it returns.
 *
 * Security constraints:
 * - Every string that comes from a device (hostname, model, pool URL, error text) is untrusted
 *   text. It is kept verbatim for display as text and must never be interpreted as HTML or used
 *   in a shell. Log it only through `sanitizeForLog` (untrusted-text.ts).
 * - Credentials are secrets: drivers use them for requests and never put them in results,
 *   errors or log fields.
 */
import type { AppError, Result } from '../../shared/errors'
import type { Logger } from '../logger'

export type Vendor =
  | 'antminer'
  | 'axeos'
  | 'nerdqaxe'
  | 'whatsminer'
  | 'braiins'
  | 'avalon'
  | 'luxos'
  | 'vnish'
  | 'epic'
  | 'auradine'
  | 'cgminer'

/** Where a device answers. Ports default to the vendor's usual ones (80 / 4028); tests override them. */
export interface DeviceEndpoint {
  host: string
  httpPort?: number
  rpcPort?: number
  /** Whatsminer API v3 (length-framed JSON, default 4433); set when the device answered there. */
  v3Port?: number
}

export interface DeviceCredentials {
  username: string
  password: string
}

/** Stable identity; the store keys a device by MAC, then serial, then hostname, then IP. */
export interface DeviceIdentity {
  vendor: Vendor
  endpoint: DeviceEndpoint
  model: string | null
  firmware: string | null
  /** Upper-case, colon-separated (`AA:BB:CC:DD:EE:FF`), or null when the device does not say. */
  mac: string | null
  hostname: string | null
  serial: string | null
}

/**
 * The averaging window a hashrate reading covers, as the firmware labels it. `now` is a
 * firmware's "current" figure whose window it does not state (AxeOS `hashRate`).
 */
export type HashrateWindow = 'now' | '5s' | '15s' | '30s' | '1m' | '5m' | '10m' | '15m' | '30m' | '1h' | '24h' | 'avg'

export interface HashrateReading {
  window: HashrateWindow
  ths: number
  /** Which field it came from, e.g. `rpc summary "GHS 5s"`: lets the UI explain a number. */
  source: string
}

export interface BoardStatus {
  index: number
  hashrateThs: number | null
  boardTempC: number | null
  /** Hottest chip sensor on the board. */
  chipTempC: number | null
  chips: number | null
  serial: string | null
}

export type PoolState = 'alive' | 'dead' | 'disabled' | 'rejecting' | 'unknown'

export interface PoolStatus {
  /** The firmware's own index (Whatsminer v2 counts from 1; AxeOS slots from 0). */
  index: number
  url: string
  user: string
  state: PoolState
  /** The pool the device is mining on right now. */
  active: boolean
  priority: number | null
  accepted: number | null
  rejected: number | null
}

export interface DeviceStatus {
  tsMs: number
  /** Every window the firmware reported; `hashrateThs` is the shortest one. */
  hashrates: HashrateReading[]
  hashrateThs: number | null
  expectedHashrateThs: number | null
  boards: BoardStatus[]
  fansRpm: number[]
  powerW: number | null
  uptimeS: number | null
  pools: PoolStatus[]
  accepted: number | null
  rejected: number | null
  /** Problems the device itself reports (failed fan, board down). */
  errors: string[]
  /** Fields that were present but malformed, so the UI can show "partial data" instead of a zero. */
  warnings: string[]
}

/** One pool to write. The password is a secret: never logged, never echoed back. */
export interface PoolTarget {
  url: string
  user: string
  password: string
}

export interface DriverCapabilities {
  setPools: boolean
  /** How many pools the firmware holds (AxeOS ≤2.14: 2; Antminer: 3). */
  maxPools: number
  reboot: boolean
  /** `toggle`: on and off on request; `timed`: the device blinks for a fixed time and stops itself. */
  locate: 'toggle' | 'timed' | 'none'
  /** What the write-safety protocol must do after a pool write (research §7). */
  afterPoolWrite: 'restart' | 'none' | 'verify-then-reboot'
}

export type DeviceResult<T> = Result<T, AppError>

export interface MinerDriver {
  readonly identity: DeviceIdentity
  readonly capabilities: DriverCapabilities
  read(): Promise<DeviceResult<DeviceStatus>>
  /** Writes pools in priority order (index 0 = primary). Never retried on a timeout. */
  setPools(pools: readonly PoolTarget[]): Promise<DeviceResult<void>>
  /** Restarts the mining process or the device, whichever the firmware needs to apply pools. */
  reboot(): Promise<DeviceResult<void>>
  locate(on: boolean): Promise<DeviceResult<void>>
  /**
   * The configured pools including passwords, where the firmware returns them (Antminer
   * `get_miner_conf.cgi`). Used only to restore after a failed change; the result is a secret.
   */
  snapshotPools?(): Promise<DeviceResult<PoolTarget[]>>
}

/** Options every driver accepts. */
export interface DriverOptions {
  timeoutMs?: number
  credentials?: DeviceCredentials
  logger?: Logger
}

/** Stable reasons carried in `AppError.details.reason` for device failures. */
export type DeviceErrorReason =
  | 'CONNECT_FAILED'
  | 'TIMEOUT'
  | 'BAD_JSON'
  | 'BAD_REPLY'
  | 'HTTP_STATUS'
  | 'AUTH_FAILED'
  | 'ACCESS_DENIED'
  | 'COMMAND_FAILED'
  | 'TOO_LARGE'
  | 'INVALID_POOL'
  | 'NOT_SUPPORTED'
  | 'VERIFY_FAILED'
