/**
 * Braiins OS / BOS+ through its public REST API (`/api/v1`, BOS ≥ 25.07; research §4.2). Login is
 * `POST /api/v1/auth/login` → `{token}`, sent back as the raw `Authorization` header (no "Bearer").
 * Reads: miner details, stats (GH/s), hashboards, cooling, pools. Pool write: `PUT
 * /api/v1/pools/batch` replaces every group with one failover group; the firmware restarts
 * bosminer itself. Older BOS (GraphQL, gRPC) is detected but read through the cgminer API only.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { validatePools } from '../cgminer/driver'
import { deviceErr, deviceError } from '../device-error'
import {
  asArray,
  asRecord,
  at,
  type FieldNotes,
  type JsonRecord,
  newNotes,
  normaliseMac,
  numField,
  textField,
  toBool,
  toNumber,
  toText,
  toThs,
} from '../field-map'
import { expectOk, type HttpRequest, httpRequest, jsonBody } from '../http-client'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type {
  BoardStatus,
  DeviceCredentials,
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DeviceStatus,
  DriverCapabilities,
  DriverOptions,
  HashrateReading,
  MinerDriver,
  PoolStatus,
} from '../types'

/** asic-rs uses root/root from 25.07 (older releases shipped an empty password). */
export const BRAIINS_DEFAULT: DeviceCredentials = { username: 'root', password: 'root' }

const WINDOWS: readonly [string, HashrateReading['window']][] = [
  ['last_5s', '5s'],
  ['last_15s', '15s'],
  ['last_30s', '30s'],
  ['last_1m', '1m'],
  ['last_5m', '5m'],
  ['last_15m', '15m'],
  ['last_30m', '30m'],
  ['last_1h', '1h'],
  ['last_24h', '24h'],
  ['since_restart', 'avg'],
]

const ghs = (v: unknown): number | null => {
  const n = toNumber(at(v, 'gigahash_per_second'))
  return n === undefined ? null : toThs(n, 'GH')
}

/** A session per device: logs in on first use and again once when the token was refused. */
export class BraiinsRest {
  #token: string | undefined

  constructor(
    private readonly endpoint: DeviceEndpoint,
    private readonly credentials: DeviceCredentials,
    private readonly timeoutMs = 5000,
  ) {}

  #req(method: HttpRequest['method'], path: string, body?: unknown, auth = true): HttpRequest {
    const r: HttpRequest = { host: this.endpoint.host, method, path, timeoutMs: this.timeoutMs }
    if (this.endpoint.httpPort !== undefined) r.port = this.endpoint.httpPort
    if (body !== undefined) r.body = JSON.stringify(body)
    if (auth && this.#token) r.headers = { Authorization: this.#token }
    return r
  }

  async #login(): Promise<Result<void, AppError>> {
    const res = await httpRequest(this.#req('POST', '/api/v1/auth/login', this.credentials, false))
    if (!res.ok) return res
    if (res.value.status === 401 || res.value.status === 403)
      return deviceErr('AUTH_FAILED', 'Braiins OS refused the username or password')
    const checked = expectOk(res.value, 'POST /api/v1/auth/login')
    if (!checked.ok) return checked
    const json = jsonBody(checked.value, 'login')
    if (!json.ok) return json
    const token = toText(at(json.value, 'token'))
    if (!token) return deviceErr('BAD_REPLY', 'Braiins OS login gave no token')
    this.#token = token
    return ok(undefined)
  }

