import type { ListeningPort } from '../../shared/domain/system'
import { AppFailure } from '../../shared/errors'
import type { HandlerMap, TopicMap } from '../rpc/handlers'
import type { SecretStore } from '../secrets/secret-store'
import type { SettingsRepo } from '../store/settings-repo'
import type { StoreInfo } from '../store/store'
import type { EventLog } from './event-log'
import type { SystemSampler } from './sampler'

export interface SystemDeps {
  version: string
  host: 'headless' | 'desktop' | 'test'
  dataDir: string
  startedAtMs: number
  ports(): ListeningPort[]
  storeInfo: StoreInfo
  secrets: SecretStore
  settings: SettingsRepo
  events: EventLog
  sampler: SystemSampler
  /** Desktop provides this (main process, checked URL); headless has none. */
  openExternal?: (url: string) => Promise<boolean>
}

export function systemHandlers(d: SystemDeps) {
  return {
    'system.status': () => ({
      app: 'hashyard' as const,
      version: d.version,
      host: d.host,
      startedAtMs: d.startedAtMs,
      uptimeS: (Date.now() - d.startedAtMs) / 1000,
      dataDir: d.dataDir,
      nodeVersion: process.version,
      pid: process.pid,
      ports: d.ports(),
      store: d.storeInfo,
      secrets: {
        protection: d.secrets.cipher.protection,
        ...(d.secrets.cipher.warning ? { warning: d.secrets.cipher.warning } : {}),
      },
    }),
    'system.ping': (p) => ({ tsMs: Date.now(), ...(p.echo !== undefined ? { echo: p.echo } : {}) }),
    'settings.get': () => d.settings.all(),
    'settings.set': (p) => {
      const value = d.settings.set(p.key, p.value)
      d.events.append('info', 'settings', `Setting ${p.key} changed.`)
      return { key: p.key, value }
    },
    'events.list': (p) => {
      const events = d.events.list(p.sinceSeq ?? 0, p.limit ?? 200)
      return { events, lastSeq: d.events.lastSeq }
    },
    'telemetry.system': (p) => ({ samples: d.sampler.history(p.sinceMs ?? 0, p.limit ?? 3600) }),
    'app.openExternal': async (p) => {
      if (!d.openExternal) {
        throw new AppFailure('NOT_SUPPORTED', 'Opening links is done by the browser in headless mode.')
      }
      return { opened: await d.openExternal(p.url) }
    },
  } satisfies HandlerMap
}

export function systemTopics(d: SystemDeps) {
  return {
    'system.stream': {
      delivery: 'latest' as const,
      snapshot: () => d.sampler.latest,
      onChange: (cb: () => void) => d.sampler.onChange(cb),
    },
    'events.stream': {
      delivery: 'ordered' as const,
      replay: (p: { sinceSeq?: number | undefined }) => d.events.replay(p.sinceSeq),
      onFrame: (cb: (e: import('../../shared/domain/system').AppEvent) => void) => d.events.onAppend(cb),
    },
  } satisfies TopicMap
}
