import { chmodSync, mkdirSync } from 'node:fs'
import { methodNames } from '../shared/contract'
import type { ListeningPort } from '../shared/domain/system'
import type { Logger } from './logger'
import type { CoreModule, CoreModuleDef } from './module'
import { MODULES } from './modules'
import type { HandlerMap, TopicMap } from './rpc/handlers'
import { RpcServer } from './rpc/rpc-server'
import { fileCipher, type SecretCipher, SecretStore } from './secrets/secret-store'
import { SettingsRepo } from './store/settings-repo'
import { openStore, type Store } from './store/store'
import { EventLog } from './system/event-log'
import { systemHandlers, systemTopics } from './system/handlers'
import { SystemSampler } from './system/sampler'
import { APP_VERSION } from './version'

export interface CoreOptions {
  dataDir: string
  host: 'headless' | 'desktop' | 'test'
  logger: Logger
  /** Desktop passes a safeStorage-backed cipher served by the main process. */
  cipher?: SecretCipher
  openExternal?: (url: string) => Promise<boolean>
  sampleIntervalMs?: number
  coalesceMs?: number
  validateOutputs?: boolean
  /** Defaults to every module in src/core/modules.ts; tests may start a subset. */
  modules?: CoreModuleDef[]
}

export interface Core {
  readonly rpc: RpcServer
  readonly store: Store
  readonly events: EventLog
  readonly settings: SettingsRepo
  /** Listeners (HTTP, stratum…) register here so `system.status` can show them. */
  addPort(p: ListeningPort): () => void
  close(reason?: string): Promise<void>
}

/**
 * Boots every service of the core from options. It knows nothing of how it is reached: the
 * headless server attaches WebSocket and HTTP transports, the Electron utility process attaches
 * the IPC relay, tests attach in-memory pairs. Modules add their handlers and topics here.
 */
export async function startCore(o: CoreOptions): Promise<Core> {
  const startedAtMs = Date.now()
  mkdirSync(o.dataDir, { recursive: true, mode: 0o700 })
  try {
    chmodSync(o.dataDir, 0o700)
  } catch (e) {
    o.logger.warn('could not restrict the data folder to its owner', { error: String(e) })
  }
  const defs = o.modules ?? MODULES
  const store = openStore(
    o.dataDir,
    o.logger.child('store'),
    defs.flatMap((d) => d.migrations ?? []),
  )
  const settings = new SettingsRepo(store.db)
  const events = new EventLog(store.db, o.logger.child('events'))
  const secrets = new SecretStore(store.db, o.cipher ?? fileCipher)
  const ports = new Set<ListeningPort>()
  let rpc: RpcServer | undefined
  const sampler = new SystemSampler(store.db, () => rpc?.connectionCount ?? 0, {
    intervalMs: o.sampleIntervalMs ?? settings.get('telemetry.sampleIntervalMs'),
    startedAtMs,
  })
  const deps = {
    version: APP_VERSION,
    host: o.host,
    dataDir: o.dataDir,
    startedAtMs,
    ports: () => [...ports],
    storeInfo: store.info,
    secrets,
    settings,
    events,
    sampler,
    ...(o.openExternal ? { openExternal: o.openExternal } : {}),
  }
  const handlers: HandlerMap = { ...systemHandlers(deps) }
  const topics: TopicMap = { ...systemTopics(deps) }
  const started: Array<{ name: string; mod: CoreModule }> = []
  const addPort = (p: ListeningPort): (() => void) => {
    ports.add(p)
    return () => ports.delete(p)
  }
  for (const def of defs) {
    const mod = await def.start({
      dataDir: o.dataDir,
      host: o.host,
      logger: o.logger.child(def.name),
      db: store.db,
      settings,
      events,
      secrets,
      addPort,
    })
    Object.assign(handlers, mod.handlers ?? {})
    Object.assign(topics, mod.topics ?? {})
    started.push({ name: def.name, mod })
  }
  const missing = methodNames().filter((m) => !(m in handlers))
  if (missing.length) o.logger.debug('contract methods without a handler in this build', { missing })

  rpc = new RpcServer({
    handlers,
    topics,
    logger: o.logger.child('rpc'),
    version: APP_VERSION,
    host: o.host,
    ...(o.coalesceMs !== undefined ? { coalesceMs: o.coalesceMs } : {}),
    ...(o.validateOutputs !== undefined ? { validateOutputs: o.validateOutputs } : {}),
  })
  events.append('info', 'core', `Hashyard ${APP_VERSION} started (${o.host}).`, { dataDir: o.dataDir })

  let closed = false
  return {
    rpc,
    store,
    events,
    settings,
    addPort,
    async close(reason = 'shutdown') {
      if (closed) return
      closed = true
      events.append('info', 'core', `Hashyard stopping (${reason}).`)
      rpc?.shutdown(reason)
      for (const { name, mod } of started.reverse()) {
        try {
          await mod.stop?.()
        } catch (e) {
          o.logger.error(`module ${name} failed to stop cleanly`, { error: String(e) })
        }
      }
      sampler.close()
      store.close()
    },
  }
}
