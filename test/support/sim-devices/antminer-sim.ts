/**
 * A simulated stock Antminer: the cgminer API (read-only for remote hosts, as the default
 * `api-allow` makes it) on one port and the JSON CGI behind real Digest auth on another.
 * `set_miner_conf.cgi` updates both the CGI config and the RPC pool list, so a read-back over
 * RPC shows the change, as on the real miner once bmminer reloads.
 *
 * Sim-only behaviour (not in any capture): a `set_miner_conf.cgi` body that is not the web UI's
 * shape (three pool objects with url/user/pass strings, the fan and mode keys) gets HTTP 400, so
 * a test fails loudly if the driver sends anything else.
 */
import { type CgminerSim, startCgminerSim } from './cgminer-sim'
import { fixtureText } from './fixtures'
import { type HttpSim, type SimRequest, type SimResponse, startHttpSim } from './http-sim'

export interface AntminerSim {
  http: HttpSim
  rpc: CgminerSim
  conf: Record<string, unknown>
  blinking: boolean
  reboots: number
  close(): Promise<void>
}

export interface AntminerSimOptions {
  username?: string
  password?: string
  /** Reply to set_miner_conf.cgi with this status code instead of applying (a failing device). */
  failSetConf?: number
  /** Answer M000 to this many writes without applying them (a config that does not take). */
  dropSetConfWrites?: number
  /** Loopback address and ports to listen on (default 127.0.0.1, ephemeral ports). */
  listen?: { host: string; httpPort: number; rpcPort: number }
}

export async function startAntminerSim(opts: AntminerSimOptions = {}): Promise<AntminerSim> {
  const rpc = await startCgminerSim({
    replies: {
      version: fixtureText('antminer/rpc_version_s19pro_bmminer_49.0.1.3.json'),
      summary: fixtureText('antminer/rpc_summary_s19pro_bmminer_49.0.1.3.json'),
      stats: fixtureText('antminer/rpc_stats_s19pro_bmminer_49.0.1.3.json'),
      devs: fixtureText('antminer/rpc_devs_s19pro_bmminer.json'),
    },
    poolsFixture: fixtureText('antminer/rpc_pools_s19pro_bmminer_49.0.1.3.json'),
    privileged: false,
    ...(opts.listen ? { listen: { host: opts.listen.host, port: opts.listen.rpcPort } } : {}),
  })
  const conf = JSON.parse(fixtureText('antminer/cgi_get_miner_conf_pyasic.json')) as Record<string, unknown>
  const sim: AntminerSim = {
    http: undefined as unknown as HttpSim,
    rpc,
    conf,
    blinking: false,
    reboots: 0,
    close: async () => {
      await Promise.all([sim.http.close(), rpc.close()])
    },
  }

  let dropped = 0
  const validConf = (b: unknown): b is { pools: { url: string; user: string; pass: string }[] } => {
    if (typeof b !== 'object' || b === null) return false
    const r = b as Record<string, unknown>
    if (!Array.isArray(r.pools) || r.pools.length !== 3) return false
    const poolsOk = r.pools.every((p: unknown) => {
      const q = p as Record<string, unknown>
      return typeof p === 'object' && p !== null && ['url', 'user', 'pass'].every((k) => typeof q[k] === 'string')
    })
    return (
      poolsOk &&
      typeof r['bitmain-fan-ctrl'] === 'boolean' &&
      typeof r['bitmain-fan-pwm'] === 'string' &&
      typeof r['miner-mode'] === 'number' &&
      typeof r['freq-level'] === 'string'
    )
  }

  const handler = (req: SimRequest): SimResponse => {
    const json = (v: unknown): SimResponse => ({ body: JSON.stringify(v) })
    switch (`${req.method} ${req.path}`) {
      case 'GET /cgi-bin/get_system_info.cgi':
        return { body: fixtureText('antminer/cgi_get_system_info_s21.json') }
      case 'GET /cgi-bin/get_miner_conf.cgi':
        return json(conf)
      case 'GET /cgi-bin/stats.cgi':
        return { body: fixtureText('antminer/cgi_stats_s23hyd_captured.json') }
      case 'GET /cgi-bin/summary.cgi':
        return { body: fixtureText('antminer/cgi_summary_s23hyd_captured.json') }
      case 'POST /cgi-bin/set_miner_conf.cgi': {
        if (opts.failSetConf) return { status: opts.failSetConf, body: 'error' }
        let body: unknown
        try {
          body = JSON.parse(req.body)
        } catch {
          return { status: 400, body: 'bad json' }
        }
        if (!validConf(body)) return { status: 400, body: 'unexpected shape' }
        if (dropped < (opts.dropSetConfWrites ?? 0)) {
          dropped++
          return { body: fixtureText('elphapex/cgi_set_miner_conf_response.json') }
        }
        conf.pools = body.pools
        conf['bitmain-fan-ctrl'] = (body as Record<string, unknown>)['bitmain-fan-ctrl']
        conf['bitmain-fan-pwm'] = (body as Record<string, unknown>)['bitmain-fan-pwm']
        rpc.setPools(body.pools.filter((p) => p.url !== '').map((p) => ({ url: p.url, user: p.user, pass: p.pass })))
        // Exact reply of the same CGI family (captured on Elphapex, research §4.1).
        return { body: fixtureText('elphapex/cgi_set_miner_conf_response.json') }
      }
      case 'GET /cgi-bin/reboot.cgi':
        sim.reboots++
        return json({})
      case 'POST /cgi-bin/blink.cgi': {
        let on = false
        try {
          on = (JSON.parse(req.body) as { blink?: unknown }).blink === 'true'
        } catch {
          return { status: 400, body: '' }
        }
        sim.blinking = on
        return json({ code: on ? 'B000' : 'B100' })
      }
      case 'GET /cgi-bin/get_blink_status.cgi':
        return json({ blink: sim.blinking })
      default:
        return { status: 404, headers: { 'Content-Type': 'text/html' }, body: '<html>404</html>' }
    }
  }
  sim.http = await startHttpSim(
    handler,
    {
      // Sources give only the prefix `antMiner`; the rest of the realm is a stand-in.
      realm: 'antMiner Configuration',
      username: opts.username ?? 'root',
      password: opts.password ?? 'root',
    },
    opts.listen ? { host: opts.listen.host, port: opts.listen.httpPort } : undefined,
  )
  return sim
}
