/**
 * Stock Antminer (bmminer / cgminer firmware, S19 – S23). Reads over the cgminer API on 4028
 * (remote hosts may call only stats/pools/devs/summary/version, research §3.4) and falls back to
 * the JSON CGI; every write goes through the web CGI with HTTP Digest auth (default root/root).
 */
import { type AppError, ok, type Result } from '../../../shared/errors'
import { cgminerCommand } from '../cgminer/client'
import { readCgminerStatus, rpcTarget } from '../cgminer/driver'
import { readVersion } from '../cgminer/normalise'
import { deviceErr } from '../device-error'
import { asRecord, type JsonRecord, newNotes } from '../field-map'
import { DigestSession, expectOk, type HttpRequest, jsonBody } from '../http-client'
import type {
  DeviceCredentials,
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DriverCapabilities,
  DriverOptions,
  MinerDriver,
  PoolTarget,
} from '../types'
import { sanitizeForLog } from '../untrusted-text'
import { buildSetMinerConf, checkSetMinerConfReply, confPools } from './conf'
import { cgiStatus, systemInfoIdentity } from './normalise'

export const ANTMINER_DEFAULT_CREDENTIALS: DeviceCredentials = { username: 'root', password: 'root' }

/** Web CGI calls with one Digest session per device. */
export class AntminerWeb {
  private readonly session: DigestSession

  constructor(
    private readonly endpoint: DeviceEndpoint,
    credentials: DeviceCredentials,
    private readonly timeoutMs = 5000,
  ) {
    this.session = new DigestSession(credentials)
  }

  private async call(
    method: 'GET' | 'POST',
    cgi: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<Result<JsonRecord, AppError>> {
    const path = `/cgi-bin/${cgi}`
    const req: HttpRequest = { host: this.endpoint.host, method, path, timeoutMs }
    if (this.endpoint.httpPort !== undefined) req.port = this.endpoint.httpPort
    if (body !== undefined) req.body = JSON.stringify(body)
    const res = await this.session.request(req)
    if (!res.ok) return res
    const checked = expectOk(res.value, `${method} ${path}`)
    if (!checked.ok) return checked
    const json = jsonBody(checked.value, `${method} ${path}`)
    if (!json.ok) return json
    const rec = asRecord(json.value)
    return rec ? ok(rec) : deviceErr('BAD_REPLY', `${path}: expected a JSON object`)
  }

  get(cgi: string) {
    return this.call('GET', cgi)
  }

  post(cgi: string, body: unknown, timeoutMs?: number) {
    return this.call('POST', cgi, body, timeoutMs)
  }
}

export async function detectAntminer(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const web = new AntminerWeb(endpoint, opts.credentials ?? ANTMINER_DEFAULT_CREDENTIALS, opts.timeoutMs)
  const [version, info] = await Promise.all([
    cgminerCommand(rpcTarget(endpoint), { command: 'version' }, { timeoutMs: opts.timeoutMs }),
    web.get('get_system_info.cgi'),
  ])
  if (!version.ok && !info.ok) return info
  const notes = newNotes()
  const v = version.ok ? readVersion(version.value, notes) : undefined
  const sys = info.ok ? systemInfoIdentity(info.value, notes) : undefined
  if (!info.ok)
    opts.logger?.warn('antminer web interface unavailable; identity from RPC only', {
      host: endpoint.host,
      error: info.error.message,
    })
  const identity: DeviceIdentity = {
    vendor: 'antminer',
    endpoint,
    model: sys?.model ?? v?.model ?? null,
    firmware: sys?.firmware ?? v?.firmware ?? null,
    mac: sys?.mac ?? null,
    hostname: sys?.hostname ?? null,
    serial: sys?.serial ?? null,
  }
  opts.logger?.debug('antminer detected', { host: endpoint.host, model: sanitizeForLog(identity.model ?? '') })
  return ok(identity)
}

export function createAntminerDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const endpoint = identity.endpoint
  const web = new AntminerWeb(endpoint, opts.credentials ?? ANTMINER_DEFAULT_CREDENTIALS, opts.timeoutMs)
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'toggle',
    afterPoolWrite: 'verify-then-reboot',
  }
  return {
    identity,
    capabilities,
    async read() {
      const rpc = await readCgminerStatus(rpcTarget(endpoint), opts.timeoutMs)
      if (rpc.ok) return rpc
      // Some builds restrict the RPC further; the CGI has the same figures behind Digest auth.
      const stats = await web.get('stats.cgi')
      if (!stats.ok) return rpc
      const summary = await web.get('summary.cgi')
      const st = cgiStatus(stats.value, summary.ok ? summary.value : undefined, newNotes(), Date.now())
      st.warnings.push(`rpc unavailable: ${rpc.error.message}`)
      return ok(st)
    },
    async setPools(pools) {
      const conf = await web.get('get_miner_conf.cgi')
      if (!conf.ok) return conf
      const body = buildSetMinerConf(conf.value, pools)
      if (!body.ok) return body
      // asic-rs allows at least 30 s: the firmware applies the config before answering.
      const reply = await web.post('set_miner_conf.cgi', body.value, Math.max(opts.timeoutMs ?? 0, 30_000))
      if (!reply.ok) return reply
      return checkSetMinerConfReply(reply.value)
    },
    async reboot() {
      const r = await web.get('reboot.cgi')
      return r.ok ? ok(undefined) : r
    },
    async locate(on) {
      const r = await web.post('blink.cgi', { blink: on ? 'true' : 'false' })
      if (!r.ok) return r
      const want = on ? 'B000' : 'B100'
      return r.value.code === want
        ? ok(undefined)
        : deviceErr('COMMAND_FAILED', `blink.cgi answered ${String(r.value.code)}, expected ${want}`)
    },
    async snapshotPools(): Promise<DeviceResult<PoolTarget[]>> {
      const conf = await web.get('get_miner_conf.cgi')
      return conf.ok ? ok(confPools(conf.value)) : conf
    },
  }
}
