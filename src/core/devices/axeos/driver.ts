/**
 * Bitaxe / NerdQAxe / AxeOS (ESP-Miner) over HTTP JSON on port 80. No password; the firmware's
 * gate is the peer address and the `Origin` header, and http-client.ts sends none.
 * Pool writes need a restart to take effect (`afterPoolWrite: 'restart'`, research §7).
 */
import { type AppError, ok, type Result } from '../../../shared/errors'
import { deviceErr } from '../device-error'
import { asRecord, type JsonRecord, newNotes } from '../field-map'
import { expectOk, type HttpRequest, httpRequest, jsonBody } from '../http-client'
import type {
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DriverCapabilities,
  DriverOptions,
  MinerDriver,
} from '../types'
import { sanitizeForLog } from '../untrusted-text'
import { axeosIdentityFields, axeosModel, axeosStatus, hasPoolSlots } from './normalise'
import { legacyPoolBody, slotsPoolBody } from './pool-body'

function req(
  endpoint: DeviceEndpoint,
  method: HttpRequest['method'],
  path: string,
  opts: DriverOptions,
  body?: unknown,
): HttpRequest {
  const r: HttpRequest = { host: endpoint.host, method, path, timeoutMs: opts.timeoutMs ?? 5000 }
  if (endpoint.httpPort !== undefined) r.port = endpoint.httpPort
  if (body !== undefined) r.body = JSON.stringify(body)
  return r
}

async function getJson(
  endpoint: DeviceEndpoint,
  path: string,
  opts: DriverOptions,
): Promise<Result<JsonRecord, AppError>> {
  const res = await httpRequest(req(endpoint, 'GET', path, opts))
  if (!res.ok) return res
  const okRes = expectOk(res.value, `GET ${path}`)
  if (!okRes.ok) return okRes
  const json = jsonBody(okRes.value, `GET ${path}`)
  if (!json.ok) return json
  const rec = asRecord(json.value)
  return rec ? ok(rec) : deviceErr('BAD_REPLY', `GET ${path}: expected a JSON object`)
}

/** `GET /api/system/info` must answer with ESP-Miner's fields; `/api/system/asic` adds the family name. */
export async function detectAxeos(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const info = await getJson(endpoint, '/api/system/info', opts)
  if (!info.ok) return info
  if (info.value.ASICModel === undefined && info.value.hashRate === undefined)
    return deviceErr('BAD_REPLY', '/api/system/info does not look like AxeOS')
  const asic = await getJson(endpoint, '/api/system/asic', opts)
  const notes = newNotes()
  const id = axeosIdentityFields(info.value, notes)
  const identity: DeviceIdentity = {
    // NerdQAxe reports `deviceModel` in /info; Bitaxe does not (research §4.11).
    vendor: info.value.deviceModel !== undefined ? 'nerdqaxe' : 'axeos',
    endpoint,
    model: axeosModel(info.value, asic.ok ? asic.value : undefined, notes),
    firmware: id.firmware,
    mac: id.mac,
    hostname: id.hostname,
    serial: null,
  }
  opts.logger?.debug('axeos device detected', {
    host: endpoint.host,
    model: sanitizeForLog(identity.model ?? ''),
    hostname: sanitizeForLog(identity.hostname ?? ''),
  })
  return ok(identity)
}

export function createAxeosDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const endpoint = identity.endpoint
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 2,
    reboot: true,
    locate: 'timed',
    afterPoolWrite: 'restart',
  }
  const post = async (path: string): Promise<DeviceResult<void>> => {
    const res = await httpRequest(req(endpoint, 'POST', path, opts))
    if (!res.ok) return res
    const checked = expectOk(res.value, `POST ${path}`)
    return checked.ok ? ok(undefined) : checked
  }
  return {
    identity,
    capabilities,
    async read() {
      const info = await getJson(endpoint, '/api/system/info', opts)
      if (!info.ok) return info
      return ok(axeosStatus(info.value, newNotes(), Date.now()))
    },
    async setPools(pools) {
      // Read first: the schema (and the slots to write) depends on the firmware version.
      const info = await getJson(endpoint, '/api/system/info', opts)
      if (!info.ok) return info
      let body: Result<unknown, AppError>
      if (hasPoolSlots(info.value)) {
        const primary = typeof info.value.primaryPoolIndex === 'number' ? info.value.primaryPoolIndex : 0
        const secondary = typeof info.value.secondaryPoolIndex === 'number' ? info.value.secondaryPoolIndex : 1
        body = slotsPoolBody(pools, primary, secondary)
      } else {
        body = legacyPoolBody(pools, Object.hasOwn(info.value, 'stratumTLS'))
      }
      if (!body.ok) return body
      const res = await httpRequest(req(endpoint, 'PATCH', '/api/system', opts, body.value))
      if (!res.ok) return res
      if (res.value.status === 400)
        return deviceErr(
          'COMMAND_FAILED',
          `The device rejected the pool settings: ${sanitizeForLog(res.value.body, 200)}`,
        )
      const checked = expectOk(res.value, 'PATCH /api/system')
      return checked.ok ? ok(undefined) : checked
    },
    reboot: () => post('/api/system/restart'),
    async locate(on) {
      if (!on) return deviceErr('NOT_SUPPORTED', 'AxeOS identify stops by itself; it cannot be switched off')
      return post('/api/system/identify')
    },
  }
}
