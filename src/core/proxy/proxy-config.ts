/**
 * The proxy's stored configuration: listener settings, upstream pools, routes, device rules. One
 * JSON row (a kill leaves the old or the new config, never half of each), checked when read: a
 * damaged or hand-edited row falls back to the defaults instead of stopping the app. Pool
 * passwords are not here: they live in the SecretStore under `poolPasswordRef(id)`.
 */
import { z } from 'zod'
import type { Database } from '../store/sqlite'
import type { ProxyRouting, DeviceRule as RoutingRule } from './proxy'

export interface StoredPool {
  id: number
  name: string
  /** Canonical `stratum+tcp://host:port` / `stratum+ssl://host:port` (from `parsePoolUrl`). */
  url: string
  hostPort: string
  tls: boolean
  user: string
  maxMinersPerSession: number | null
}

export interface StoredRoute {
  id: number
  name: string
  goals: Array<{ weight: number; pools: number[] }>
  workerTemplate: string
}

export interface StoredRule {
  routeId: number
  worker?: string
  ip?: string
  deviceId?: string
}

export interface ProxyConfig {
  enabled: boolean
  host: string
  port: number
  maxMinersPerSession: number
  passThrough: boolean
  failover: { noJobTimeoutS: number; rejectStreak: number; rejectCooldownS: number; returnToPrimaryAfterS: number }
  pools: StoredPool[]
  routes: StoredRoute[]
  rules: StoredRule[]
  defaultRouteId: number | null
  nextPoolId: number
  nextRouteId: number
}

export const DEFAULT_PROXY_CONFIG: ProxyConfig = {
  enabled: false,
  host: '0.0.0.0',
  port: 3334,
  maxMinersPerSession: 50,
  passThrough: false,
  failover: { noJobTimeoutS: 120, rejectStreak: 20, rejectCooldownS: 120, returnToPrimaryAfterS: 60 },
  pools: [],
  routes: [],
  rules: [],
  defaultRouteId: null,
  nextPoolId: 1,
  nextRouteId: 1,
}

const Stored = z.object({
  enabled: z.boolean(),
  host: z.string(),
  port: z.number().int(),
  maxMinersPerSession: z.number().int().min(1),
  passThrough: z.boolean(),
  failover: z.object({
    noJobTimeoutS: z.number(),
    rejectStreak: z.number().int(),
    rejectCooldownS: z.number(),
    returnToPrimaryAfterS: z.number(),
  }),
  pools: z.array(
    z.object({
      id: z.number().int(),
      name: z.string(),
      url: z.string(),
      hostPort: z.string(),
      tls: z.boolean(),
      user: z.string(),
      maxMinersPerSession: z.number().int().nullable(),
    }),
  ),
  routes: z.array(
    z.object({
      id: z.number().int(),
      name: z.string(),
      goals: z.array(z.object({ weight: z.number(), pools: z.array(z.number().int()) })),
      workerTemplate: z.string(),
    }),
  ),
  rules: z.array(
    z.object({
      routeId: z.number().int(),
      worker: z.string().optional(),
      ip: z.string().optional(),
      deviceId: z.string().optional(),
    }),
  ),
  defaultRouteId: z.number().int().nullable(),
  nextPoolId: z.number().int(),
  nextRouteId: z.number().int(),
})

export const poolPasswordRef = (id: number): string => `proxy.pool.${id}.password`

export function isConfigured(c: ProxyConfig): boolean {
  return c.pools.length > 0 && c.defaultRouteId !== null && c.routes.some((r) => r.id === c.defaultRouteId)
}

export class ProxyConfigRepo {
  readonly #get
  readonly #put
  /** Why the stored row was not usable, once (the service turns it into an event). */
  damaged: string | undefined

  constructor(db: Database) {
    this.#get = db.prepare('SELECT value_json FROM proxy_config WHERE id = 1')
    this.#put = db.prepare(
      'INSERT INTO proxy_config (id, value_json, updated_at_ms) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET value_json = excluded.value_json, updated_at_ms = excluded.updated_at_ms',
    )
  }

  load(): ProxyConfig {
    const row = this.#get.get() as { value_json: string } | undefined
    if (!row) return structuredClone(DEFAULT_PROXY_CONFIG)
    let parsed: unknown
    try {
      parsed = JSON.parse(row.value_json)
    } catch (e) {
      this.damaged = `the stored proxy configuration is not valid JSON (${(e as Error).message})`
      return structuredClone(DEFAULT_PROXY_CONFIG)
    }
    const r = Stored.safeParse(parsed)
    if (!r.success) {
      this.damaged = `the stored proxy configuration is damaged (${r.error.issues[0]?.message ?? 'invalid'})`
      return structuredClone(DEFAULT_PROXY_CONFIG)
    }
    return r.data as ProxyConfig
  }

  save(c: ProxyConfig): void {
    this.#put.run(JSON.stringify(c), Date.now())
  }
}

/**
 * What the StratumProxy runs from a config: ids as strings, pass-through applied (one session per
 * device and the device's own name upstream), rules by device record resolved to the record's
 * address (a rule whose device has no address is left out).
 */
export function routingOf(
  c: ProxyConfig,
  passwords: ReadonlyMap<number, string>,
  deviceIp: (deviceId: string) => string | undefined,
): ProxyRouting {
  const rules: RoutingRule[] = []
  for (const r of c.rules) {
    const rule: RoutingRule = { routeId: String(r.routeId) }
    if (r.worker !== undefined) rule.worker = r.worker
    if (r.ip !== undefined) rule.ip = r.ip
    if (r.deviceId !== undefined) {
      const ip = deviceIp(r.deviceId)
      if (ip === undefined || (r.ip !== undefined && r.ip !== ip)) continue
      rule.ip = ip
    }
    rules.push(rule)
  }
  return {
    pools: c.pools.map((p) => {
      const password = passwords.get(p.id)
      return {
        id: String(p.id),
        url: p.url,
        user: p.user,
        ...(password !== undefined ? { password } : {}),
        tls: p.tls,
        maxMinersPerSession: c.passThrough ? 1 : (p.maxMinersPerSession ?? c.maxMinersPerSession),
      }
    }),
    routes: c.routes.map((r) => ({
      id: String(r.id),
      goals: r.goals.map((g) => ({ weight: g.weight, pools: g.pools.map(String) })),
      workerTemplate: c.passThrough ? 'pass-through' : r.workerTemplate,
    })),
    rules,
    defaultRouteId: String(c.defaultRouteId ?? ''),
  }
}
