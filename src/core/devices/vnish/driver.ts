/**
 * VNish (AnthillOS) on Antminer hardware (research §4.7). What is modelled, and from where:
 *
 * - Read: the cgminer-style API on 4028 (`summary` `GHS 5s`, `stats`, `pools`), the generic
 *   cgminer reader. No VNish capture exists; its replies are bmminer-shaped.
 * - Identity: RPC `stats` `STATS[0].Type` for the model (` (…)` suffix removed), and where the web
 *   API answers, `GET /api/v1/info` (`system.network_status.{mac,hostname}`, `serial`,
 *   `fw_version`; pyasic reads the same fields).
 * - Write: `POST /api/v1/unlock {"pw"}` → `{token}`, then `Authorization: Bearer <token>` and
 *   `POST /api/v1/settings {"miner":{"pools":[{url,user,pass}]}}` (at most 3). The reply
 *   `{restart_required, reboot_required}` decides `POST /api/v1/mining/restart` or
 *   `POST /api/v1/system/reboot`. Reboot is `POST /api/v1/system/reboot`.
 * - Not modelled: locate (the research documents no request for it), REST status reads.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { cgminerCommand } from '../cgminer/client'
import { section } from '../cgminer/codec'
import { readCgminerStatus, rpcTarget, validatePools } from '../cgminer/driver'
import { deviceErr, deviceError } from '../device-error'
import { asRecord, at, newNotes, normaliseMac, textField, toBool, toText } from '../field-map'
import { expectOk, type HttpRequest, httpRequest, jsonBody } from '../http-client'
import type {
  DeviceCredentials,
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DriverCapabilities,
  DriverOptions,
  MinerDriver,
} from '../types'

/** The web password VNish ships with (research §4.7: `{"pw":"admin"}`). */
export const VNISH_DEFAULT: DeviceCredentials = { username: 'admin', password: 'admin' }

/** A VNish web session: unlocks on first use and once more when the token was refused. */
export class VnishRest {
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
    if (auth && this.#token) r.headers = { Authorization: `Bearer ${this.#token}` }
    return r
  }

  async #unlock(): Promise<Result<void, AppError>> {
    const res = await httpRequest(this.#req('POST', '/api/v1/unlock', { pw: this.credentials.password }, false))
    if (!res.ok) return res
    if (res.value.status === 403) return deviceErr('AUTH_FAILED', 'VNish refused the web password')
    if (res.value.status === 429)
      return deviceErr('COMMAND_FAILED', 'VNish is rate-limiting logins; wait a minute before trying again')
    const checked = expectOk(res.value, 'POST /api/v1/unlock')
    if (!checked.ok) return checked
    const json = jsonBody(checked.value, 'unlock')
    if (!json.ok) return json
    const token = toText(at(json.value, 'token'))
    if (!token) return deviceErr('BAD_REPLY', 'VNish unlock gave no token')
    this.#token = token
    return ok(undefined)
  }

  /** GET without a session (`/info` is public in the OpenAPI). */
  async getPublic(path: string): Promise<Result<unknown, AppError>> {
    const res = await httpRequest(this.#req('GET', path, undefined, false))
    if (!res.ok) return res
    const checked = expectOk(res.value, `GET ${path}`)
    return checked.ok ? jsonBody(checked.value, `GET ${path}`) : checked
  }

  async post(path: string, body?: unknown): Promise<Result<unknown, AppError>> {
    for (const retry of [false, true]) {
      if (!this.#token || retry) {
        const u = await this.#unlock()
        if (!u.ok) return u
      }
      const res = await httpRequest(this.#req('POST', path, body))
      if (!res.ok) return res
      if (res.value.status === 401 && !retry) continue
      const checked = expectOk(res.value, `POST ${path}`)
      if (!checked.ok) return checked
      if (checked.value.body.trim() === '') return ok(undefined)
      return jsonBody(checked.value, `POST ${path}`)
    }
    return err(deviceError('AUTH_FAILED', 'VNish kept refusing the session token'))
  }
}

/** `Antminer S19 Pro (vnish 1.2.6)` → `Antminer S19 Pro`. */
export function vnishModel(type: string | null): string | null {
  if (type === null) return null
  return (type.split(' (')[0] ?? type).replace(/\s+AML$/i, '').trim() || null
}

export async function detectVnish(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const stats = await cgminerCommand(rpcTarget(endpoint), { command: 'stats' }, { timeoutMs: opts.timeoutMs })
  if (!stats.ok) return stats
  const notes = newNotes()
  const head = asRecord(section(stats.value, 'STATS')[0]) ?? {}
  const api = new VnishRest(endpoint, opts.credentials ?? VNISH_DEFAULT, opts.timeoutMs)
  // The web API adds MAC, hostname and serial; a device without it is still readable over RPC.
  const info = await api.getPublic('/api/v1/info')
  const i = info.ok ? info.value : null
  return ok({
    vendor: 'vnish',
    endpoint,
    model: vnishModel(textField(head, 'Type', notes, 'stats')) ?? (i ? textField(i, 'miner', notes, 'info') : null),
    firmware: i ? textField(i, 'fw_version', notes, 'info') : textField(head, 'Miner', notes, 'stats'),
    mac: i ? normaliseMac(at(i, 'system', 'network_status', 'mac')) : null,
    hostname: i ? textField(at(i, 'system', 'network_status'), 'hostname', notes, 'info') : null,
    serial: i ? textField(i, 'serial', notes, 'info') : null,
  })
}

export function createVnishDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const target = rpcTarget(identity.endpoint)
  const api = new VnishRest(identity.endpoint, opts.credentials ?? VNISH_DEFAULT, opts.timeoutMs)
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'none',
    // The settings reply says whether a restart or reboot is needed; setPools issues it itself.
    afterPoolWrite: 'none',
  }
  return {
    identity,
    capabilities,
    read: () => readCgminerStatus(target, opts.timeoutMs),
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      const saved = await api.post('/api/v1/settings', {
        miner: { pools: pools.map((p) => ({ url: p.url, user: p.user, pass: p.password })) },
      })
      if (!saved.ok) return saved
      if (toBool(at(saved.value, 'reboot_required')) === true) {
        const r = await api.post('/api/v1/system/reboot')
        return r.ok ? ok(undefined) : err({ ...r.error, message: `Pools saved; reboot failed: ${r.error.message}` })
      }
      if (toBool(at(saved.value, 'restart_required')) === true) {
        const r = await api.post('/api/v1/mining/restart')
        return r.ok ? ok(undefined) : err({ ...r.error, message: `Pools saved; restart failed: ${r.error.message}` })
      }
      return ok(undefined)
    },
    async reboot() {
      const r = await api.post('/api/v1/system/reboot')
      return r.ok ? ok(undefined) : r
    },
    locate: async () =>
      deviceErr('NOT_SUPPORTED', 'VNish documents no command to blink the LED; find this miner by its IP instead'),
  }
}
