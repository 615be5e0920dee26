/**
 * ePIC UMC "PowerPlay" (umcOS on Antminer hardware; research §4.6). Its API is plain HTTP JSON on
 * port 4028 (not the cgminer socket), so the driver uses the endpoint's RPC port as an HTTP port.
 *
 * - Identity: `GET /capabilities` (`Model`), `GET /summary` (`Hostname`, `Software`),
 *   `GET /network` (`dhcp|static.mac_address`).
 * - Read: `GET /summary`: Σ `HBs[].Hashrate[0]` and `Session."Average MHs"` (MH/s), board
 *   temperatures, `Fans Rpm`, `Power Supply Stats."Input Power"`, `Session.Uptime/Accepted/
 *   Rejected`, the configured pools from `StratumConfigs` with the live one from `Stratum`.
 * - Write: every POST carries the password in its body (default `letmein`). Pools: `POST /coin`
 *   with up to 3 `stratum_configs` and `unique_id: false` (so the miner does not append its own
 *   suffix to our worker names); reboot `POST /reboot {param: 0}`; locate `POST /identify
 *   {param: true|false}`. Replies are `{result: bool, error}`; `BadPassword` means wrong
 *   credentials (OpenAPI 1.30.0 `ApiError`).
 * - `StratumConfigs` include the pool passwords, so a failed change can be restored.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { validatePools } from '../cgminer/driver'
import { deviceErr, deviceError } from '../device-error'
import {
  asArray,
  asRecord,
  at,
  type FieldNotes,
  hashField,
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
  PoolTarget,
} from '../types'

export const EPIC_API_PORT = 4028
/** pyasic `web/epic.py` and the OpenAPI examples. */
export const EPIC_DEFAULT: DeviceCredentials = { username: 'root', password: 'letmein' }

export class EpicApi {
  constructor(
    private readonly endpoint: DeviceEndpoint,
    private readonly credentials: DeviceCredentials,
    private readonly timeoutMs = 5000,
  ) {}

