/**
 * The running proxy behind the `proxy.*`, `proxyPools.*` and `proxyRoutes.*` API: the stored
 * configuration (ProxyConfigRepo + SecretStore for pool passwords), one StratumProxy while started,
 * and what the owner sees of it — status, per-device accounting, per-minute history, and every
 * failover switch as an event with its reason.
 *
 *   config + secrets ──routingOf──▶ StratumProxy ──switch / pool / share / device / authorize──▶
 *        EventLog (switches coalesced per move, pool up/down), proxySwitches.stream,
 *        MinuteAccounting ──BatchWriter──▶ proxy_minutes, devices module (passive matching)
 *
 * Security: pool passwords are read from the SecretStore only to build the routing and are never
 * returned, logged or put in an event; worker names, user agents and pool messages are untrusted.
 */

import type {
  ProxyDevice,
  ProxyMinute,
  ProxyPool,
  ProxyPoolTestResult,
  ProxyRoute,
  ProxySettings,
  ProxySettingsPatch,
  ProxyStatus,
  ProxySwitchFrame,
  DeviceRule as RuleInput,
} from '../../shared/contract/proxy'
import { AppFailure } from '../../shared/errors'
import { devicesService, noteMinerConnected, noteShareAccepted } from '../devices/module'
import type { Logger } from '../logger'
import type { CoreContext } from '../module'
import { BatchWriter } from '../store/batch-writer'
import { SerialQueue } from '../util/serial-queue'
import { MinuteAccounting } from './minute-accounting'
import { testPool } from './pool-test'
import { parsePoolUrl } from './pool-url'
import {
  type AuthorizeEvent,
  checkRouting,
  type DeviceEvent,
  type DeviceStats,
  type PoolHealthEvent,
  type PoolStats,
  type ProxyOptions,
  StratumProxy,
  type SwitchEvent,
} from './proxy'
import {
  isConfigured,
  type ProxyConfig,
  ProxyConfigRepo,
  poolPasswordRef,
  routingOf,
  type StoredPool,
  type StoredRoute,
  type StoredRule,
} from './proxy-config'
import { type ProxyHistoryQuery, type ProxyMinuteRow, ProxyStatsRepo } from './stats-repo'
import { checkWorkerTemplate, DEFAULT_WORKER_TEMPLATE } from './upstream-worker'

export interface ProxyServiceOptions {
  /** StratumProxy tuning the settings do not cover (tests shorten timings; the bench raises limits). */
  proxy?: Pick<ProxyOptions, 'vardiff' | 'limits' | 'upstream' | 'storm'>
  /** Accounting is written to the store this often. Default 10 s. */
  flushIntervalMs?: number
  /** `proxy.stream` announces changes at most this often. Default 1 s. */
  streamIntervalMs?: number
  /** Per-minute rows older than this are deleted. Default 30 days. */
  keepHistoryDays?: number
  /** `proxyPools.test`: connect/handshake timeout and the wait for the first job. Defaults 10 s, 30 s. */
  poolTest?: { timeoutMs?: number; jobWaitMs?: number }
  /** Grace for miners to close after client.reconnect on stop. Default 2 s. */
  closeGraceMs?: number
  /** Switch frames kept for replay and shown in `proxy.status`. Defaults 1,000 and 20. */
  switchRing?: number
  statusSwitches?: number
}

interface Running {
  proxy: StratumProxy
  host: string
  port: number
  startedAtMs: number
  removePort: () => void
  /** Fleet device record per proxy connection (passive matching). */
  records: Map<number, string>
}

interface PendingSwitch {
  first: SwitchEvent
  deviceIds: number[]
  workers: string[]
  count: number
}

const EMPTY_RATES = { h1m: 0, h10m: 0, h1h: 0 }
const MAX_LISTED = 50

const REASON_WORDS: Record<SwitchEvent['reason'], string> = {
  failover: 'failover',
  'return-to-primary': 'back to the primary pool',
  'route-change': 'route changed',
  rebalance: 'rebalanced',
  'upstream-extranonce': 'the pool changed the extranonce',
  'upstream-reconnect': 'the pool session reconnected',
}

export class ProxyService {
  private readonly config: ProxyConfigRepo
  private readonly stats: ProxyStatsRepo
  private readonly log: Logger
  private readonly minutes = new MinuteAccounting()
  private readonly writer: BatchWriter<ProxyMinuteRow[]>
  private running: Running | undefined
  private readonly queue = new SerialQueue()
  private readonly listeners = new Set<() => void>()
  private readonly switchListeners = new Set<(f: ProxySwitchFrame) => void>()
  private readonly timers: NodeJS.Timeout[] = []
  private dirty = false
  private closed = false
  private switches: ProxySwitchFrame[] = []
  private switchSeq = 0
  private pendingSwitches = new Map<string, PendingSwitch>()
  private switchFlush: NodeJS.Immediate | undefined
  /** Device-record rules resolve to addresses; re-applied when an address changes. */
  private resolvedRuleIps = ''

