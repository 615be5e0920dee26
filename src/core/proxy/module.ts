/**
 * The proxy module: the `proxy.*`, `proxyPools.*` and `proxyRoutes.*` API
 * (src/shared/contract/proxy.ts) over a ProxyService. The proxy is off until the owner adds a pool
 * and starts it; once started it starts again with the app until `proxy.stop`.
 *
 * Security: upstream pool passwords are write-only (SecretStore); nothing here returns or logs them.
 */
import type { CoreModuleDef } from '../module'
import type { HandlerMap, TopicMap } from '../rpc/handlers'
import { PROXY_MIGRATIONS } from './migrations'
import { ProxyService, type ProxyServiceOptions } from './proxy-service'

export interface ProxyModuleOptions extends ProxyServiceOptions {
  /** Start at module start when the owner left the proxy running. Default true. */
  autoStart?: boolean
  /** Most devices carried by one `proxy.stream` frame (`proxy.devices` lists all). Default 500. */
  streamMaxRows?: number
}

let running: ProxyService | undefined

/** The running proxy service, for tests and the bench; undefined when the module is not started. */
export function proxyService(): ProxyService | undefined {
  return running
}

/** Copies only the keys that are present (exactOptionalPropertyTypes-safe). */
function defined<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out as { [K in keyof T]?: Exclude<T[K], undefined> }
}

export function createProxyModule(o: ProxyModuleOptions = {}): CoreModuleDef {
  return {
    name: 'proxy',
    migrations: PROXY_MIGRATIONS,
    async start(ctx) {
      const service = new ProxyService(ctx, o)
      const maxRows = o.streamMaxRows ?? 500

      const handlers = {
        'proxy.getSettings': () => service.settings(),
        'proxy.setSettings': (p) => service.setSettings(p),
        'proxy.start': () => service.start(),
        'proxy.stop': () => service.stop(),
        'proxy.status': () => service.status(),
        'proxy.devices': () => ({ devices: service.devices() }),
        'proxy.history': (p) => ({ rows: service.history(defined(p)) }),
        'proxyPools.list': () => ({ pools: service.pools() }),
        'proxyPools.add': async (p) => ({ pool: await service.addPool(p) }),
        'proxyPools.update': async (p) => ({ pool: await service.updatePool(p) }),
        'proxyPools.remove': (p) => service.removePool(p.id),
        'proxyPools.test': (p) => service.testPool(p),
        'proxyRoutes.list': () => service.routes(),
        'proxyRoutes.add': async (p) => ({ route: await service.addRoute(p) }),
        'proxyRoutes.update': async (p) => ({ route: await service.updateRoute(p) }),
        'proxyRoutes.remove': (p) => service.removeRoute(p.id),
        'proxyRoutes.setDefault': (p) => service.setDefaultRoute(p.id),
        'proxyRoutes.setRules': (p) => service.setRules(p.rules),
      } satisfies HandlerMap

      const topics = {
        'proxy.stream': {
          delivery: 'latest' as const,
          snapshot: () => ({ status: service.status(), devices: service.devices(maxRows) }),
          onChange: (cb: () => void) => service.onChange(cb),
        },
        'proxySwitches.stream': {
          delivery: 'ordered' as const,
          replay: (p: { sinceSeq?: number | undefined }) => service.replaySwitches(p.sinceSeq),
          onFrame: (cb: Parameters<ProxyService['onSwitch']>[0]) => service.onSwitch(cb),
        },
      } satisfies TopicMap

      running = service
      if (o.autoStart !== false) await service.autoStart()
      return {
        handlers,
        topics,
        async stop() {
          if (running === service) running = undefined
          await service.close()
        },
      }
    },
  }
}

/** The module as listed in src/core/modules.ts. */
export const proxyModule: CoreModuleDef = createProxyModule()