  #req(method: HttpRequest['method'], path: string, body?: string): HttpRequest {
    const r: HttpRequest = {
      host: this.endpoint.host,
      port: this.endpoint.rpcPort ?? EPIC_API_PORT,
      method,
      path,
      timeoutMs: this.timeoutMs,
    }
    if (body !== undefined) r.body = body
    return r
  }

  async get(path: string): Promise<Result<unknown, AppError>> {
    const res = await httpRequest(this.#req('GET', path))
    if (!res.ok) return res
    const checked = expectOk(res.value, `GET ${path}`)
    return checked.ok ? jsonBody(checked.value, `GET ${path}`) : checked
  }

  /** A control POST: `{param, password}`; `{result:false}` becomes an error value. */
  async post(path: string, param: unknown): Promise<Result<void, AppError>> {
    const body = JSON.stringify({ param, password: this.credentials.password })
    const res = await httpRequest(this.#req('POST', path, body))
    if (!res.ok) return res
    const checked = expectOk(res.value, `POST ${path}`)
    if (!checked.ok) return checked
    const json = jsonBody(checked.value, `POST ${path}`)
    if (!json.ok) return json
    if (toBool(at(json.value, 'result')) === true) return ok(undefined)
    const e = at(json.value, 'error')
    const why = typeof e === 'string' ? e : e === undefined || e === null ? 'no reason given' : JSON.stringify(e)
    if (why === 'BadPassword') return deviceErr('AUTH_FAILED', 'ePIC refused the password')
    return deviceErr('COMMAND_FAILED', `ePIC refused POST ${path}: ${why.slice(0, 200)}`)
  }
}

export function epicMac(network: unknown): string | null {
  return normaliseMac(at(network, 'dhcp', 'mac_address')) ?? normaliseMac(at(network, 'static', 'mac_address'))
}

/** Configured pools (`StratumConfigs`, in priority order) with the live one marked from `Stratum`. */
export function epicPools(summary: unknown, notes: FieldNotes): PoolStatus[] {
  const stratum = at(summary, 'Stratum')
  const activeId = toNumber(at(stratum, 'Config Id'))
  const connected = toBool(at(stratum, 'IsPoolConnected')) ?? false
  const configs = asArray(at(summary, 'StratumConfigs'))
  if (!configs) {
    // Older firmware: only the live pool is known.
    const url = textField(stratum, 'Current Pool', notes, 'summary Stratum')
    if (url === null) return []
    return [
      {
        index: 0,
        url,
        user: textField(stratum, 'Current User', notes, 'summary Stratum') ?? '',
        state: connected ? 'alive' : 'dead',
        active: connected,
        priority: 0,
        accepted: numField(at(summary, 'Session'), 'Accepted', notes, 'summary Session'),
        rejected: numField(at(summary, 'Session'), 'Rejected', notes, 'summary Session'),
      },
    ]
  }
  return configs.flatMap((c, i): PoolStatus[] => {
    const r = asRecord(c)
    if (!r) {
      notes.warnings.push(`StratumConfigs: entry ${i} is not an object`)
      return []
    }
    const live = activeId === i
    return [
      {
        index: i,
        url: textField(r, 'pool', notes, 'StratumConfigs') ?? '',
        user: textField(r, 'login', notes, 'StratumConfigs') ?? '',
        state: live ? (connected ? 'alive' : 'dead') : 'unknown',
        active: live && connected,
        priority: i,
        accepted: live ? numField(at(summary, 'Session'), 'Accepted', notes, 'summary Session') : null,
        rejected: live ? numField(at(summary, 'Session'), 'Rejected', notes, 'summary Session') : null,
      },
    ]
  })
}

export function epicStatus(summary: unknown, capabilities: unknown, tsMs: number): DeviceStatus {
  const st = emptyStatus(tsMs)
  const notes = newNotes()
  const readings: HashrateReading[] = []
  const boards: BoardStatus[] = []
  let totalMhs: number | null = null
  for (const [i, hb] of (asArray(at(summary, 'HBs')) ?? []).entries()) {
    const mhs = toNumber(at(hb, 'Hashrate', 0))
    if (mhs !== undefined) totalMhs = (totalMhs ?? 0) + mhs
    boards.push({
      index: toNumber(at(hb, 'Index')) ?? i,
      hashrateThs: mhs === undefined ? null : toThs(mhs, 'MH'),
      boardTempC: numField(hb, 'Temperature', notes, 'summary HBs'),
      chipTempC: null,
      chips: null,
      serial: null,
    })
  }
  if (totalMhs !== null)
    readings.push({ window: 'now', ths: toThs(totalMhs, 'MH'), source: 'summary Σ HBs[].Hashrate[0]' })
  const avg = hashField(at(summary, 'Session'), 'Average MHs', 'MH', notes, 'summary Session')
  if (avg !== null) readings.push({ window: 'avg', ths: avg, source: 'summary Session "Average MHs"' })
  st.hashrates = normaliseReadings(readings)
  st.hashrateThs = currentThs(st.hashrates)
  st.boards = boards
  // "Default Hashrate" is in TH/s (research §5 field map).
  st.expectedHashrateThs = numField(capabilities, 'Default Hashrate', notes, 'capabilities')
  const fans = asRecord(at(summary, 'Fans Rpm')) ?? {}
  st.fansRpm = Object.keys(fans)
    .map((k) => ({ n: Number(/(\d+)\s*$/.exec(k)?.[1] ?? Number.NaN), rpm: toNumber(fans[k]) }))
    .filter((f): f is { n: number; rpm: number } => f.rpm !== undefined && f.rpm > 0)
    .sort((a, b) => a.n - b.n)
    .map((f) => f.rpm)
  st.powerW = numField(at(summary, 'Power Supply Stats'), 'Input Power', notes, 'summary')
  st.uptimeS = numField(at(summary, 'Session'), 'Uptime', notes, 'summary Session')
  st.accepted = numField(at(summary, 'Session'), 'Accepted', notes, 'summary Session')
  st.rejected = numField(at(summary, 'Session'), 'Rejected', notes, 'summary Session')
  st.pools = epicPools(summary, notes)
  const lastError = toText(at(summary, 'Status', 'Last Error'))
  if (lastError) st.errors.push(lastError)
  for (const hb of asArray(at(summary, 'HBStatus')) ?? [])
    if (toBool(at(hb, 'Detected')) === true && toBool(at(hb, 'Enabled')) === false)
      st.errors.push(`Hashboard ${toText(at(hb, 'Index')) ?? '?'} is detected but disabled`)
  st.warnings = notes.warnings
  return st
}

export async function detectEpic(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const api = new EpicApi(endpoint, opts.credentials ?? EPIC_DEFAULT, opts.timeoutMs)
  const [caps, summary, network] = await Promise.all([
    api.get('/capabilities'),
    api.get('/summary'),
    api.get('/network'),
  ])
  if (!caps.ok) return caps
  const notes = newNotes()
  const s = summary.ok ? summary.value : null
  return ok({
    vendor: 'epic',
    endpoint,
    model: textField(caps.value, 'Model', notes, 'capabilities'),
    firmware: s === null ? null : textField(s, 'Software', notes, 'summary'),
    mac: network.ok ? epicMac(network.value) : null,
    hostname: s === null ? null : textField(s, 'Hostname', notes, 'summary'),
    serial: null,
  })
}

export function createEpicDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const api = new EpicApi(identity.endpoint, opts.credentials ?? EPIC_DEFAULT, opts.timeoutMs)
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'toggle',
    // `/coin` "updates active coin selection and associated stratum connection credentials"
    // (OpenAPI 1.30.0): applied by the firmware itself; the read-back confirms it.
    afterPoolWrite: 'none',
  }
  let capsCache: unknown
  return {
    identity,
    capabilities,
    async read() {
      const summary = await api.get('/summary')
      if (!summary.ok) return summary
      if (capsCache === undefined) {
        const caps = await api.get('/capabilities')
        // Only the expected hashrate comes from here; a refusal leaves it unknown.
        capsCache = caps.ok ? caps.value : null
      }
      return ok(epicStatus(summary.value, capsCache, Date.now()))
    },
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      return api.post('/coin', {
        coin: 'BTC',
        stratum_configs: pools.map((p) => ({ pool: p.url, login: p.user, password: p.password })),
        unique_id: false,
      })
    },
    reboot: () => api.post('/reboot', 0),
    locate: (on) => api.post('/identify', on),
    async snapshotPools() {
      const summary = await api.get('/summary')
      if (!summary.ok) return summary
      const out: PoolTarget[] = []
      for (const c of asArray(at(summary.value, 'StratumConfigs')) ?? []) {
        const url = toText(at(c, 'pool'))
        const user = toText(at(c, 'login'))
        if (url === undefined || user === undefined) continue
        out.push({ url, user, password: toText(at(c, 'password')) ?? '' })
      }
      return out.length > 0 ? ok(out) : err(deviceError('NOT_SUPPORTED', 'ePIC returned no pool configuration'))
    },
  }
}