  constructor(
    private readonly ctx: CoreContext,
    private readonly o: ProxyServiceOptions = {},
  ) {
    this.log = ctx.logger
    this.config = new ProxyConfigRepo(ctx.db)
    this.config.load()
    if (this.config.damaged) {
      ctx.events.append('warn', 'proxy', `The proxy settings were reset: ${this.config.damaged}.`)
    }
    this.stats = new ProxyStatsRepo(ctx.db)
    this.writer = new BatchWriter({
      intervalMs: o.flushIntervalMs ?? 10_000,
      maxRows: 1000,
      write: (batches) => {
        for (const rows of batches) this.stats.write(rows)
      },
      onError: (e) => this.log.error('proxy accounting could not be written', { error: String(e) }),
    })
    this.every(o.flushIntervalMs ?? 10_000, () => this.flush())
    this.every(o.streamIntervalMs ?? 1000, () => {
      if (!this.dirty) return
      this.dirty = false
      for (const cb of this.listeners) cb()
    })
    // Hashrate windows move with time even without events.
    this.every(5000, () => {
      if (this.running) this.dirty = true
    })
    this.every(60_000, () => void this.reresolveRules())
    const keepMs = (o.keepHistoryDays ?? 30) * 86_400_000
    this.every(3_600_000, () => this.stats.prune(Date.now() - keepMs))
    this.stats.prune(Date.now() - keepMs)
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn()
      } catch (e) {
        this.log.error('proxy housekeeping failed', { error: (e as Error).stack ?? String(e) })
      }
    }, ms)
    t.unref()
    this.timers.push(t)
  }

  /** Start/stop/config changes run one at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn)
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  onSwitch(cb: (f: ProxySwitchFrame) => void): () => void {
    this.switchListeners.add(cb)
    return () => this.switchListeners.delete(cb)
  }

  /** The running StratumProxy (tests, the bench); undefined while stopped. */
  get proxy(): StratumProxy | undefined {
    return this.running?.proxy
  }

  // -------------------------------------------------------------------------------------------
  // Settings

  settings(): ProxySettings {
    const c = this.config.load()
    return {
      configured: isConfigured(c),
      enabled: c.enabled,
      host: c.host,
      port: c.port,
      maxMinersPerSession: c.maxMinersPerSession,
      passThrough: c.passThrough,
      failover: { ...c.failover },
    }
  }

  setSettings(patch: ProxySettingsPatch): Promise<{ settings: ProxySettings; restartRequired: boolean }> {
    return this.serial(async () => {
      const cur = this.config.load()
      const next: ProxyConfig = {
        ...cur,
        host: patch.host ?? cur.host,
        port: patch.port ?? cur.port,
        maxMinersPerSession: patch.maxMinersPerSession ?? cur.maxMinersPerSession,
        passThrough: patch.passThrough ?? cur.passThrough,
        failover: {
          noJobTimeoutS: patch.failover?.noJobTimeoutS ?? cur.failover.noJobTimeoutS,
          rejectStreak: patch.failover?.rejectStreak ?? cur.failover.rejectStreak,
          rejectCooldownS: patch.failover?.rejectCooldownS ?? cur.failover.rejectCooldownS,
          returnToPrimaryAfterS: patch.failover?.returnToPrimaryAfterS ?? cur.failover.returnToPrimaryAfterS,
        },
      }
      const run = this.running
      const listenerChanged =
        next.host !== cur.host ||
        next.port !== cur.port ||
        JSON.stringify(next.failover) !== JSON.stringify(cur.failover)
      await this.commit(next)
      const restartRequired = run !== undefined && listenerChanged
      this.ctx.events.append(
        'info',
        'proxy',
        restartRequired
          ? 'Proxy settings saved; the port and failover timings apply when the proxy is restarted.'
          : 'Proxy settings saved.',
      )
      return { settings: this.settings(), restartRequired }
    })
  }

  /**
   * Validates a new config as the proxy would run it, stores it, and applies it to a running proxy
   * (live miners are moved, not dropped). Throws INVALID_PARAMS with the reason, saving nothing.
   */
  private async commit(next: ProxyConfig): Promise<void> {
    if (next.routes.length > 0 && next.defaultRouteId !== null) {
      const check = checkRouting(routingOf(next, new Map(), () => undefined))
      if (!check.ok) throw new AppFailure('INVALID_PARAMS', check.message)
    }
    this.config.save(next)
    const run = this.running
    if (run) {
      if (!isConfigured(next)) {
        await this.halt('no pool or route is left')
        this.ctx.events.append('warn', 'proxy', 'The proxy stopped: no pool or default route is configured any more.')
      } else {
        const r = run.proxy.configure(await this.routing(next))
        if (!r.ok) throw new AppFailure('INVALID_PARAMS', r.message)
      }
    }
    this.changed()
  }

  private async routing(c: ProxyConfig) {
    const passwords = new Map<number, string>()
    for (const p of c.pools) {
      const pw = await this.readPassword(p)
      if (pw !== undefined) passwords.set(p.id, pw)
    }
    const ips: string[] = []
    const r = routingOf(c, passwords, (id) => {
      const ip = devicesService()?.repo.get(id)?.ip ?? undefined
      ips.push(`${id}=${ip ?? ''}`)
      return ip
    })
    this.resolvedRuleIps = ips.join(',')
    return r
  }

  private async readPassword(p: StoredPool): Promise<string | undefined> {
    const ref = poolPasswordRef(p.id)
    if (!this.ctx.secrets.has(ref)) return undefined
    try {
      return await this.ctx.secrets.get(ref)
    } catch (e) {
      this.log.warn('stored pool password unreadable', { poolId: p.id, error: (e as Error).message })
      throw new AppFailure(
        'UNAVAILABLE',
        `The stored password of pool "${p.name}" cannot be read on this host (it was saved by another one): enter it again.`,
      )
    }
  }

  /** A device-record rule follows its device to a new address. */
  private async reresolveRules(): Promise<void> {
    const run = this.running
    if (!run) return
    const c = this.config.load()
    if (!c.rules.some((r) => r.deviceId !== undefined)) return
    const now = c.rules
      .filter((r) => r.deviceId !== undefined)
      .map((r) => `${r.deviceId}=${devicesService()?.repo.get(r.deviceId!)?.ip ?? ''}`)
      .join(',')
    if (now === this.resolvedRuleIps) return
    await this.serial(async () => {
      if (this.running === run) run.proxy.configure(await this.routing(this.config.load()))
    })
  }

  // -------------------------------------------------------------------------------------------
  // Pools

  pools(): ProxyPool[] {
    const c = this.config.load()
    return c.pools.map((p) => this.poolView(p, c))
  }

  private poolView(p: StoredPool, c: ProxyConfig): ProxyPool {
    return {
      id: p.id,
      name: p.name,
      url: p.url,
      hostPort: p.hostPort,
      tls: p.tls,
      user: p.user,
      hasPassword: this.ctx.secrets.has(poolPasswordRef(p.id)),
      maxMinersPerSession: p.maxMinersPerSession,
      usedByRoutes: c.routes.filter((r) => r.goals.some((g) => g.pools.includes(p.id))).map((r) => r.id),
    }
  }

  addPool(input: {
    name?: string | undefined
    url: string
    user: string
    password?: string | undefined
    tls?: boolean | undefined
    maxMinersPerSession?: number | null | undefined
  }): Promise<ProxyPool> {
    return this.serial(async () => {
      const ep = parsePoolUrl(input.url, input.tls === undefined ? {} : { tls: input.tls })
      if (!ep.ok) throw new AppFailure('INVALID_PARAMS', ep.error.message, { field: 'url', code: ep.error.code })
      const user = input.user.trim()
      if (user === '') throw new AppFailure('INVALID_PARAMS', 'Enter the pool account (user name).', { field: 'user' })
      const cur = this.config.load()
      const id = cur.nextPoolId
      const pool: StoredPool = {
        id,
        name: input.name?.trim() || ep.value.hostPort,
        url: ep.value.url,
        hostPort: ep.value.hostPort,
        tls: ep.value.tls,
        user,
        maxMinersPerSession: input.maxMinersPerSession ?? null,
      }
      const next: ProxyConfig = { ...cur, pools: [...cur.pools, pool], nextPoolId: id + 1 }
      // The first pool makes the proxy usable at once: a default route with it.
      if (next.routes.length === 0) {
        next.routes = [
          {
            id: cur.nextRouteId,
            name: 'Default',
            goals: [{ weight: 1, pools: [id] }],
            workerTemplate: DEFAULT_WORKER_TEMPLATE,
          },
        ]
        next.defaultRouteId = cur.nextRouteId
        next.nextRouteId = cur.nextRouteId + 1
      }
      if (input.password !== undefined) await this.ctx.secrets.put(poolPasswordRef(id), input.password)
      try {
        await this.commit(next)
      } catch (e) {
        this.ctx.secrets.delete(poolPasswordRef(id))
        throw e
      }
      this.ctx.events.append('info', 'proxy', `Upstream pool "${pool.name}" added (${pool.url}, account ${pool.user}).`)
      return this.poolView(pool, next)
    })
  }

  updatePool(input: {
    id: number
    name?: string | undefined
    url?: string | undefined
    user?: string | undefined
    password?: string | null | undefined
    tls?: boolean | undefined
    maxMinersPerSession?: number | null | undefined
  }): Promise<ProxyPool> {
    return this.serial(async () => {
      const cur = this.config.load()
      const old = cur.pools.find((p) => p.id === input.id)
      if (!old) throw new AppFailure('NOT_FOUND', `No upstream pool with id ${input.id}.`)
      let { url, hostPort, tls } = old
      if (input.url !== undefined || input.tls !== undefined) {
        // A TLS switch alone re-reads the stored address with the new setting.
        const raw = input.url ?? (input.tls === false ? old.hostPort : old.url)
        const ep = parsePoolUrl(raw, input.tls === undefined ? {} : { tls: input.tls })
        if (!ep.ok) throw new AppFailure('INVALID_PARAMS', ep.error.message, { field: 'url', code: ep.error.code })
        ;({ url, hostPort, tls } = ep.value)
      }
      const user = input.user?.trim() ?? old.user
      if (user === '') throw new AppFailure('INVALID_PARAMS', 'Enter the pool account (user name).', { field: 'user' })
      const pool: StoredPool = {
        ...old,
        name: input.name?.trim() || old.name,
        url,
        hostPort,
        tls,
        user,
        maxMinersPerSession:
          input.maxMinersPerSession === undefined ? old.maxMinersPerSession : input.maxMinersPerSession,
      }
      const next: ProxyConfig = { ...cur, pools: cur.pools.map((p) => (p.id === pool.id ? pool : p)) }
      const ref = poolPasswordRef(pool.id)
      if (input.password === null) this.ctx.secrets.delete(ref)
      else if (input.password !== undefined) await this.ctx.secrets.put(ref, input.password)
      await this.commit(next)
      this.ctx.events.append(
        'info',
        'proxy',
        `Upstream pool "${pool.name}" changed (${pool.url}, account ${pool.user}).`,
      )
      return this.poolView(pool, next)
    })
  }

  removePool(id: number): Promise<{ removed: boolean }> {
    return this.serial(async () => {
      const cur = this.config.load()
      const pool = cur.pools.find((p) => p.id === id)
      if (!pool) throw new AppFailure('NOT_FOUND', `No upstream pool with id ${id}.`)
      const users = cur.routes.filter((r) => r.goals.some((g) => g.pools.includes(id)))
      if (users.length > 0) {
        throw new AppFailure(
          'CONFLICT',
          `Pool "${pool.name}" is used by route${users.length > 1 ? 's' : ''} ${users.map((r) => `"${r.name}"`).join(', ')}: take it out of ${users.length > 1 ? 'them' : 'it'} first.`,
          { routeIds: users.map((r) => r.id) },
        )
      }
      await this.commit({ ...cur, pools: cur.pools.filter((p) => p.id !== id) })
      this.ctx.secrets.delete(poolPasswordRef(id))
      this.ctx.events.append('info', 'proxy', `Upstream pool "${pool.name}" removed.`)
      return { removed: true }
    })
  }

  async testPool(input: {
    id?: number | undefined
    url?: string | undefined
    user?: string | undefined
    password?: string | undefined
    tls?: boolean | undefined
  }): Promise<ProxyPoolTestResult> {
    const c = this.config.load()
    let url = input.url
    let user = input.user
    let password = input.password
    let tls = input.tls
    let maxMiners = c.passThrough ? 1 : c.maxMinersPerSession
    if (input.id !== undefined) {
      const p = c.pools.find((x) => x.id === input.id)
      if (!p) throw new AppFailure('NOT_FOUND', `No upstream pool with id ${input.id}.`)
      url ??= p.url
      user ??= p.user
      if (input.url === undefined && tls === undefined) tls = p.tls
      password ??= await this.readPassword(p)
      if (!c.passThrough && p.maxMinersPerSession !== null) maxMiners = p.maxMinersPerSession
    }
    if (url === undefined || user === undefined) {
      throw new AppFailure('INVALID_PARAMS', 'Give a stored pool id, or a url and a user to test.')
    }
    const r = await testPool({
      url,
      user,
      ...(password !== undefined ? { password } : {}),
      ...(tls !== undefined ? { tls } : {}),
      logger: this.log.child('pool-test'),
      maxMinersPerSession: maxMiners,
      ...(this.o.poolTest?.timeoutMs !== undefined ? { timeoutMs: this.o.poolTest.timeoutMs } : {}),
      ...(this.o.poolTest?.jobWaitMs !== undefined ? { jobWaitMs: this.o.poolTest.jobWaitMs } : {}),
      ...(this.o.proxy?.upstream?.versionRollingMask !== undefined
        ? { versionRollingMask: this.o.proxy.upstream.versionRollingMask }
        : {}),
    })
    return {
      ok: r.ok,
      outcome: r.outcome,
      message: r.message,
      hostPort: r.hostPort ?? null,
      tls: r.tls ?? null,
      authorizedMs: r.timingsMs.authorized ?? null,
      firstJobMs: r.timingsMs.firstJob ?? null,
      extranonce1Hex: r.extranonce1Hex ?? null,
      extranonce2Size: r.extranonce2Size ?? null,
      difficulty: r.difficulty ?? null,
      versionMask: r.versionMask === undefined ? null : r.versionMask.toString(16).padStart(8, '0'),
      split: r.split && 'prefixBytes' in r.split ? r.split : null,
    }
  }

  // -------------------------------------------------------------------------------------------
  // Routes and rules

  routes(): { routes: ProxyRoute[]; rules: RuleInput[]; defaultRouteId: number | null } {
    const c = this.config.load()
    return {
      routes: c.routes.map((r) => routeView(r, c)),
      rules: c.rules.map((r) => ({ ...r })),
      defaultRouteId: c.defaultRouteId,
    }
  }

  private checkGoals(
    c: ProxyConfig,
    goals: Array<{ weight?: number | undefined; pools: number[] }>,
  ): StoredRoute['goals'] {
    return goals.map((g) => {
      for (const id of g.pools)
        if (!c.pools.some((p) => p.id === id)) throw new AppFailure('INVALID_PARAMS', `No upstream pool with id ${id}.`)
      if (new Set(g.pools).size !== g.pools.length)
        throw new AppFailure('INVALID_PARAMS', 'A pool is listed twice in the same failover list.')
      return { weight: g.weight ?? 1, pools: [...g.pools] }
    })
  }

  private checkTemplate(t: string): string {
    const r = checkWorkerTemplate(t)
    if (!r.ok) throw new AppFailure('INVALID_PARAMS', r.message, { field: 'workerTemplate' })
    return t
  }

  addRoute(input: {
    name: string
    goals: Array<{ weight?: number | undefined; pools: number[] }>
    workerTemplate?: string | undefined
  }): Promise<ProxyRoute> {
    return this.serial(async () => {
      const cur = this.config.load()
      const route: StoredRoute = {
        id: cur.nextRouteId,
        name: input.name.trim() || `Route ${cur.nextRouteId}`,
        goals: this.checkGoals(cur, input.goals),
        workerTemplate: this.checkTemplate(input.workerTemplate ?? DEFAULT_WORKER_TEMPLATE),
      }
      const next: ProxyConfig = {
        ...cur,
        routes: [...cur.routes, route],
        nextRouteId: route.id + 1,
        defaultRouteId: cur.defaultRouteId ?? route.id,
      }
      await this.commit(next)
      this.ctx.events.append('info', 'proxy', `Route "${route.name}" added: ${this.describeGoals(route, next)}.`)
      return routeView(route, next)
    })
  }

  updateRoute(input: {
    id: number
    name?: string | undefined
    goals?: Array<{ weight?: number | undefined; pools: number[] }> | undefined
    workerTemplate?: string | undefined
  }): Promise<ProxyRoute> {
    return this.serial(async () => {
      const cur = this.config.load()
      const old = cur.routes.find((r) => r.id === input.id)
      if (!old) throw new AppFailure('NOT_FOUND', `No route with id ${input.id}.`)
      const route: StoredRoute = {
        ...old,
        name: input.name?.trim() || old.name,
        goals: input.goals ? this.checkGoals(cur, input.goals) : old.goals,
        workerTemplate:
          input.workerTemplate !== undefined ? this.checkTemplate(input.workerTemplate) : old.workerTemplate,
      }
      const next: ProxyConfig = { ...cur, routes: cur.routes.map((r) => (r.id === route.id ? route : r)) }
      await this.commit(next)
      this.ctx.events.append('info', 'proxy', `Route "${route.name}" changed: ${this.describeGoals(route, next)}.`)
      return routeView(route, next)
    })
  }

  removeRoute(id: number): Promise<{ removed: boolean }> {
    return this.serial(async () => {
      const cur = this.config.load()
      const route = cur.routes.find((r) => r.id === id)
      if (!route) throw new AppFailure('NOT_FOUND', `No route with id ${id}.`)
      if (cur.defaultRouteId === id)
        throw new AppFailure(
          'CONFLICT',
          `Route "${route.name}" is the default route: make another route the default first.`,
        )
      const rules = cur.rules.filter((r) => r.routeId === id).length
      if (rules > 0)
        throw new AppFailure(
          'CONFLICT',
          `Route "${route.name}" is named by ${rules} device rule${rules > 1 ? 's' : ''}: change them first.`,
        )
      await this.commit({ ...cur, routes: cur.routes.filter((r) => r.id !== id) })
      this.ctx.events.append('info', 'proxy', `Route "${route.name}" removed.`)
      return { removed: true }
    })
  }

  setDefaultRoute(id: number): Promise<ReturnType<ProxyService['routes']>> {
    return this.serial(async () => {
      const cur = this.config.load()
      const route = cur.routes.find((r) => r.id === id)
      if (!route) throw new AppFailure('NOT_FOUND', `No route with id ${id}.`)
      await this.commit({ ...cur, defaultRouteId: id })
      this.ctx.events.append('info', 'proxy', `Route "${route.name}" is now the default route.`)
      return this.routes()
    })
  }

  setRules(rules: RuleInput[]): Promise<ReturnType<ProxyService['routes']>> {
    return this.serial(async () => {
      const cur = this.config.load()
      const stored: StoredRule[] = rules.map((r, i) => {
        if (!cur.routes.some((x) => x.id === r.routeId))
          throw new AppFailure('INVALID_PARAMS', `Rule ${i + 1} names route ${r.routeId}, which does not exist.`)
        if (r.worker === undefined && r.ip === undefined && r.deviceId === undefined)
          throw new AppFailure('INVALID_PARAMS', `Rule ${i + 1} needs a worker name, an IP address or a device.`)
        const devices = devicesService()
        if (r.deviceId !== undefined && devices && !devices.repo.get(r.deviceId))
          throw new AppFailure('INVALID_PARAMS', `Rule ${i + 1} names device ${r.deviceId}, which is not in the Fleet.`)
        return {
          routeId: r.routeId,
          ...(r.worker !== undefined ? { worker: r.worker } : {}),
          ...(r.ip !== undefined ? { ip: r.ip } : {}),
          ...(r.deviceId !== undefined ? { deviceId: r.deviceId } : {}),
        }
      })
      await this.commit({ ...cur, rules: stored })
      this.ctx.events.append('info', 'proxy', `Device rules saved (${stored.length}).`)
      return this.routes()
    })
  }

  private describeGoals(r: StoredRoute, c: ProxyConfig): string {
    const name = (id: number) => c.pools.find((p) => p.id === id)?.name ?? String(id)
    const total = r.goals.reduce((a, g) => a + g.weight, 0)
    return r.goals
      .map((g) => {
        const list = g.pools.map(name).join(' → ')
        return r.goals.length > 1 ? `${Math.round((100 * g.weight) / total)} % on ${list}` : list
      })
      .join(', ')
  }

  // -------------------------------------------------------------------------------------------
  // Start / stop

  /** Starts with the stored settings when the owner had left the proxy running. Never throws. */
  async autoStart(): Promise<void> {
    const c = this.config.load()
    if (!c.enabled || !isConfigured(c)) return
    try {
      await this.start()
    } catch (e) {
      const message = e instanceof AppFailure ? e.message : String(e)
      this.ctx.events.append('warn', 'proxy', `The proxy could not start: ${message}`)
    }
  }

  start(): Promise<ProxyStatus> {
    return this.serial(async () => {
      if (this.closed) throw new AppFailure('UNAVAILABLE', 'The core is shutting down.')
      if (this.running) return this.status()
      const cfg = this.config.load()
      if (!isConfigured(cfg)) {
        throw new AppFailure(
          'INVALID_PARAMS',
          'The proxy is not configured yet: add an upstream pool first (proxyPools.add); it becomes the default route.',
        )
      }
      const routing = await this.routing(cfg)
      const extra = this.o.proxy ?? {}
      let proxy: StratumProxy
      try {
        proxy = new StratumProxy({
          ...routing,
          ...extra,
          logger: this.log,
          host: cfg.host,
          port: cfg.port,
          failover: {
            noJobTimeoutMs: cfg.failover.noJobTimeoutS * 1000,
            rejectStreak: cfg.failover.rejectStreak,
            rejectCooldownMs: cfg.failover.rejectCooldownS * 1000,
            returnToPrimaryAfterMs: cfg.failover.returnToPrimaryAfterS * 1000,
          },
        })
      } catch (e) {
        throw new AppFailure('INVALID_PARAMS', (e as Error).message)
      }
      const run: Running = {
        proxy,
        host: cfg.host,
        port: 0,
        startedAtMs: Date.now(),
        removePort: () => {},
        records: new Map(),
      }
      this.wire(run)
      try {
        run.port = (await proxy.listen()).port
      } catch (e) {
        await proxy.close({ graceMs: 0 })
        throw proxyListenFailure(e, cfg.host, cfg.port)
      }
      this.running = run
      run.removePort = this.ctx.addPort({ name: 'proxy', protocol: 'stratum', host: cfg.host, port: run.port })
      if (!cfg.enabled) this.config.save({ ...cfg, enabled: true })
      const def = cfg.routes.find((r) => r.id === cfg.defaultRouteId)
      this.ctx.events.append(
        'info',
        'proxy',
        `Proxy started: miners connect to stratum+tcp on ${cfg.host}:${run.port}; default route "${def?.name ?? '?'}" (${def ? this.describeGoals(def, cfg) : ''}).`,
      )
      this.changed()
      return this.status()
    })
  }

  stop(): Promise<ProxyStatus> {
    return this.serial(async () => {
      if (this.running) {
        const c = this.config.load()
        this.config.save({ ...c, enabled: false })
        await this.halt('stopped by the owner')
        this.ctx.events.append('info', 'proxy', 'Proxy stopped; miners were asked to reconnect.')
      }
      return this.status()
    })
  }

  /** The module stops (app shutdown): the proxy stops but stays enabled for the next start. */
  close(): Promise<void> {
    return this.serial(async () => {
      this.closed = true
      await this.halt('the app is stopping')
      for (const t of this.timers) clearInterval(t)
      this.flush()
      this.writer.close()
    })
  }

  private async halt(why: string): Promise<void> {
    const run = this.running
    if (!run) return
    this.flush()
    this.running = undefined
    await run.proxy.close({ graceMs: this.o.closeGraceMs ?? 2000 })
    this.flushSwitches()
    run.removePort()
    this.log.info('proxy stopped', { why })
    this.changed()
  }

  private wire(run: Running): void {
    const p = run.proxy
    p.on('switch', (e) => this.gatherSwitch(e))
    p.on('pool', (e) => this.onPoolHealth(e))
    p.on('share', () => {
      this.dirty = true
    })
    p.on('authorize', (e) => this.onAuthorize(run, e))
    p.on('firstShare', (e) => {
      const m = noteShareAccepted({
        remoteIp: e.remoteAddress,
        worker: e.worker,
        difficulty: e.difficulty,
        tsMs: e.tsMs,
      })
      if (m?.matched) run.records.set(e.deviceId, m.deviceId)
    })
    p.on('device', (e) => this.onDevice(run, e))
  }

  private onAuthorize(run: Running, e: AuthorizeEvent): void {
    const m = noteMinerConnected({ remoteIp: e.remoteAddress, worker: e.worker, userAgent: e.userAgent })
    if (m?.matched) run.records.set(e.deviceId, m.deviceId)
    this.changed()
  }

  private onDevice(run: Running, e: DeviceEvent): void {
    if (e.kind === 'disconnected') {
      if (e.final) this.noteDevice(e.final, e.tsMs, true)
      run.records.delete(e.deviceId)
    }
    this.changed()
  }

  private poolName(id: string | undefined): string {
    if (id === undefined) return '?'
    return this.config.load().pools.find((p) => String(p.id) === id)?.name ?? `pool ${id}`
  }

  private onPoolHealth(e: PoolHealthEvent): void {
    const name = this.poolName(e.poolId)
    if (e.state === 'down') {
      this.ctx.events.append('warn', 'proxy', `Pool "${name}" is down: ${e.message}.`, {
        poolId: Number(e.poolId),
        reason: e.reason,
      })
    } else if (e.state === 'up') {
      this.ctx.events.append('info', 'proxy', `Pool "${name}" is up and sending work.`, { poolId: Number(e.poolId) })
    }
    this.changed()
  }

  /**
   * A pool failure moves every device on it in one synchronous pass: the per-device switch events
   * are gathered and turned into one frame and one event per (from, to, reason, method).
   */
  private gatherSwitch(e: SwitchEvent): void {
    const key = `${e.fromPoolId ?? ''}\u0000${e.toPoolId}\u0000${e.reason}\u0000${e.method}`
    const hit = this.pendingSwitches.get(key)
    if (hit) {
      hit.count++
      if (hit.deviceIds.length < MAX_LISTED) {
        hit.deviceIds.push(e.deviceId)
        hit.workers.push(e.worker)
      }
    } else {
      this.pendingSwitches.set(key, { first: e, deviceIds: [e.deviceId], workers: [e.worker], count: 1 })
    }
    this.switchFlush ??= setImmediate(() => this.flushSwitches())
  }

  private flushSwitches(): void {
    if (this.switchFlush) clearImmediate(this.switchFlush)
    this.switchFlush = undefined
    const groups = [...this.pendingSwitches.values()]
    this.pendingSwitches.clear()
    const ring = this.o.switchRing ?? 1000
    for (const g of groups) {
      const e = g.first
      const frame: ProxySwitchFrame = {
        seq: ++this.switchSeq,
        tsMs: e.tsMs,
        fromPoolId: e.fromPoolId === undefined ? null : Number(e.fromPoolId),
        toPoolId: Number(e.toPoolId),
        reason: e.reason,
        detail: this.detailWords(e),
        method: e.method,
        devices: g.count,
        deviceIds: g.deviceIds,
        workers: g.workers,
      }
      this.switches.push(frame)
      if (this.switches.length > ring) this.switches.splice(0, this.switches.length - ring)
      const from = this.poolName(e.fromPoolId)
      const to = this.poolName(e.toPoolId)
      const n = `${g.count} device${g.count === 1 ? '' : 's'}`
      const how =
        e.method === 'reconnect'
          ? ' (asked to reconnect)'
          : e.method === 'set_extranonce'
            ? ' without reconnecting'
            : ''
      const message =
        e.fromPoolId === e.toPoolId
          ? `Pool "${to}": ${REASON_WORDS[e.reason]}; ${n} re-pointed${how}.`
          : `${capitalise(REASON_WORDS[e.reason])}: ${n} moved from "${from}" to "${to}"${how}${frame.detail ? ` — ${frame.detail}` : ''}.`
      this.ctx.events.append(e.reason === 'failover' ? 'warn' : 'info', 'proxy', message, {
        fromPoolId: frame.fromPoolId,
        toPoolId: frame.toPoolId,
        reason: e.reason,
        devices: g.count,
      })
      for (const cb of this.switchListeners) cb(frame)
    }
    if (groups.length > 0) this.changed()
  }

  /** The proxy names pools by id in its detail text; the owner knows them by name. */
  private detailWords(e: SwitchEvent): string {
    for (const id of [e.fromPoolId, e.toPoolId]) {
      if (id === undefined) continue
      if (e.detail.startsWith(`${id}: `)) return `${this.poolName(id)}: ${e.detail.slice(id.length + 2)}`
      if (e.detail.startsWith(`${id} `)) return `${this.poolName(id)} ${e.detail.slice(id.length + 1)}`
    }
    return e.detail
  }

  replaySwitches(sinceSeq?: number): ProxySwitchFrame[] | 'gone' {
    if (sinceSeq === undefined) return [...this.switches]
    if (sinceSeq >= this.switchSeq) return []
    const oldest = this.switches[0]?.seq ?? this.switchSeq + 1
    if (sinceSeq < oldest - 1) return 'gone'
    return this.switches.filter((f) => f.seq > sinceSeq)
  }

  private changed(): void {
    this.dirty = true
  }

  // -------------------------------------------------------------------------------------------
  // Accounting

  private noteDevice(d: DeviceStats, nowMs: number, final = false): void {
    this.minutes.note(
      'device',
      String(d.id),
      d.worker || `ip:${d.remoteAddress}`,
      {
        accepted: d.local.accepted,
        rejected: d.local.rejected,
        stale: d.local.stale,
        diffAccepted: d.local.diffAccepted,
        upstreamAccepted: d.upstream.accepted,
        upstreamRejected: d.upstream.rejected,
      },
      nowMs,
      final,
    )
  }

  private notePool(p: PoolStats, nowMs: number): void {
    const k = p.counters
    this.minutes.note(
      'pool',
      p.id,
      p.id,
      {
        accepted: k.accepted,
        rejected: k.rejected,
        stale: k.stale,
        diffAccepted: k.diffAccepted,
        upstreamAccepted: k.accepted,
        upstreamRejected: k.rejected,
      },
      nowMs,
    )
  }

  /** Writes what the counters gathered since the last flush (one transaction). */
  flush(): void {
    const run = this.running
    const now = Date.now()
    if (run) {
      const live = new Set<string>()
      for (const d of run.proxy.devices()) {
        live.add(String(d.id))
        this.noteDevice(d, now)
      }
      this.minutes.retain('device', live)
      for (const p of run.proxy.poolStats()) this.notePool(p, now)
    }
    const rows = this.minutes.drain()
    if (rows.length === 0) return
    this.writer.push(rows)
    this.writer.flush()
  }

  history(q: ProxyHistoryQuery): ProxyMinute[] {
    // The minute in progress is still in memory: write it first.
    this.flush()
    return this.stats.history(q).map((r) => ({ ...r, hashrateHs: (r.diffAccepted * 2 ** 32) / 60 }))
  }

  // -------------------------------------------------------------------------------------------
  // Views

  status(): ProxyStatus {
    const now = Date.now()
    const c = this.config.load()
    const run = this.running
    const configured = isConfigured(c)
    const poolStats = new Map((run?.proxy.poolStats() ?? []).map((p) => [p.id, p]))
    const pools = c.pools.map((p) => {
      const s = poolStats.get(String(p.id))
      const k = s?.counters
      return {
        id: p.id,
        name: p.name,
        url: p.url,
        health: s?.health ?? ('unknown' as const),
        reason: s?.reason ?? null,
        message: s?.message ?? (run ? 'not connected yet' : 'the proxy is stopped'),
        sinceMs: s?.sinceMs ?? now,
        sessions: s?.sessions ?? 0,
        miners: s?.miners ?? 0,
        difficulty: s?.difficulty ?? null,
        lastJobTsMs: s?.lastJobTsMs ?? null,
        msSinceLastJob: s?.msSinceLastJob ?? null,
        forwarded: k?.forwarded ?? 0,
        accepted: k?.accepted ?? 0,
        rejected: k?.rejected ?? 0,
        rejectedByKind: countsOf(k?.rejectedByKind ?? {}),
        stale: k?.stale ?? 0,
        diffAccepted: k?.diffAccepted ?? 0,
        lost: k?.lost ?? 0,
        lastRttMs: k?.lastRttMs ?? null,
        avgRttMs: k?.avgRttMs ?? null,
        lastReject: k?.lastReject ?? null,
        hashrateHs: s?.hashrates ?? EMPTY_RATES,
      }
    })
    const placements = run?.proxy.placements() ?? []
    const health = (id: number) => poolStats.get(String(id))?.health
    const routes = c.routes.map((r) => {
      const mine = placements.filter((x) => x.routeId === String(r.id))
      return {
        id: r.id,
        name: r.name,
        isDefault: r.id === c.defaultRouteId,
        devices: mine.reduce((a, x) => a + x.devices, 0),
        goals: r.goals.map((g, i) => {
          // The pool most of the goal's devices are on; without devices, the one new ones would get.
          let active: number | null = null
          let most = 0
          for (const x of mine) {
            if (x.poolId === undefined || (x.goalIndex !== i && !(i === 0 && x.goalIndex < 0))) continue
            if (x.devices > most) {
              most = x.devices
              active = Number(x.poolId)
            }
          }
          if (active === null && run) active = g.pools.find((id) => health(id) === 'up') ?? null
          return { weight: g.weight, pools: [...g.pools], activePoolId: active }
        }),
      }
    })
    const listen = run ? { host: run.host, port: run.port } : null
    const message = run
      ? `Listening on ${run.host}:${run.port}: point miners at stratum+tcp://<this computer's LAN address>:${run.port}.`
      : configured
        ? 'The proxy is stopped.'
        : c.pools.length === 0
          ? 'The proxy is not configured: add an upstream pool.'
          : 'The proxy is not configured: choose a default route.'
    const shown = this.o.statusSwitches ?? 20
    return {
      tsMs: now,
      running: run !== undefined,
      configured,
      enabled: c.enabled,
      message,
      startedAtMs: run?.startedAtMs ?? null,
      listen,
      miners: run?.proxy.minerCounts() ?? { connections: 0, ready: 0 },
      hashrateHs: run?.proxy.hashrates() ?? EMPTY_RATES,
      pools,
      routes,
      sessions: (run?.proxy.upstreams() ?? []).map((s) => ({
        id: s.id,
        poolId: Number(s.poolId),
        endpoint: s.endpoint,
        state: s.state,
        extranonce1: s.extranonce1 ?? null,
        extranonce2Size: s.extranonce2Size ?? null,
        prefixBytes: s.prefixBytes ?? null,
        downstreamEn2Size: s.downstreamEn2Size ?? null,
        capacity: s.capacity ?? null,
        miners: s.miners,
        difficulty: s.difficulty ?? null,
        msSinceLastJob: s.msSinceLastJob ?? null,
        connections: s.connections,
      })),
      switches: this.switches.slice(-shown),
    }
  }

  devices(limit = Number.POSITIVE_INFINITY): ProxyDevice[] {
    const run = this.running
    if (!run) return []
    const out: ProxyDevice[] = []
    for (const d of run.proxy.devices()) {
      if (out.length >= limit) break
      out.push(deviceView(d, run.records.get(d.id) ?? null))
    }
    return out
  }
}

