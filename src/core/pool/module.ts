/**
 * The pool module: the `pool.*` API (src/shared/contract/pool.ts) over a PoolService. The pool is
 * off until the owner configures and starts it; once started it starts again with the app until
 * `pool.stop`.
 *
 * Security: the node password is write-only (SecretStore); nothing here returns or logs it.
 */
import type { CoreModuleDef } from '../module'
import type { HandlerMap, TopicMap } from '../rpc/handlers'
import { POOL_MIGRATIONS } from './migrations'
import { PoolService, type PoolServiceOptions } from './pool-service'

export interface PoolModuleOptions extends PoolServiceOptions {
  /** Start at module start when the owner left the pool running. Default true. */
  autoStart?: boolean
  /** Most connections and workers carried by one `pool.stream` frame (the methods list all). Default 500. */
  streamMaxRows?: number
}

let running: PoolService | undefined

/** The running pool service, for other modules and tests; undefined when the module is not started. */
export function poolService(): PoolService | undefined {
  return running
}

export function createPoolModule(o: PoolModuleOptions = {}): CoreModuleDef {
  return {
    name: 'pool',
    migrations: POOL_MIGRATIONS,
    async start(ctx) {
      const service = new PoolService(ctx, o)
      const maxRows = o.streamMaxRows ?? 500

      const handlers = {
        'pool.getSettings': () => service.settings(),
        'pool.setSettings': (p) => service.setSettings(p),
        'pool.start': () => service.start(),
        'pool.stop': () => service.stop(),
        'pool.testNode': (p) => service.testNode(p),
        'pool.status': () => service.status(),
        'pool.connections': () => ({ connections: service.connections() }),
        'pool.kick': (p) => ({ kicked: service.kick(p.id) }),
        'pool.workers': () => ({ workers: service.workers() }),
        'pool.history': (p) => ({
          rows: service.history({
            ...(p.worker !== undefined ? { worker: p.worker } : {}),
            ...(p.sinceMs !== undefined ? { sinceMs: p.sinceMs } : {}),
            ...(p.untilMs !== undefined ? { untilMs: p.untilMs } : {}),
            ...(p.limit !== undefined ? { limit: p.limit } : {}),
          }),
        }),
        'pool.blocks': (p) => ({ blocks: service.blocks.list(p.limit ?? 100) }),
      } satisfies HandlerMap

      const topics = {
        'pool.stream': {
          delivery: 'latest' as const,
          snapshot: () => ({
            status: service.status(),
            connections: service.connections(maxRows),
            workers: service.workers(maxRows),
          }),
          onChange: (cb: () => void) => service.onChange(cb),
        },
        'poolShares.stream': {
          delivery: 'ordered' as const,
          replay: (p: { sinceSeq?: number | undefined }) => service.replayShares(p.sinceSeq),
          onFrame: (cb: Parameters<PoolService['shareFeed']['onFrame']>[0]) => service.shareFeed.onFrame(cb),
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
export const poolModule: CoreModuleDef = createPoolModule()
