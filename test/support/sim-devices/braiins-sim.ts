/**
 * A simulated Braiins OS 26.04 REST API (research §4.2): login returns a token that must come back
 * as the raw `Authorization` header; reads serve the captured bodies; `PUT /api/v1/pools/batch`
 * replaces the pool groups (and counts a bosminer restart), so a later `GET /api/v1/pools/`
 * shows the change. The web root carries the documented `Braiins OS` detection text.
 * Sim-only: the token value, the 401 for a missing or stale token, the 204 replies.
 */
import { fixtureText } from './fixtures'
import { type HttpSim, type SimRequest, type SimResponse, startHttpSim } from './http-sim'

export interface BraiinsSim extends HttpSim {
  groups: unknown
  restarts: number
  locate: boolean
  logins: number
  /** Invalidate the current token (a session that timed out). */
  expireToken(): void
}

export async function startBraiinsSim(
  opts: { username?: string; password?: string; listen?: { host: string; port: number } } = {},
): Promise<BraiinsSim> {
  let token = ''
  let n = 0
  const state = { groups: JSON.parse(fixtureText('braiins/rest_v26.04_pools.json')) as unknown }
  const handler = (req: SimRequest): SimResponse => {
    if (req.method === 'GET' && req.path === '/')
      return { headers: { 'Content-Type': 'text/html' }, body: '<html><title>Braiins OS</title></html>' }
    if (req.method === 'POST' && req.path === '/api/v1/auth/login') {
      let b: { username?: unknown; password?: unknown } = {}
      try {
        b = JSON.parse(req.body) as typeof b
      } catch {
        return { status: 400, body: '{}' }
      }
      if (b.username !== (opts.username ?? 'root') || b.password !== (opts.password ?? 'root'))
        return { status: 401, body: '{"message":"Invalid credentials"}' }
      sim.logins++
      token = `tok${++n}`
      return { body: JSON.stringify({ token, timeout_s: 3600 }) }
    }
    if (!token || req.headers.authorization !== token) return { status: 401, body: '{"message":"Unauthorized"}' }
    const files: Record<string, string> = {
      '/api/v1/miner/details': 'braiins/rest_v26.04_miner_details.json',
      '/api/v1/miner/stats': 'braiins/rest_v26.04_miner_stats.json',
      '/api/v1/miner/hw/hashboards': 'braiins/rest_v26.04_miner_hw_hashboards.json',
      '/api/v1/cooling/state': 'braiins/rest_v26.04_cooling_state.json',
      '/api/v1/version/': 'braiins/rest_v26.04_version.json',
    }
    const file = req.method === 'GET' ? files[req.path] : undefined
    if (file) return { body: fixtureText(file) }
    if (req.method === 'GET' && req.path === '/api/v1/pools/') return { body: JSON.stringify(state.groups) }
    if (req.method === 'PUT' && req.path === '/api/v1/pools/batch') {
      let body: unknown
      try {
        body = JSON.parse(req.body)
      } catch {
        return { status: 400, body: '{}' }
      }
      if (!Array.isArray(body)) return { status: 400, body: '{"message":"expected an array of groups"}' }
      state.groups = body.map((g: { name?: string; pools?: Record<string, unknown>[] }, gi: number) => ({
        uid: String(gi),
        name: g.name,
        strategy: { quota: { value: 1 } },
        pools: (g.pools ?? []).map((p, i) => ({
          uid: `p${gi}-${i}`,
          url: p.url,
          user: p.user,
          enabled: p.enabled,
          alive: true,
          active: gi === 0 && i === 0,
          stats: { accepted_shares: 0, rejected_shares: 0 },
        })),
      }))
      sim.groups = state.groups
      sim.restarts++
      return { body: JSON.stringify(state.groups) }
    }
    if (req.method === 'PUT' && req.path === '/api/v1/actions/locate') {
      sim.locate = req.body.trim() === 'true'
      return { body: JSON.stringify(!sim.locate) }
    }
    if (req.method === 'PUT' && req.path === '/api/v1/actions/reboot') return { status: 204, body: '' }
    return { status: 404, body: '{}' }
  }
  const http = await startHttpSim(handler, undefined, opts.listen)
  const sim: BraiinsSim = Object.assign(http, {
    groups: state.groups,
    restarts: 0,
    locate: false,
    logins: 0,
    expireToken: () => {
      token = `expired-${token}`
    },
  })
  return sim
}