function deviceView(d: DeviceStats, record: string | null): ProxyDevice {
  const u = d.upstream
  return {
    id: d.id,
    deviceRecordId: record,
    remoteAddress: d.remoteAddress,
    userAgent: d.userAgent,
    worker: d.worker,
    upstreamWorker: d.upstreamWorker ?? null,
    upstreamWorkerProblem: d.upstreamWorkerProblem ?? null,
    routeId: d.routeId === '' ? null : Number(d.routeId),
    poolId: d.poolId === undefined ? null : Number(d.poolId),
    sessionId: d.sessionId ?? null,
    extranonce1: d.extranonce1 ?? null,
    extranonce2Size: d.extranonce2Size ?? null,
    extranonceSubscribed: d.extranonceSubscribed,
    versionMask: d.versionMask === undefined ? null : d.versionMask.toString(16).padStart(8, '0'),
    connectedAtMs: d.connectedAtMs,
    difficulty: d.difficulty,
    hashrateHs: d.hashrates,
    accepted: d.local.accepted,
    rejected: d.local.rejected,
    rejectedByReason: countsOf(d.local.rejectedByReason),
    stale: d.local.stale,
    diffAccepted: d.local.diffAccepted,
    bestShareDifficulty: d.local.bestShareDifficulty,
    lastShareTsMs: d.local.lastShareTsMs ?? null,
    upstream: {
      forwarded: u.forwarded,
      accepted: u.accepted,
      rejected: u.rejected,
      rejectedByKind: countsOf(u.rejectedByKind),
      stale: u.stale,
      diffAccepted: u.diffAccepted,
      lost: u.lost,
      lastRttMs: u.lastRttMs ?? null,
      avgRttMs: u.avgRttMs ?? null,
      lastReject: u.lastReject ?? null,
    },
  }
}

