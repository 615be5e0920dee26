/**
 * A simulated VNish on an S19 Pro. There is no VNish capture: the RPC side replays the stock
 * S19 Pro bmminer captures with `Type` given the ` (vnish …)` suffix pyasic strips (research
 * §4.7), which is also what makes the socket signature contain `VNISH`. The web side implements
 * the documented REST calls (research §4.7; VNish OpenAPI 1.3.4): `/api/v1/unlock {pw}` →
 * token, Bearer auth, `/api/v1/settings` (≤ 3 pools → the RPC pool list, reply with the
 * restart flags), `/api/v1/mining/restart`, `/api/v1/system/reboot`, and a public
 * `/api/v1/info` with the OpenAPI field names. Everything on the web side is sim-only.
 */
import { type CgminerSim, startCgminerSim } from './cgminer-sim'
import { fixtureText } from './fixtures'
import { type HttpSim, type SimRequest, type SimResponse, startHttpSim } from './http-sim'

export interface VnishSim {
  rpc: CgminerSim
  web: HttpSim
  restarts: number
  reboots: number
  unlocks: number
  settingsBodies: unknown[]
  close(): Promise<void>
}

const TYPE = 'Antminer S19 Pro'
const VNISH_TYPE = `${TYPE} (vnish 1.2.6)`

export async function startVnishSim(
  opts: { password?: string; rebootRequired?: boolean; host?: string } = {},
): Promise<VnishSim> {
  const host = opts.host ?? '127.0.0.1'
  const withSuffix = (text: string) => text.split(`"Type": "${TYPE}"`).join(`"Type": "${VNISH_TYPE}"`)
  const rpc = await startCgminerSim({
    replies: {
      version: withSuffix(fixtureText('antminer/rpc_version_s19pro_bmminer_49.0.1.3.json')),
      summary: fixtureText('antminer/rpc_summary_s19pro_bmminer_49.0.1.3.json'),
      stats: withSuffix(fixtureText('antminer/rpc_stats_s19pro_bmminer_49.0.1.3.json')),
    },
    poolsFixture: fixtureText('antminer/rpc_pools_s19pro_bmminer_49.0.1.3.json'),
    listen: { host, port: 0 },
  })
  const state = { token: '', n: 0, restarts: 0, reboots: 0, unlocks: 0, settingsBodies: [] as unknown[] }
  const handler = (req: SimRequest): SimResponse => {
    if (req.method === 'GET' && req.path === '/')
      return { headers: { 'Content-Type': 'text/html' }, body: '<html><title>AnthillOS</title></html>' }
    if (req.method === 'GET' && req.path === '/api/v1/info')
      return {
        body: JSON.stringify({
          miner: TYPE,
          model: 's19pro',
          fw_name: 'Vnish',
          fw_version: '1.2.6',
          serial: 'SIMVNISH0001',
          system: {
            os: 'GNU/Linux',
            miner_name: 'Antminer',
            file_system_version: 'sim',
            uptime: '1:00',
            network_status: {
              mac: '02:00:5e:10:00:01',
              ip: host,
              netmask: '255.0.0.0',
              gateway: host,
              dns: [],
              hostname: 'vnish-rack3',
            },
          },
        }),
      }
    if (req.method === 'POST' && req.path === '/api/v1/unlock') {
      let body: { pw?: unknown }
      try {
        body = JSON.parse(req.body) as typeof body
      } catch {
        return { status: 400, body: '{}' }
      }
      if (body.pw !== (opts.password ?? 'admin')) return { status: 403, body: '{"unlock_timeout":null}' }
      state.unlocks++
      state.token = `jwt${++state.n}`
      return { body: JSON.stringify({ token: state.token }) }
    }
    if (req.headers.authorization !== `Bearer ${state.token}` || state.token === '') return { status: 401, body: '' }
    if (req.method === 'POST' && req.path === '/api/v1/settings') {
      let body: { miner?: { pools?: { url?: unknown; user?: unknown; pass?: unknown }[] } }
      try {
        body = JSON.parse(req.body) as typeof body
      } catch {
        return { status: 400, body: '{}' }
      }
      state.settingsBodies.push(body)
      const pools = body.miner?.pools
      if (!Array.isArray(pools) || pools.length > 3) return { status: 500, body: '{"err":"pools: at most 3"}' }
      rpc.setPools(pools.map((p) => ({ url: String(p.url), user: String(p.user), pass: String(p.pass) })))
      return {
        body: JSON.stringify({ restart_required: !opts.rebootRequired, reboot_required: opts.rebootRequired === true }),
      }
    }
    if (req.method === 'POST' && req.path === '/api/v1/mining/restart') {
      state.restarts++
      return { body: '' }
    }
    if (req.method === 'POST' && req.path === '/api/v1/system/reboot') {
      state.reboots++
      return { body: '{"after":3}' }
    }
    return { status: 404, body: '{}' }
  }
  const web = await startHttpSim(handler, undefined, { host, port: 0 })
  return {
    rpc,
    web,
    get restarts() {
      return state.restarts
    },
    get reboots() {
      return state.reboots
    },
    get unlocks() {
      return state.unlocks
    },
    settingsBodies: state.settingsBodies,
    close: async () => {
      await Promise.all([rpc.close(), web.close()])
    },
  }
}
