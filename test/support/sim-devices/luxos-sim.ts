/**
 * A simulated LuxOS (LUXminer 2025.4.8, S19k Pro) on the cgminer sim: report commands replay the
 * captures (`version`, `summary`, `stats`, `pools`, `config`, `power`), pool commands keep
 * cgminer's semantics and need no session, and the session rules of research §4.5 are enforced:
 * `logon` gives a SessionID, a second `logon` while one is open is refused with Code 402,
 * `ledset` / `rebootdevice` / `logoff` need the SessionID as their first parameter.
 * `poolpriority` and `save` are not LuxOS commands and are refused, so a driver cannot lean on them.
 * Sim-only (no capture): the session id format, the status codes of ledset/rebootdevice/logoff
 * and the wording of a refused session.
 */
import { type CgminerSim, type CgminerSimOptions, splitParams, startCgminerSim } from './cgminer-sim'
import { fixtureText } from './fixtures'

export interface LuxosSim extends CgminerSim {
  session: string | null
  led: string
  reboots: number
  /** Pretend another tool holds the session. */
  holdSession(): void
}

const DESCRIPTION = 'LUXminer 2025.4.8.220305-57b389c7'

export async function startLuxosSim(
  opts: Pick<CgminerSimOptions, 'listen' | 'transform'> & { configPatch?: Record<string, unknown> } = {},
): Promise<LuxosSim> {
  let n = 0
  const state = { session: null as string | null, led: 'auto', reboots: 0 }
  const config = JSON.parse(fixtureText('luxos/rpc_config_s19kpro_2025.4.8.json')) as { CONFIG: object[] }
  if (opts.configPatch) config.CONFIG[0] = { ...config.CONFIG[0], ...opts.configPatch }
  const sim = await startCgminerSim({
    ...opts,
    privileged: true,
    description: DESCRIPTION,
    replies: {
      version: fixtureText('luxos/rpc_version_s19kpro_2025.4.8.json'),
      summary: fixtureText('luxos/rpc_summary_s19kpro_2025.4.8.json'),
      stats: fixtureText('luxos/rpc_stats_s19kpro_2025.4.8.json'),
      power: fixtureText('luxos/rpc_power_s19kpro_2025.4.8.json'),
      config: JSON.stringify(config),
    },
    poolsFixture: fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json'),
    custom: (command, parameter, s) => {
      const needsSession = (): string[] | Record<string, unknown> => {
        const parts = splitParams(parameter ?? '')
        if (state.session === null || parts[0] !== state.session) return s.status('E', 401, 'Invalid session id')
        return parts.slice(1)
      }
      switch (command) {
        case 'logon':
          if (state.session !== null) return s.status('E', 402, 'Another session is active')
          state.session = `sess${++n}x`
          return { SESSION: [{ SessionID: state.session }], ...s.status('S', 316, 'Session created') }
        case 'logoff': {
          const r = needsSession()
          if (!Array.isArray(r)) return r
          state.session = null
          return s.status('S', 317, 'Session closed')
        }
        case 'ledset': {
          const r = needsSession()
          if (!Array.isArray(r)) return r
          const [color, mode] = r
          if (color !== 'red' || !['on', 'off', 'blink', 'auto'].includes(mode ?? ''))
            return s.status('E', 330, `Invalid LED parameters '${r.join(',')}'`)
          state.led = mode ?? 'auto'
          return s.status('S', 331, 'LED set')
        }
        case 'rebootdevice': {
          const r = needsSession()
          if (!Array.isArray(r)) return r
          state.reboots++
          // The device goes down; its session with it.
          state.session = null
          return s.status('S', 340, 'Rebooting device')
        }
        case 'poolpriority':
        case 'save':
        case 'restart':
          return s.status('E', 14, 'Invalid command')
        default:
          return undefined
      }
    },
  })
  const out = Object.assign(sim, {
    holdSession: () => {
      state.session = 'other-tool'
    },
  }) as LuxosSim
  Object.defineProperties(out, {
    session: { get: () => state.session },
    led: { get: () => state.led },
    reboots: { get: () => state.reboots },
  })
  return out
}