  /** An authenticated call; `expectJson` false for 204-style replies. */
  async call(
    method: HttpRequest['method'],
    path: string,
    body?: unknown,
    expectJson = true,
  ): Promise<Result<unknown, AppError>> {
    for (const retry of [false, true]) {
      if (!this.#token || retry) {
        const l = await this.#login()
        if (!l.ok) return l
      }
      const res = await httpRequest(this.#req(method, path, body))
      if (!res.ok) return res
      if (res.value.status === 401 && !retry) continue
      const checked = expectOk(res.value, `${method} ${path}`)
      if (!checked.ok) return checked
      if (!expectJson || checked.value.body.trim() === '') return ok(undefined)
      return jsonBody(checked.value, `${method} ${path}`)
    }
    return err(deviceError('AUTH_FAILED', 'Braiins OS kept refusing the session token'))
  }
}

export function braiinsIdentity(details: unknown, notes: FieldNotes) {
  return {
    model: textField(at(details, 'miner_identity'), 'miner_model', notes, 'details'),
    firmware: textField(at(details, 'bos_version'), 'current', notes, 'details'),
    mac: normaliseMac(at(details, 'mac_address')),
    hostname: textField(details, 'hostname', notes, 'details'),
    serial: textField(details, 'serial_number', notes, 'details'),
  }
}

export function braiinsPools(reply: unknown, notes: FieldNotes): PoolStatus[] {
  const out: PoolStatus[] = []
  for (const g of asArray(reply) ?? [])
    for (const p of asArray(at(g, 'pools')) ?? []) {
      const r = asRecord(p)
      if (!r) continue
      const enabled = toBool(r.enabled) ?? true
      const alive = toBool(r.alive)
      out.push({
        index: out.length,
        url: textField(r, 'url', notes, 'pools') ?? '',
        user: textField(r, 'user', notes, 'pools') ?? '',
        state: !enabled ? 'disabled' : alive === true ? 'alive' : alive === false ? 'dead' : 'unknown',
        active: toBool(r.active) ?? false,
        priority: out.length,
        accepted: numField(r.stats, 'accepted_shares', notes, 'pools'),
        rejected: numField(r.stats, 'rejected_shares', notes, 'pools'),
      })
    }
  return out
}

export function braiinsStatus(
  details: unknown,
  stats: unknown,
  boards: unknown,
  cooling: unknown,
  pools: unknown,
  notes: FieldNotes,
  tsMs: number,
): DeviceStatus {
  const st = emptyStatus(tsMs)
  const real = at(stats, 'miner_stats', 'real_hashrate')
  const readings: HashrateReading[] = []
  for (const [key, window] of WINDOWS) {
    const v = ghs(at(real, key))
    if (v !== null) readings.push({ window, ths: v, source: `rest miner/stats "${key}"` })
  }
  st.hashrates = normaliseReadings(readings)
  st.hashrateThs = currentThs(st.hashrates)
  st.expectedHashrateThs = ghs(at(stats, 'miner_stats', 'nominal_hashrate')) ?? ghs(at(details, 'sticker_hashrate'))
  st.powerW = toNumber(at(stats, 'power_stats', 'approximated_consumption', 'watt')) ?? null
  st.uptimeS = numField(details, 'bosminer_uptime_s', notes, 'details')
  st.accepted = numField(at(stats, 'pool_stats'), 'accepted_shares', notes, 'stats')
  st.rejected = numField(at(stats, 'pool_stats'), 'rejected_shares', notes, 'stats')
  st.boards = (asArray(at(boards, 'hashboards')) ?? []).flatMap((b, i): BoardStatus[] => {
    const r = asRecord(b) as JsonRecord | undefined
    if (!r) return []
    if (toBool(r.enabled) === false) return []
    return [
      {
        index: toNumber(r.id) ?? i,
        hashrateThs: ghs(at(r, 'stats', 'real_hashrate', 'last_5m')) ?? ghs(at(r, 'stats', 'real_hashrate', 'last_1m')),
        boardTempC: toNumber(at(r, 'board_temp', 'degree_c')) ?? null,
        chipTempC: toNumber(at(r, 'highest_chip_temp', 'temperature', 'degree_c')) ?? null,
        chips: numField(r, 'chips_count', notes, 'hashboards'),
        serial: textField(r, 'serial_number', notes, 'hashboards'),
      },
    ]
  })
  for (const f of asArray(at(cooling, 'fans')) ?? []) {
    const rpm = toNumber(at(f, 'rpm'))
    if (rpm !== undefined && rpm > 0) st.fansRpm.push(rpm)
  }
  st.pools = braiinsPools(pools, notes)
  st.warnings = notes.warnings
  return st
}

export async function detectBraiins(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const api = new BraiinsRest(endpoint, opts.credentials ?? BRAIINS_DEFAULT, opts.timeoutMs)
  const details = await api.call('GET', '/api/v1/miner/details')
  if (!details.ok) return details
  return ok({ vendor: 'braiins', endpoint, ...braiinsIdentity(details.value, newNotes()) })
}

export function createBraiinsDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const api = new BraiinsRest(identity.endpoint, opts.credentials ?? BRAIINS_DEFAULT, opts.timeoutMs)
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'toggle',
    // PUT /pools/batch restarts bosminer itself (the proto's SAVE_AND_APPLY note).
    afterPoolWrite: 'none',
  }
  return {
    identity,
    capabilities,
    async read() {
      const details = await api.call('GET', '/api/v1/miner/details')
      if (!details.ok) return details
      const [stats, boards, cooling, pools] = await Promise.all([
        api.call('GET', '/api/v1/miner/stats'),
        api.call('GET', '/api/v1/miner/hw/hashboards'),
        api.call('GET', '/api/v1/cooling/state'),
        api.call('GET', '/api/v1/pools/'),
      ])
      const notes = newNotes()
      const v = <T>(r: Result<T, AppError>, what: string): T | null => {
        if (r.ok) return r.value
        notes.warnings.push(`${what}: ${r.error.message}`)
        return null
      }
      return ok(
        braiinsStatus(
          details.value,
          v(stats, 'stats'),
          v(boards, 'hashboards'),
          v(cooling, 'cooling'),
          v(pools, 'pools'),
          notes,
          Date.now(),
        ),
      )
    },
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      const body = [
        {
          name: 'Hashyard',
          load_balance_strategy: { quota: { value: 1 } },
          pools: pools.map((p) => ({ url: p.url, user: p.user, password: p.password, enabled: true })),
        },
      ]
      const r = await api.call('PUT', '/api/v1/pools/batch', body, false)
      return r.ok ? ok(undefined) : r
    },
    async reboot() {
      const r = await api.call('PUT', '/api/v1/actions/reboot', undefined, false)
      return r.ok ? ok(undefined) : r
    },
    async locate(on) {
      // The body is a bare JSON boolean (BOS REST docs: "Request body: `true` or `false`").
      const r = await api.call('PUT', '/api/v1/actions/locate', on, false)
      return r.ok ? ok(undefined) : r
    },
  }
}
