/**
 * A simulated ePIC UMC miner (PowerPlay-BMS v1.5.13 on an S19 XP): the web dashboard on one port
 * (body with the documented `Miner Web Dashboard` detection text) and the HTTP API on another
 * (4028 on a real miner). GETs replay the captures; POSTs check the password in the body and
 * implement what research §4.6 and the OpenAPI 1.30.0 describe: `/coin` replaces
 * `StratumConfigs` (at most 3, BTC only) and the live `Stratum` pool, `/reboot`, `/identify`.
 * Sim-only (no capture): the `{result, error}` replies, `BadPassword` for a wrong password.
 */
import { fixtureText } from './fixtures'
import { type HttpSim, type SimRequest, type SimResponse, startHttpSim } from './http-sim'

export interface EpicSim {
  web: HttpSim
  api: HttpSim
  summary: Record<string, unknown>
  reboots: number
  identify: boolean
  /** Bodies of every POST, parsed. */
  posts: { path: string; body: unknown }[]
  close(): Promise<void>
}

export async function startEpicSim(
  opts: { password?: string; failCoin?: string; host?: string; summaryPatch?: Record<string, unknown> } = {},
): Promise<EpicSim> {
  const password = opts.password ?? 'letmein'
  const summary = {
    ...(JSON.parse(fixtureText('epic/http4028_summary.json')) as Record<string, unknown>),
    ...opts.summaryPatch,
  }
  const state = { reboots: 0, identify: false, posts: [] as { path: string; body: unknown }[] }
  const reply = (result: boolean, error: unknown = null): SimResponse => ({ body: JSON.stringify({ result, error }) })
  const api = (req: SimRequest): SimResponse => {
    if (req.method === 'GET') {
      if (req.path === '/summary') return { body: JSON.stringify(summary) }
      if (req.path === '/capabilities') return { body: fixtureText('epic/http4028_capabilities.json') }
      if (req.path === '/network') return { body: fixtureText('epic/http4028_network.json') }
      return { status: 404, body: '{}' }
    }
    if (req.method !== 'POST') return { status: 405, body: '{}' }
    let body: { param?: unknown; password?: unknown }
    try {
      body = JSON.parse(req.body) as typeof body
    } catch {
      return { status: 400, body: '{}' }
    }
    state.posts.push({ path: req.path, body })
    if (body.password !== password) return reply(false, 'BadPassword')
    if (req.path === '/coin') {
      const p = body.param as { coin?: unknown; stratum_configs?: unknown; unique_id?: unknown } | undefined
      const configs = p?.stratum_configs
      if (p?.coin !== 'BTC' || !Array.isArray(configs) || configs.length === 0 || configs.length > 3)
        return reply(false, 'InvalidPoolConfig')
      if (opts.failCoin) return reply(false, { InvalidPoolAddr: opts.failCoin })
      summary.StratumConfigs = configs
      const first = configs[0] as { pool?: string; login?: string }
      summary.Stratum = {
        ...(summary.Stratum as object),
        'Config Id': 0,
        'Current Pool': String(first.pool ?? '').replace(/^stratum\+tcp:\/\//, ''),
        'Current User': first.login,
        IsPoolConnected: true,
        'Worker Unique Id': p.unique_id === true,
      }
      return reply(true)
    }
    if (req.path === '/reboot') {
      state.reboots++
      return reply(true)
    }
    if (req.path === '/identify') {
      state.identify = body.param === true
      return reply(true)
    }
    return { status: 404, body: '{}' }
  }
  const host = opts.host ?? '127.0.0.1'
  const apiSim = await startHttpSim(api, undefined, { host, port: 0 })
  const webSim = await startHttpSim(
    () => ({ headers: { 'Content-Type': 'text/html' }, body: '<html><title>Miner Web Dashboard</title></html>' }),
    undefined,
    { host, port: 0 },
  )
  const sim: EpicSim = {
    web: webSim,
    api: apiSim,
    summary,
    get reboots() {
      return state.reboots
    },
    get identify() {
      return state.identify
    },
    posts: state.posts,
    close: async () => {
      await Promise.all([webSim.close(), apiSim.close()])
    },
  }
  return sim
}