function routeView(r: StoredRoute, c: ProxyConfig): ProxyRoute {
  return {
    id: r.id,
    name: r.name,
    goals: r.goals.map((g) => ({ weight: g.weight, pools: [...g.pools] })),
    workerTemplate: r.workerTemplate,
    isDefault: r.id === c.defaultRouteId,
  }
}

function countsOf(o: Partial<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v
  return out
}

const capitalise = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1)

/** Turns a listen() failure into a sentence the owner can act on. */
export function proxyListenFailure(e: unknown, host: string, port: number): AppFailure {
  const err = e as NodeJS.ErrnoException
  switch (err.code) {
    case 'EADDRINUSE':
      return new AppFailure(
        'CONFLICT',
        `Port ${port} (the proxy port) is already in use on ${host}: the local pool, another program or a second Hashyard has it. Choose another port in the proxy settings (proxy.setSettings) or stop that program.`,
        { port },
      )
    case 'EACCES':
      return new AppFailure(
        'FORBIDDEN',
        `Port ${port} (the proxy port) needs administrator rights on this system: choose a port above 1023 (3334 is the usual proxy port).`,
        { port },
      )
    case 'EADDRNOTAVAIL':
      return new AppFailure(
        'INVALID_PARAMS',
        `${host} is not an address of this computer: use 0.0.0.0 to listen on every interface.`,
        { host },
      )
    default:
      return new AppFailure('UNAVAILABLE', `The proxy listener could not start: ${err.message ?? String(e)}`)
  }
}
