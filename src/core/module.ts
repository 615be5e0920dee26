import type { ListeningPort } from '../shared/domain/system'
import type { Logger } from './logger'
import type { HandlerMap, TopicMap } from './rpc/handlers'
import type { SecretStore } from './secrets/secret-store'
import type { Migration } from './store/migrations'
import type { SettingsRepo } from './store/settings-repo'
import type { Database } from './store/sqlite'
import type { EventLog } from './system/event-log'

/** What every module gets from the core when it starts. */
export interface CoreContext {
  dataDir: string
  host: 'headless' | 'desktop' | 'test'
  logger: Logger
  db: Database
  settings: SettingsRepo
  events: EventLog
  secrets: SecretStore
  /** Register a listener so `system.status` shows it; returns its removal. */
  addPort(p: ListeningPort): () => void
}

/**
 * A feature of the core (the local pool, the proxy, devices, serial, health…): its tables, its API
 * handlers and topics, and how to stop it. Modules are listed in `src/core/modules.ts`.
 */
export interface CoreModuleDef {
  name: string
  migrations?: Migration[]
  start(ctx: CoreContext): CoreModule | Promise<CoreModule>
}

export interface CoreModule {
  handlers?: HandlerMap
  topics?: TopicMap
  /** Stop listeners and timers, flush buffers. Called in reverse start order. */
  stop?(): void | Promise<void>
}
