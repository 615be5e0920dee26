import { z } from 'zod'
import type { Logger } from '../logger'
import type { Database } from '../store/sqlite'

/**
 * The module's own settings (metrics listener, daily summary, history tiers), one JSON value per
 * key in `health_meta`. Kept here rather than in the app's settings table so the health module
 * owns its keys; a stored value that no longer parses falls back to the default with a warning.
 */

export const METRICS_DEFAULT_PORT = 9464
export const METRICS_DEFAULT_HOST = '127.0.0.1'
/** SecretStore reference of the `/metrics` bearer token. */
export const METRICS_TOKEN_REF = 'health.metrics.token'

const MetricsConfig = z.object({
  enabled: z.boolean(),
  host: z.string().min(1).max(64),
  port: z.number().int().min(1).max(65535),
})
export type MetricsConfig = z.infer<typeof MetricsConfig>

const SummaryConfig = z.object({
  enabled: z.boolean(),
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59),
  lastSentAtMs: z.number().nullable(),
})
export type SummaryConfig = z.infer<typeof SummaryConfig>

const HistoryConfig = z.object({
  tiers: z.array(z.object({ widthMs: z.number().int(), retentionMs: z.number().int() })).nullable(),
  /** undefined: the default cap; null: no cap. */
  maxStoreBytes: z.number().nullable().optional(),
})
export type HistoryConfig = z.infer<typeof HistoryConfig>

const SCHEMAS = { metrics: MetricsConfig, summary: SummaryConfig, history: HistoryConfig } as const
type Key = keyof typeof SCHEMAS
type ValueOf<K extends Key> = z.infer<(typeof SCHEMAS)[K]>

const DEFAULTS: { [K in Key]: ValueOf<K> } = {
  metrics: { enabled: false, host: METRICS_DEFAULT_HOST, port: METRICS_DEFAULT_PORT },
  summary: { enabled: false, hour: 8, minute: 0, lastSentAtMs: null },
  history: { tiers: null },
}

export class HealthSettings {
  readonly #db: Database
  readonly #log: Logger

  constructor(db: Database, logger: Logger) {
    this.#db = db
    this.#log = logger
  }

  get<K extends Key>(key: K): ValueOf<K> {
    const row = this.#db.prepare('SELECT value FROM health_meta WHERE key = ?').get(`settings.${key}`) as
      | { value: string }
      | undefined
    if (!row) return structuredClone(DEFAULTS[key])
    let parsed: unknown
    try {
      parsed = JSON.parse(row.value)
    } catch {
      parsed = undefined
    }
    const r = SCHEMAS[key].safeParse(parsed)
    if (r.success) return r.data as ValueOf<K>
    this.#log.warn('health setting reset to its default: stored value is invalid', { key })
    return structuredClone(DEFAULTS[key])
  }

  set<K extends Key>(key: K, value: ValueOf<K>): ValueOf<K> {
    const v = SCHEMAS[key].parse(value) as ValueOf<K>
    this.#db
      .prepare(
        'INSERT INTO health_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      )
      .run(`settings.${key}`, JSON.stringify(v))
    return v
  }
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form: where `/metrics` may be served without a token. */
export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || /^::ffff:127\./i.test(host)
}
