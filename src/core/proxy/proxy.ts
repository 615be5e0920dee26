/**
 * The stratum proxy: LAN miners in (its own port, beside the local pool's), a few upstream pool
 * sessions out, each carrying up to `maxMinersPerSession` miners by extranonce subdivision
 * (research/stratum.md §5.5). Routing puts each device on a route — weighted goals, each an
 * ordered failover list of pools — and failover moves live miners between pools without dropping
 * them (`mining.set_extranonce` + clean job where the miner subscribed to it, else
 * `client.reconnect` to this same host).
 *
 * Layout: protocol per miner in `downstream.ts`, per pool session in `upstream-client.ts`, the
 * extranonce arithmetic in `extranonce-split.ts`; this file owns sockets, placement, health and
 * accounting. Nothing a miner or a pool sends may throw out of a handler: each connection's
 * failures are contained to it.
 */
import net from 'node:net'
import type { Logger } from '../logger'
import { type Hashrates, RateWindows } from '../pool/accounting'
import { JobIdAllocator } from '../pool/job'
import { type DecodedItem, LineDecoder } from '../stratum/codec'
import { encodeError, encodeReconnect, type RejectReason, StratumErrorCode } from '../stratum/messages'
import { DEFAULT_STORM_POLICY, type StormPolicy } from '../stratum/session'
import { type VardiffConfig, vardiffConfig } from '../stratum/vardiff'
import { type Assignment, Downstream, type DownstreamHost, type ForwardShare } from './downstream'
import { Emitter } from './emitter'
import { PrefixAllocator, planSplit, type SplitPlan } from './extranonce-split'
import { type PoolEndpoint, parsePoolUrl } from './pool-url'
import { buildUpstreamWork, jobExtranonce1Size, type ProxyJob, proxyJob } from './proxy-job'
import { UpstreamClient, type UpstreamFailure, type UpstreamTiming } from './upstream-client'
import type { UpstreamRejectKind } from './upstream-messages'
import { checkWorkerTemplate, DEFAULT_WORKER_TEMPLATE, renderUpstreamWorker } from './upstream-worker'

// ---------------------------------------------------------------------------------------------
// Settings

export interface ProxyPoolConfig {
  id: string
  /** `host:port` or a pasted `stratum+tcp://` / `stratum+ssl://` URL (normalised by `parsePoolUrl`). */
  url: string
  /** The pool account: the sessions' own `mining.authorize` and `{account}` in worker templates. */
  user: string
  password?: string
  /** Force TLS for a bare host:port. */
  tls?: boolean
  /** Miners per upstream session (Braiins Farm Proxy `aggregation`). Default 50; 1 = one session per device. */
  maxMinersPerSession?: number
}

export interface ProxyRouteGoal {
  /** Share of the route's hashrate (relative; whole devices move). Default 1. */
  weight?: number
  /** Pool ids in failover order: the first healthy one is used. */
  pools: string[]
}

export interface ProxyRoute {
  id: string
  goals: ProxyRouteGoal[]
  /** `{account}.{worker}` (default), `{account}.{ip_x}`, `{account}`, … or `pass-through`. */
  workerTemplate?: string
}

/** Assigns devices to routes; the first matching rule wins, else the default route. */
export interface DeviceRule {
  routeId: string
  /** Matches the device's user name exactly, or its worker part (after the first dot). */
  worker?: string
  /** Matches the device's IP address. */
  ip?: string
}

export interface FailoverPolicy {
  /** A pool that sends no new job for this long is treated as down ("connected but silent"). Default 120 s. */
  noJobTimeoutMs: number
  /** This many upstream rejections in a row → the pool "rejects everything" and is left. Default 20. */
  rejectStreak: number
  /** How long a rejecting pool is avoided before it is tried again. Default 120 s. */
  rejectCooldownMs: number
  /** A recovered higher-priority pool must stay healthy this long before miners return to it. Default 60 s. */
  returnToPrimaryAfterMs: number
}

export const DEFAULT_FAILOVER: FailoverPolicy = {
  noJobTimeoutMs: 120_000,
  rejectStreak: 20,
  rejectCooldownMs: 120_000,
  returnToPrimaryAfterMs: 60_000,
}

export interface ProxyLimits {
  maxConnections: number
  maxLineBytes: number
  /** Malformed lines tolerated per miner connection. */
  maxBadLines: number
  /** A subscribe waits this long for an upstream before it is refused. Default 30 s. */
  subscribeWaitMs: number
  /** Resend the current job to a miner that got nothing for this long. Default 60 s. */
  keepaliveMs: number
  /** Close a miner that sent nothing for this long. Default 10 min. */
  idleTimeoutMs: number
  maxWriteBufferBytes: number
  /** After `client.reconnect`, close the miner's socket if it has not gone itself. Default 2 s. */
  reconnectGraceMs: number
  /** Recent jobs kept per upstream session (re-issues included). Default 64. */
  jobsPerSession: number
  tickMs: number
}

export const DEFAULT_PROXY_LIMITS: ProxyLimits = {
  maxConnections: 10_000,
  maxLineBytes: 16 * 1024,
  maxBadLines: 10,
  subscribeWaitMs: 30_000,
  keepaliveMs: 60_000,
  idleTimeoutMs: 600_000,
  maxWriteBufferBytes: 1024 * 1024,
  reconnectGraceMs: 2_000,
  jobsPerSession: 64,
  tickMs: 1_000,
}

export interface ProxyRouting {
  pools: ProxyPoolConfig[]
  routes: ProxyRoute[]
  rules?: DeviceRule[]
  defaultRouteId: string
}

export interface ProxyOptions extends ProxyRouting {
  logger: Logger
  /** Default '0.0.0.0'. */
  host?: string
  /** Default 3334 (the local pool usually has 3333); 0 = any free port. */
  port?: number
  vardiff?: Partial<VardiffConfig>
  /** Escalation for a miner that sends only invalid shares (the local pool's policy). */
  storm?: Partial<StormPolicy>
  failover?: Partial<FailoverPolicy>
  limits?: Partial<ProxyLimits>
  upstream?: {
    timing?: Partial<UpstreamTiming>
    userAgent?: string
    /** Mask requested upstream and offered to miners. Default 0x1fffe000. */
    versionRollingMask?: number
    lookup?: net.LookupFunction
    ca?: string | Buffer
    random?: () => number
  }
}

export type ConfigError = { ok: false; message: string }
export type ConfigResult = { ok: true } | ConfigError

/** Validates routing before it is applied; every problem named. */
export function checkRouting(r: ProxyRouting): ConfigResult {
  const poolIds = new Set<string>()
  for (const p of r.pools) {
    if (!p.id) return { ok: false, message: 'A pool has no id' }
    if (poolIds.has(p.id)) return { ok: false, message: `Pool id "${p.id}" is used twice` }
    poolIds.add(p.id)
    const u = parsePoolUrl(p.url, p.tls === undefined ? {} : { tls: p.tls })
    if (!u.ok) return { ok: false, message: `Pool "${p.id}": ${u.error.message}` }
    if (p.user.trim() === '') return { ok: false, message: `Pool "${p.id}" has no user/account` }
    const m = p.maxMinersPerSession
    if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > 65_536))
      return { ok: false, message: `Pool "${p.id}": miners per session must be 1..65536` }
  }
  const routeIds = new Set<string>()
  for (const route of r.routes) {
    if (routeIds.has(route.id)) return { ok: false, message: `Route id "${route.id}" is used twice` }
    routeIds.add(route.id)
    if (route.goals.length === 0) return { ok: false, message: `Route "${route.id}" has no pools` }
    for (const g of route.goals) {
      if (g.pools.length === 0) return { ok: false, message: `Route "${route.id}" has a goal without pools` }
      if (g.weight !== undefined && !(Number.isFinite(g.weight) && g.weight > 0))
        return { ok: false, message: `Route "${route.id}": weights must be positive numbers` }
      for (const id of g.pools)
        if (!poolIds.has(id)) return { ok: false, message: `Route "${route.id}" names unknown pool "${id}"` }
    }
    const t = checkWorkerTemplate(route.workerTemplate ?? DEFAULT_WORKER_TEMPLATE)
    if (!t.ok) return { ok: false, message: `Route "${route.id}": ${t.message}` }
  }
  if (!routeIds.has(r.defaultRouteId))
    return { ok: false, message: `Default route "${r.defaultRouteId}" does not exist` }
  for (const rule of r.rules ?? []) {
    if (!routeIds.has(rule.routeId))
      return { ok: false, message: `A device rule names unknown route "${rule.routeId}"` }
    if (rule.worker === undefined && rule.ip === undefined)
      return { ok: false, message: 'A device rule needs a worker or an IP' }
  }
  return { ok: true }
}

// ---------------------------------------------------------------------------------------------
// Events and stats

export type SwitchReason =
  | 'failover'
  | 'return-to-primary'
  | 'route-change'
  | 'rebalance'
  | 'upstream-extranonce'
  | 'upstream-reconnect'

export interface SwitchEvent {
  tsMs: number
  deviceId: number
  worker: string
  remoteAddress: string
  fromPoolId: string | undefined
  toPoolId: string
  reason: SwitchReason
  /** Plain words: why (e.g. the failed pool's reason). */
  detail: string
  /** How the miner was moved. */
  method: 'set_extranonce' | 'reconnect' | 'none'
}

export type PoolHealthState = 'unknown' | 'up' | 'down'
export type PoolDownReason = UpstreamFailure | 'silent' | 'rejecting' | 'unusable'

export interface PoolHealthEvent {
  tsMs: number
  poolId: string
  state: PoolHealthState
  reason?: PoolDownReason
  message: string
}

export interface UpstreamShareEvent {
  tsMs: number
  deviceId: number
  worker: string
  upstreamWorker: string
  poolId: string
  sessionId: number
  accepted: boolean
  kind?: UpstreamRejectKind
  message?: string
  /** Upstream difficulty the share is credited at. */
  difficulty: number
  shareDifficulty: number
  rttMs?: number
  lost: boolean
}

export interface DeviceEvent {
  tsMs: number
  deviceId: number
  remoteAddress: string
  worker: string
  kind: 'connected' | 'disconnected'
  reason?: string
  /** The device's last stats, on 'disconnected' (for accounting that must not lose its tail). */
  final?: DeviceStats
}

export interface AuthorizeEvent {
  tsMs: number
  deviceId: number
  remoteAddress: string
  /** The name just authorized (a connection may authorize several). */
  worker: string
  userAgent: string
}

/** A connection's first locally accepted share (confirms the device mines through the proxy). */
export interface FirstShareEvent {
  tsMs: number
  deviceId: number
  remoteAddress: string
  worker: string
  /** The difficulty the miner was assigned for that share. */
  difficulty: number
}

export interface ProxyEvents {
  switch: (e: SwitchEvent) => void
  pool: (e: PoolHealthEvent) => void
  share: (e: UpstreamShareEvent) => void
  device: (e: DeviceEvent) => void
  authorize: (e: AuthorizeEvent) => void
  firstShare: (e: FirstShareEvent) => void
}

/** How many live devices of a route's goal sit on each pool (undefined = waiting for one). */
export interface PlacementCount {
  routeId: string
  goalIndex: number
  poolId: string | undefined
  devices: number
}

export interface UpstreamCounters {
  forwarded: number
  accepted: number
  rejected: number
  rejectedByKind: Partial<Record<UpstreamRejectKind, number>>
  stale: number
  /** Σ upstream difficulty of accepted shares. */
  diffAccepted: number
  /** Shares whose answer never came (connection lost). */
  lost: number
  lastRttMs: number | undefined
  avgRttMs: number | undefined
  lastReject: { tsMs: number; kind: UpstreamRejectKind; message: string } | undefined
}

export interface DeviceStats {
  id: number
  remoteAddress: string
  userAgent: string
  worker: string
  workers: string[]
  upstreamWorker: string | undefined
  /** Why the templated name could not be used (the account name is used instead). */
  upstreamWorkerProblem: string | undefined
  routeId: string
  poolId: string | undefined
  sessionId: number | undefined
  extranonce1: string | undefined
  extranonce2Size: number | undefined
  extranonceSubscribed: boolean
  versionMask: number | undefined
  connectedAtMs: number
  difficulty: number
  /** The vardiff's own estimate (decayed share sum). */
  hashrateHs: number
  /** From locally accepted difficulty over 1 m / 10 m / 1 h (Σ d · 2³² / s). */
  hashrates: Hashrates
  /** Local validation at the device's difficulty. */
  local: {
    accepted: number
    rejected: number
    rejectedByReason: Partial<Record<RejectReason, number>>
    stale: number
    diffAccepted: number
    bestShareDifficulty: number
    lastShareTsMs: number | undefined
  }
  upstream: UpstreamCounters
}

export interface UpstreamSessionStats {
  id: number
  poolId: string
  endpoint: string
  state: string
  extranonce1: string | undefined
  extranonce2Size: number | undefined
  prefixBytes: number | undefined
  downstreamEn2Size: number | undefined
  capacity: number | undefined
  miners: number
  difficulty: number | undefined
  versionMask: number
  lastJobTsMs: number | undefined
  msSinceLastJob: number | undefined
  readySinceMs: number | undefined
  /** Connections that reached ready (1 + reconnects). */
  connections: number
  counters: UpstreamCounters
}

export interface PoolStats {
  id: string
  url: string
  health: PoolHealthState
  reason: PoolDownReason | undefined
  message: string
  sinceMs: number
  sessions: number
  miners: number
  difficulty: number | undefined
  lastJobTsMs: number | undefined
  msSinceLastJob: number | undefined
  counters: UpstreamCounters
  /** From the difficulty the pool accepted, over 1 m / 10 m / 1 h. */
  hashrates: Hashrates
}

// ---------------------------------------------------------------------------------------------
// Internals

interface Counters {
  forwarded: number
  accepted: number
  rejected: number
  rejectedByKind: Partial<Record<UpstreamRejectKind, number>>
  diffAccepted: number
  lost: number
  rttSumMs: number
  rttCount: number
  lastRttMs: number | undefined
  lastReject: UpstreamCounters['lastReject']
}

const newCounters = (): Counters => ({
  forwarded: 0,
  accepted: 0,
  rejected: 0,
  rejectedByKind: {},
  diffAccepted: 0,
  lost: 0,
  rttSumMs: 0,
  rttCount: 0,
  lastRttMs: undefined,
  lastReject: undefined,
})

function publicCounters(c: Counters): UpstreamCounters {
  return {
    forwarded: c.forwarded,
    accepted: c.accepted,
    rejected: c.rejected,
    rejectedByKind: { ...c.rejectedByKind },
    stale: c.rejectedByKind.stale ?? 0,
    diffAccepted: c.diffAccepted,
    lost: c.lost,
    lastRttMs: c.lastRttMs,
    avgRttMs: c.rttCount === 0 ? undefined : c.rttSumMs / c.rttCount,
    lastReject: c.lastReject,
  }
}

interface UpSession {
  id: number
  pool: PoolState
  client: UpstreamClient
  createdMs: number
  ready: boolean
  stopped: boolean
  plan: SplitPlan | undefined
  prefixes: PrefixAllocator | undefined
  extranonce1: Buffer | undefined
  versionMask: number
  difficulty: number
  generation: number
  current: ProxyJob | undefined
  jobIds: string[]
  /** The next job goes out clean (after an extranonce change). */
  forceClean: boolean
  lastJobMs: number | undefined
  miners: Set<Conn>
  counters: Counters
}

interface PoolState {
  cfg: ProxyPoolConfig
  endpoint: PoolEndpoint
  health: PoolHealthState
  reason: PoolDownReason | undefined
  message: string
  sinceMs: number
  upSinceMs: number | undefined
  /** When the pool first became needed or last recovered (for the silence check). */
  watchSinceMs: number | undefined
  lastJobMs: number | undefined
  rejectStreak: number
  cooldownUntilMs: number
  sessions: UpSession[]
  counters: Counters
  rates: RateWindows
  /** Miners waiting for room on this pool (sizes how many sessions to open at once). */
  waiting: Set<Conn>
}

interface Conn {
  id: number
  socket: net.Socket
  ip: string
  decoder: LineDecoder
  dev: Downstream
  closed: boolean
  badLines: number
  routeId: string
  goalIndex: number
  session: UpSession | undefined
  waitSinceMs: number | undefined
  upstreamWorker: string | undefined
  upstreamWorkerProblem: string | undefined
  counters: Counters
  rates: RateWindows
  firstShareSeen: boolean
}

export class StratumProxy extends Emitter<ProxyEvents> {
  private readonly opts: ProxyOptions
  private readonly log: Logger
  private readonly limits: ProxyLimits
  private readonly failover: FailoverPolicy
  private readonly vardiff: VardiffConfig
  private readonly storm: StormPolicy
  private readonly mask: number
  private totalRates = new RateWindows(Date.now())
  private routing: ProxyRouting
  private readonly pools = new Map<string, PoolState>()
  private readonly conns = new Map<number, Conn>()
  private readonly jobs = new Map<string, ProxyJob>()
  private readonly jobIds = new JobIdAllocator()
  /** Last worker name seen from an IP: routes a reconnecting cgminer (which authorizes only after its subscribe is answered) by name at once. */
  private readonly workerByIp = new Map<string, string>()
  private server: net.Server | undefined
  private timer: NodeJS.Timeout | undefined
  private nextConnId = 1
  private nextSessionId = 1
  private tickCount = 0
  private closing = false

  constructor(opts: ProxyOptions) {
    const log = opts.logger.child('proxy')
    super(log)
    this.log = log
    this.opts = opts
    this.limits = { ...DEFAULT_PROXY_LIMITS, ...opts.limits }
    this.failover = { ...DEFAULT_FAILOVER, ...opts.failover }
    this.vardiff = vardiffConfig(opts.vardiff)
    this.storm = { ...DEFAULT_STORM_POLICY, ...opts.storm }
    this.mask = (opts.upstream?.versionRollingMask ?? 0x1fffe000) >>> 0
    const check = checkRouting(opts)
    if (!check.ok) throw new RangeError(check.message)
    this.routing = {
      pools: opts.pools,
      routes: opts.routes,
      rules: opts.rules ?? [],
      defaultRouteId: opts.defaultRouteId,
    }
    for (const p of opts.pools) this.pools.set(p.id, this.newPoolState(p))
  }

  /** Starts listening and connecting upstream. Rejects on EADDRINUSE and the like. */
  async listen(): Promise<{ port: number }> {
    if (this.server) throw new Error('already listening')
    const host = this.opts.host ?? '0.0.0.0'
    this.server = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 45_000 }, (s) =>
      this.accept(s),
    )
    const port = await new Promise<number>((resolve, reject) => {
      const srv = this.server!
      srv.once('error', reject)
      // A deep accept queue: after a power cut a whole farm reconnects within a second, and a
      // full queue makes the kernel reset connections while the loop is busy (Node's default is 511).
      srv.listen({ port: this.opts.port ?? 3334, host, backlog: 4096 }, () => {
        srv.off('error', reject)
        resolve((srv.address() as net.AddressInfo).port)
      })
    })
    this.timer = setInterval(() => this.tick(), this.limits.tickMs)
    this.timer.unref()
    this.maintain()
    this.log.info('proxy listening', { host, port })
    return { port }
  }

  /** Stops listening, asks miners to reconnect later (`client.reconnect []`), closes upstream sessions. */
  async close(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.closing) return
    this.closing = true
    if (this.timer) clearInterval(this.timer)
    const closed = this.server ? new Promise<void>((r) => this.server!.close(() => r())) : Promise.resolve()
    const sockets = [...this.conns.values()].map((c) => {
      const done = new Promise<void>((r) => c.socket.once('close', () => r()))
      if (!c.closed) c.socket.write(encodeReconnect())
      c.closed = true
      c.socket.end()
      return done
    })
    for (const p of this.pools.values()) for (const s of [...p.sessions]) this.stopSession(s)
    let t: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(sockets), new Promise<void>((r) => (t = setTimeout(r, opts.graceMs ?? 2000)))])
    if (t) clearTimeout(t)
    for (const c of this.conns.values()) c.socket.destroy()
    await closed
    this.log.info('proxy stopped')
  }

  /**
   * Replaces pools, routes, rules or the default route. Live miners whose pool changes are moved
   * at once, without reconnecting where they support `set_extranonce` (reason 'route-change').
   */
  configure(partial: Partial<ProxyRouting>): ConfigResult {
    const next: ProxyRouting = { ...this.routing, ...partial }
    const check = checkRouting(next)
    if (!check.ok) return check
    this.routing = { ...next, rules: next.rules ?? [] }
    const seen = new Set<string>()
    for (const p of next.pools) {
      seen.add(p.id)
      const old = this.pools.get(p.id)
      const endpoint = parsePoolUrl(p.url, p.tls === undefined ? {} : { tls: p.tls })
      const same =
        old &&
        endpoint.ok &&
        old.endpoint.url === endpoint.value.url &&
        old.cfg.user === p.user &&
        (old.cfg.password ?? 'x') === (p.password ?? 'x') &&
        (old.cfg.maxMinersPerSession ?? 50) === (p.maxMinersPerSession ?? 50)
      if (old && same) {
        old.cfg = p
        continue
      }
      if (old) this.retirePool(old)
      this.pools.set(p.id, this.newPoolState(p))
    }
    for (const [id, p] of this.pools) {
      if (seen.has(id)) continue
      this.retirePool(p)
      this.pools.delete(id)
    }
    for (const c of this.conns.values()) {
      const route = this.routeIdFor(c)
      if (route !== c.routeId) {
        c.routeId = route
        c.goalIndex = -1
      }
    }
    this.assignGoals()
    this.maintain('route-change')
    // A template may have changed: recompute names upstream for miners that stayed.
    for (const c of this.conns.values()) if (c.session && !c.closed) this.updateUpstreamWorker(c, c.session)
    return { ok: true }
  }

  get routingSettings(): ProxyRouting {
    return this.routing
  }

  // ---------------------------------------------------------------------------------------------
  // Stats

  /** Miners connected, and how many of them are getting work. */
  minerCounts(): { connections: number; ready: number } {
    let ready = 0
    for (const c of this.conns.values()) if (!c.closed && c.dev.ready) ready++
    return { connections: this.conns.size, ready }
  }

  /** Live devices per route, goal and pool (cheap: no per-device objects). */
  placements(): PlacementCount[] {
    const counts = new Map<string, PlacementCount>()
    for (const c of this.conns.values()) {
      if (c.closed) continue
      const poolId = c.session?.pool.cfg.id
      const key = `${c.routeId}\u0000${c.goalIndex}\u0000${poolId ?? ''}`
      const hit = counts.get(key)
      if (hit) hit.devices++
      else counts.set(key, { routeId: c.routeId, goalIndex: c.goalIndex, poolId, devices: 1 })
    }
    return [...counts.values()]
  }

  /** Hashrate of every miner together, from locally accepted difficulty. */
  hashrates(): Hashrates {
    return this.totalRates.rates(Date.now())
  }

  devices(): DeviceStats[] {
    const now = Date.now()
    return [...this.conns.values()].map((c) => this.deviceStats(c, now))
  }

  device(id: number): DeviceStats | undefined {
    const c = this.conns.get(id)
    return c ? this.deviceStats(c, Date.now()) : undefined
  }

  upstreams(): UpstreamSessionStats[] {
    const now = Date.now()
    const out: UpstreamSessionStats[] = []
    for (const p of this.pools.values()) {
      for (const s of p.sessions) {
        out.push({
          id: s.id,
          poolId: p.cfg.id,
          endpoint: s.client.currentEndpoint,
          state: s.client.state,
          extranonce1: s.extranonce1?.toString('hex'),
          extranonce2Size: s.plan?.upstreamEn2Size,
          prefixBytes: s.plan?.prefixBytes,
          downstreamEn2Size: s.plan?.downstreamEn2Size,
          capacity: s.plan?.capacity,
          miners: s.miners.size,
          difficulty: s.ready ? s.difficulty : undefined,
          versionMask: s.versionMask,
          lastJobTsMs: s.lastJobMs,
          msSinceLastJob: s.lastJobMs === undefined ? undefined : now - s.lastJobMs,
          readySinceMs: s.client.readyAtMs,
          connections: s.client.sessions,
          counters: publicCounters(s.counters),
        })
      }
    }
    return out
  }

  poolStats(): PoolStats[] {
    const now = Date.now()
    return [...this.pools.values()].map((p) => {
      const ready = p.sessions.filter((s) => s.ready)
      return {
        id: p.cfg.id,
        url: p.endpoint.url,
        health: p.health,
        reason: p.reason,
        message: p.message,
        sinceMs: p.sinceMs,
        sessions: p.sessions.length,
        miners: p.sessions.reduce((n, s) => n + s.miners.size, 0),
        difficulty: ready[0]?.difficulty,
        lastJobTsMs: p.lastJobMs,
        msSinceLastJob: p.lastJobMs === undefined ? undefined : now - p.lastJobMs,
        counters: publicCounters(p.counters),
        hashrates: p.rates.rates(now),
      }
    })
  }

  private deviceStats(c: Conn, now: number): DeviceStats {
    const d = c.dev
    const a = d.assignment
    const k = d.counters
    return {
      id: c.id,
      remoteAddress: c.ip,
      userAgent: d.userAgent,
      worker: d.worker,
      workers: [...d.workers],
      upstreamWorker: c.upstreamWorker,
      upstreamWorkerProblem: c.upstreamWorkerProblem,
      routeId: c.routeId,
      poolId: c.session?.pool.cfg.id,
      sessionId: c.session?.id,
      extranonce1: a?.extranonce1.toString('hex'),
      extranonce2Size: a?.extranonce2Size,
      extranonceSubscribed: d.extranonceSubscribed,
      versionMask: d.versionMask,
      connectedAtMs: d.connectedAtMs,
      difficulty: d.vardiff.difficulty,
      hashrateHs: d.vardiff.hashrateHs(now),
      hashrates: c.rates.rates(now),
      local: {
        accepted: k.accepted,
        rejected: k.rejected,
        rejectedByReason: { ...k.rejectedByReason },
        stale: k.rejectedByReason.stale ?? 0,
        diffAccepted: k.diffAccepted,
        bestShareDifficulty: k.bestShareDifficulty,
        lastShareTsMs: k.lastShareTsMs,
      },
      upstream: publicCounters(c.counters),
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Pools and sessions

  private newPoolState(cfg: ProxyPoolConfig): PoolState {
    const ep = parsePoolUrl(cfg.url, cfg.tls === undefined ? {} : { tls: cfg.tls })
    if (!ep.ok) throw new RangeError(ep.error.message) // checkRouting ran first
    return {
      cfg,
      endpoint: ep.value,
      health: 'unknown',
      reason: undefined,
      message: 'not connected yet',
      sinceMs: Date.now(),
      upSinceMs: undefined,
      watchSinceMs: undefined,
      lastJobMs: undefined,
      rejectStreak: 0,
      cooldownUntilMs: 0,
      sessions: [],
      counters: newCounters(),
      rates: new RateWindows(Date.now()),
      waiting: new Set(),
    }
  }

  /** A pool removed or changed: its miners move elsewhere (or reconnect), its sessions close. */
  private retirePool(p: PoolState): void {
    for (const s of [...p.sessions]) {
      for (const c of [...s.miners]) this.unplace(c)
      this.stopSession(s)
    }
  }

  private openSession(p: PoolState): UpSession {
    const up = this.opts.upstream ?? {}
    const client = new UpstreamClient({
      endpoint: p.endpoint,
      user: p.cfg.user,
      password: p.cfg.password ?? 'x',
      logger: this.log,
      versionRollingMask: this.mask,
      ...(up.userAgent ? { userAgent: up.userAgent } : {}),
      ...(up.timing ? { timing: up.timing } : {}),
      ...(up.lookup ? { lookup: up.lookup } : {}),
      ...(up.ca ? { ca: up.ca } : {}),
      ...(up.random ? { random: up.random } : {}),
    })
    const s: UpSession = {
      id: this.nextSessionId++,
      pool: p,
      client,
      createdMs: Date.now(),
      ready: false,
      stopped: false,
      plan: undefined,
      prefixes: undefined,
      extranonce1: undefined,
      versionMask: 0,
      difficulty: 1,
      generation: 0,
      current: undefined,
      jobIds: [],
      forceClean: false,
      lastJobMs: undefined,
      miners: new Set(),
      counters: newCounters(),
    }
    if (p.sessions.length === 0) p.watchSinceMs = s.createdMs
    p.sessions.push(s)
    const guard =
      <T>(what: string, f: (arg: T) => void) =>
      (arg: T): void => {
        if (s.stopped) return
        try {
          f(arg)
        } catch (e) {
          this.log.error(`upstream ${what} handling failed`, {
            poolId: p.cfg.id,
            error: (e as Error).stack ?? String(e),
          })
        }
      }
    client.on(
      'ready',
      guard('ready', (r) => this.onSessionReady(s, r.extranonce1, r.extranonce2Size, r.versionMask, r.resumed)),
    )
    client.on(
      'difficulty',
      guard('difficulty', (d: number) => (s.difficulty = d)),
    )
    client.on(
      'job',
      guard('job', (n) => this.onJob(s, n)),
    )
    client.on(
      'extranonce',
      guard('extranonce', (e) => this.onSessionExtranonce(s, e.extranonce1, e.extranonce2Size, 'upstream-extranonce')),
    )
    client.on(
      'versionMask',
      guard('versionMask', (m: number) => {
        s.versionMask = m
        for (const c of s.miners) c.dev.updateMask(m)
      }),
    )
    client.on(
      'down',
      guard('down', (d) => this.onSessionDown(s, d.reason, d.message)),
    )
    client.start()
    this.log.info('upstream session opened', { poolId: p.cfg.id, sessionId: s.id, endpoint: p.endpoint.hostPort })
    return s
  }

  private stopSession(s: UpSession): void {
    if (s.stopped) return
    s.stopped = true
    s.client.stop()
    const list = s.pool.sessions
    const i = list.indexOf(s)
    if (i >= 0) list.splice(i, 1)
    for (const id of s.jobIds) this.jobs.delete(id)
    s.jobIds = []
    const p = s.pool
    if (p.sessions.length === 0) {
      p.watchSinceMs = undefined
      // Without a session we no longer know how the pool is; a failure verdict stays until retried.
      if (p.health === 'up') {
        p.health = 'unknown'
        p.upSinceMs = undefined
        p.message = 'not connected (not needed)'
        p.sinceMs = Date.now()
        this.emit('pool', { tsMs: p.sinceMs, poolId: p.cfg.id, state: 'unknown', message: p.message })
      }
    }
  }

  private onSessionReady(s: UpSession, en1: Buffer, en2Size: number, mask: number, resumed: boolean): void {
    s.versionMask = mask
    this.onSessionExtranonce(s, en1, en2Size, 'upstream-reconnect', resumed)
    if (s.stopped) return
    s.ready = true
    for (const c of s.miners) c.dev.updateMask(mask)
    this.maintain()
  }

  /**
   * New extranonce for a session (first ready, reconnect, or `set_extranonce`): re-plan the split,
   * keep every miner's prefix when the plan is unchanged, and tell the miners their new extranonce1.
   */
  private onSessionExtranonce(s: UpSession, en1: Buffer, en2Size: number, why: SwitchReason, resumed = false): void {
    const p = s.pool
    const plan = planSplit(en2Size, { maxMinersPerSession: p.cfg.maxMinersPerSession ?? 50 })
    if (!plan.ok || en1.length + plan.value.prefixBytes === 0) {
      const message = plan.ok ? 'the pool gave an empty extranonce1' : plan.message
      this.log.error(`pool ${p.cfg.id} cannot be proxied: ${message}`)
      this.markDown(p, 'unusable', message)
      for (const c of [...s.miners]) this.unplace(c)
      this.stopSession(s)
      this.maintain()
      return
    }
    const samePlan =
      s.plan !== undefined &&
      s.plan.prefixBytes === plan.value.prefixBytes &&
      s.plan.downstreamEn2Size === plan.value.downstreamEn2Size &&
      s.plan.capacity === plan.value.capacity
    const sameEn1 = s.extranonce1?.equals(en1)
    s.generation++
    s.current = undefined
    s.forceClean = true
    s.extranonce1 = en1
    if (samePlan && sameEn1) {
      // Session resumed: every miner keeps its extranonce1; new work follows.
      if (resumed) this.log.info('upstream session resumed', { poolId: p.cfg.id, sessionId: s.id })
      return
    }
    const old = [...s.miners]
    if (!samePlan) {
      s.plan = plan.value
      s.prefixes = new PrefixAllocator(plan.value)
    }
    for (const c of old) {
      const prev = c.dev.assignment
      let prefix = prev?.prefix
      if (!samePlan || prefix === undefined) {
        prefix = s.prefixes!.allocate()
        if (prefix === undefined) {
          // The pool shrank our space: this miner goes elsewhere.
          this.unplace(c)
          continue
        }
      }
      this.attach(c, s, prefix, why, `the pool gave a new extranonce1 ${en1.toString('hex')}`)
    }
  }

  private onSessionDown(s: UpSession, reason: UpstreamFailure, message: string): void {
    s.ready = false
    s.current = undefined
    s.generation++
    if (reason === 'local') return
    if (reason !== 'redirect') this.markDown(s.pool, reason, message)
    this.maintain()
  }

  private onJob(s: UpSession, n: Parameters<typeof buildUpstreamWork>[0]): void {
    if (!s.plan || !s.extranonce1) return
    const now = Date.now()
    if (n.clean) s.generation++
    const built = buildUpstreamWork(n, {
      upstreamExtranonce1: s.extranonce1,
      prefixBytes: s.plan.prefixBytes,
      downstreamEn2Size: s.plan.downstreamEn2Size,
      upstreamDifficulty: s.difficulty,
      generation: s.generation,
      nowMs: now,
    })
    if (!built.ok) {
      this.log.warn(`pool ${s.pool.cfg.id}: ${built.message}`)
      return
    }
    const job = this.register(s, proxyJob(this.jobIds.allocate(), built.value))
    const clean = n.clean || s.forceClean
    s.forceClean = false
    s.current = job
    s.lastJobMs = now
    const p = s.pool
    p.lastJobMs = now
    p.watchSinceMs = now
    for (const c of s.miners) if (!c.closed && c.dev.ready) this.guarded(c, () => c.dev.sendJob(job, clean, now))
    if (this.markUp(p)) this.maintain()
  }

  private register(s: UpSession, job: ProxyJob): ProxyJob {
    this.jobs.set(job.localId, job)
    s.jobIds.push(job.localId)
    while (s.jobIds.length > this.limits.jobsPerSession) {
      const old = s.jobIds.shift()
      if (old !== undefined) this.jobs.delete(old)
    }
    return job
  }

  // ---------------------------------------------------------------------------------------------
  // Health

  private markDown(p: PoolState, reason: PoolDownReason, message: string): void {
    const now = Date.now()
    if (reason === 'rejecting') p.cooldownUntilMs = now + this.failover.rejectCooldownMs
    if (p.health === 'down' && p.reason === reason) return
    p.health = 'down'
    p.reason = reason
    p.message = message
    p.sinceMs = now
    p.upSinceMs = undefined
    p.rejectStreak = 0
    this.log.warn(`pool ${p.cfg.id} is down: ${message}`, { poolId: p.cfg.id, reason })
    this.emit('pool', { tsMs: now, poolId: p.cfg.id, state: 'down', reason, message })
  }

  /** A ready session delivered work: the pool is usable (unless it is sitting out a reject cooldown). */
  private markUp(p: PoolState): boolean {
    const now = Date.now()
    if (p.health === 'up') return false
    if (p.reason === 'rejecting' && now < p.cooldownUntilMs) return false
    if (!p.sessions.some((s) => s.ready && s.current)) return false
    p.health = 'up'
    p.reason = undefined
    p.message = 'working'
    p.sinceMs = now
    p.upSinceMs = now
    this.log.info(`pool ${p.cfg.id} is up`, { poolId: p.cfg.id })
    this.emit('pool', { tsMs: now, poolId: p.cfg.id, state: 'up', message: 'working' })
    return true
  }

  private checkHealth(now: number, needed: Set<PoolState>): void {
    for (const p of this.pools.values()) {
      if (p.health === 'down' && p.reason === 'rejecting' && now >= p.cooldownUntilMs) this.markUp(p)
      if (!needed.has(p) || p.sessions.length === 0) continue
      if (p.health === 'down' && p.reason !== 'silent') continue
      const since = Math.max(p.lastJobMs ?? 0, p.watchSinceMs ?? 0)
      if (since > 0 && now - since > this.failover.noJobTimeoutMs && p.health !== 'down') {
        this.markDown(p, 'silent', `no new job for ${((now - since) / 1000).toFixed(1)} s`)
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routing and placement

  private routeIdFor(c: Conn): string {
    const names = c.dev.workers.length > 0 ? c.dev.workers : [this.workerByIp.get(c.ip) ?? '']
    for (const rule of this.routing.rules ?? []) {
      if (rule.ip !== undefined && rule.ip !== c.ip) continue
      if (
        rule.worker !== undefined &&
        !names.some((n) => n !== '' && (n === rule.worker || n.slice(n.indexOf('.') + 1) === rule.worker))
      )
        continue
      return rule.routeId
    }
    return this.routing.defaultRouteId
  }

  private route(id: string): ProxyRoute {
    return (
      this.routing.routes.find((r) => r.id === id) ??
      this.routing.routes.find((r) => r.id === this.routing.defaultRouteId)!
    )
  }

  /**
   * Weighted goals move whole devices: each unassigned device joins the goal furthest below its
   * share of the route's estimated hashrate (a device without an estimate yet counts as the route's
   * average). Existing assignments stay, so a new miner never reshuffles the others.
   */
  private assignGoals(): void {
    const byRoute = new Map<string, Conn[]>()
    for (const c of this.conns.values()) {
      if (c.closed) continue
      const list = byRoute.get(c.routeId) ?? []
      list.push(c)
      byRoute.set(c.routeId, list)
    }
    const now = Date.now()
    for (const [routeId, conns] of byRoute) {
      const route = this.route(routeId)
      const n = route.goals.length
      if (n === 1) {
        for (const c of conns) c.goalIndex = 0
        continue
      }
      const rates = conns.map((c) => c.dev.vardiff.hashrateHs(now))
      const known = rates.filter((r) => r > 0)
      const avg = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1
      const weightOf = (i: number): number => (rates[i]! > 0 ? rates[i]! : avg)
      const load = new Array<number>(n).fill(0)
      const totalW = route.goals.reduce((a, g) => a + (g.weight ?? 1), 0)
      const todo: number[] = []
      conns.forEach((c, i) => {
        if (c.goalIndex >= 0 && c.goalIndex < n) load[c.goalIndex]! += weightOf(i)
        else todo.push(i)
      })
      todo.sort((a, b) => weightOf(b) - weightOf(a))
      for (const i of todo) {
        const total = load.reduce((a, b) => a + b, 0) + weightOf(i)
        let best = 0
        let bestDeficit = Number.NEGATIVE_INFINITY
        for (let g = 0; g < n; g++) {
          const deficit = ((route.goals[g]!.weight ?? 1) / totalW) * total - load[g]!
          if (deficit > bestDeficit) {
            bestDeficit = deficit
            best = g
          }
        }
        conns[i]!.goalIndex = best
        load[best]! += weightOf(i)
      }
    }
  }

  /** The pool a device should be on now, or undefined when none of its pools is up. */
  private targetPool(c: Conn, now: number): PoolState | undefined {
    const goal = this.route(c.routeId).goals[Math.max(0, c.goalIndex)]
    if (!goal) return undefined
    const current = c.session?.pool
    const currentUp = current !== undefined && current.health === 'up' && goal.pools.includes(current.cfg.id)
    for (const id of goal.pools) {
      const p = this.pools.get(id)
      if (p?.health !== 'up') continue
      if (p === current) return p
      // A recovered higher pool must prove itself before miners leave a working one.
      if (currentUp && (p.upSinceMs ?? now) + this.failover.returnToPrimaryAfterMs > now) continue
      return p
    }
    return undefined
  }

  /**
   * Keeps the upstream side in line with the routes: sessions to each goal's pools in order until
   * the first healthy one (lower pools only once every higher one has failed), every device on its
   * target pool, idle sessions closed.
   */
  private maintain(hint?: SwitchReason): void {
    if (this.closing) return
    const now = Date.now()
    const needed = new Set<PoolState>()
    for (const route of this.routing.routes) {
      for (const goal of route.goals) {
        for (const id of goal.pools) {
          const p = this.pools.get(id)
          if (!p) continue
          needed.add(p)
          if (p.health === 'up' || p.health === 'unknown') break
        }
      }
    }
    for (const p of needed) {
      if (p.sessions.length === 0 && !(p.reason === 'unusable' && p.health === 'down')) this.openSession(p)
    }
    this.checkHealth(now, needed)
    this.assignGoals()
    for (const c of [...this.conns.values()]) {
      if (c.closed) continue
      const target = this.targetPool(c, now)
      if (!target) continue
      if (c.session?.pool === target) continue
      if (c.session === undefined && !c.dev.wantsPlacement) continue
      this.place(c, target, hint)
    }
    // Idle sessions: a needed pool keeps one (the standby that detects recovery, or where the next
    // miner lands), plus any still connecting while miners wait for room; the rest close.
    const waiting = [...this.conns.values()].some((c) => !c.closed && c.session === undefined && c.dev.wantsPlacement)
    for (const p of this.pools.values()) {
      const idle = p.sessions.filter((s) => s.miners.size === 0)
      const keep = needed.has(p) && idle.length === p.sessions.length ? idle[0] : undefined
      for (const s of idle) {
        if (s === keep || (needed.has(p) && waiting && !s.ready)) continue
        this.stopSession(s)
      }
    }
  }

  /** Puts a device on a session of `p` with room (opening one when all are full). */
  private place(c: Conn, p: PoolState, hint?: SwitchReason): void {
    const from = c.session
    const fromPool = from?.pool
    let reason: SwitchReason = hint ?? 'failover'
    let detail = ''
    if (fromPool) {
      if (hint === undefined) {
        if (fromPool.health !== 'up') detail = `${fromPool.cfg.id}: ${fromPool.message}`
        else {
          reason = this.route(c.routeId).goals.some((g) => g.pools.includes(fromPool.cfg.id))
            ? 'return-to-primary'
            : 'route-change'
          detail =
            reason === 'return-to-primary'
              ? `${p.cfg.id} has been healthy again`
              : 'the device was assigned another route'
        }
      } else detail = reason === 'route-change' ? 'the device was assigned another route' : ''
    }
    // A miner that cannot take a new extranonce is asked to reconnect; it will land on `p`.
    if (c.dev.subscribed && from !== undefined && !c.dev.extranonceSubscribed) {
      this.emitSwitch(c, fromPool, p, reason, detail, 'reconnect')
      this.unplace(c)
      this.askReconnect(c)
      return
    }
    const s = p.sessions.find((x) => x.ready && x.prefixes !== undefined && !x.prefixes.full)
    if (!s) {
      // Open as many sessions as the waiting miners need at once: one at a time, a burst of
      // thousands of miners (a farm after a power cut) would wait a handshake per 50 of them.
      p.waiting.add(c)
      let connecting = 0
      let capacity = p.cfg.maxMinersPerSession ?? 50
      for (const x of p.sessions) {
        if (!x.ready) connecting++
        else if (x.plan) capacity = x.plan.capacity
      }
      if (connecting < Math.ceil(p.waiting.size / Math.max(1, capacity))) this.openSession(p)
      return
    }
    const prefix = s.prefixes!.allocate()!
    if (from) this.release(c)
    const how = this.attach(c, s, prefix, reason, detail)
    if (fromPool) this.emitSwitch(c, fromPool, p, reason, detail, how === 'set_extranonce' ? 'set_extranonce' : 'none')
  }

  /** Binds a device to a session with a prefix and tells the miner (subscribe reply or set_extranonce). */
  private attach(
    c: Conn,
    s: UpSession,
    prefix: Buffer,
    why: SwitchReason,
    detail: string,
  ): 'subscribe' | 'set_extranonce' | 'none' | 'reconnect' {
    if (c.session && c.session !== s) this.release(c)
    const en1Up = s.extranonce1!
    const en1 = Buffer.concat([en1Up, prefix])
    const a: Assignment = {
      sessionId: s.id,
      extranonce1: en1,
      jobExtranonce1: en1.subarray(en1.length - jobExtranonce1Size(en1.length)),
      extranonce2Size: s.plan!.downstreamEn2Size,
      prefix,
      upstreamMask: s.versionMask,
    }
    const before = c.dev.assignment
    if (c.dev.subscribed && before && !before.extranonce1.equals(en1) && !c.dev.extranonceSubscribed) {
      // Same session, new upstream extranonce, and the miner cannot be told: reconnect it.
      this.emitSwitch(c, s.pool, s.pool, why, detail, 'reconnect')
      s.prefixes?.release(prefix)
      this.unplace(c)
      this.askReconnect(c)
      return 'reconnect'
    }
    c.session = s
    s.miners.add(c)
    for (const p of this.pools.values()) p.waiting.delete(c)
    c.waitSinceMs = undefined
    this.updateUpstreamWorker(c, s)
    const how = this.guardedValue(c, () => c.dev.attach(a, Date.now()))
    if (
      how === 'set_extranonce' &&
      before &&
      c.session === s &&
      (why === 'upstream-extranonce' || why === 'upstream-reconnect')
    ) {
      this.emitSwitch(c, s.pool, s.pool, why, detail, 'set_extranonce')
    }
    return how ?? 'none'
  }

  /** Frees a device's prefix and leaves its session. */
  private release(c: Conn): void {
    const s = c.session
    if (!s) return
    const prefix = c.dev.assignment?.prefix
    if (prefix && s.prefixes?.has(prefix)) s.prefixes.release(prefix)
    s.miners.delete(c)
    c.session = undefined
  }

  /** Takes a device off its session; it waits (no work) until placed again. */
  private unplace(c: Conn): void {
    this.release(c)
    c.dev.detach()
    if (c.waitSinceMs === undefined) c.waitSinceMs = Date.now()
  }

  private askReconnect(c: Conn): void {
    if (c.closed) return
    this.write(c, encodeReconnect())
    const t = setTimeout(
      () => this.closeConn(c, 'moved to another pool with client.reconnect', 'info'),
      this.limits.reconnectGraceMs,
    )
    t.unref()
  }

  private emitSwitch(
    c: Conn,
    from: PoolState | undefined,
    to: PoolState,
    reason: SwitchReason,
    detail: string,
    method: SwitchEvent['method'],
  ): void {
    const e: SwitchEvent = {
      tsMs: Date.now(),
      deviceId: c.id,
      worker: c.dev.worker,
      remoteAddress: c.ip,
      fromPoolId: from?.cfg.id,
      toPoolId: to.cfg.id,
      reason,
      detail,
      method,
    }
    this.log.info(`device ${c.id} (${c.dev.worker || c.ip}) ${from?.cfg.id ?? '-'} → ${to.cfg.id}: ${reason}`, {
      detail,
      method,
    })
    this.emit('switch', e)
  }

  private updateUpstreamWorker(c: Conn, s: UpSession): void {
    const template = this.route(c.routeId).workerTemplate ?? DEFAULT_WORKER_TEMPLATE
    if (c.dev.worker === '') {
      c.upstreamWorker = undefined
      return
    }
    const r = renderUpstreamWorker(template, { account: s.pool.cfg.user, user: c.dev.worker, ip: c.ip, id: c.id })
    if (!r.ok) {
      c.upstreamWorker = undefined
      c.upstreamWorkerProblem = r.message
      return
    }
    c.upstreamWorker = r.value
    c.upstreamWorkerProblem = undefined
    if (r.value !== s.pool.cfg.user) {
      const name = r.value
      void s.client.authorize(name).then((res) => {
        if (!res.ok && c.upstreamWorker === name) c.upstreamWorkerProblem = `the pool refused "${name}": ${res.message}`
      })
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Shares

  private forward(c: Conn, share: ForwardShare): void {
    const s = c.session
    const work = share.job.work
    const p = s?.pool
    if (!s || !p) return
    let name = c.upstreamWorker ?? p.cfg.user
    if (s.client.workerAuthorized(name) === false) name = p.cfg.user
    const counters = [c.counters, s.counters, p.counters]
    for (const k of counters) k.forwarded++
    void s.client
      .submit({
        worker: name,
        jobId: work.upstreamJobId,
        extranonce2Hex: share.extranonce2Hex,
        ntime: share.ntime,
        nonce: share.nonce,
        ...(share.versionBits !== undefined ? { versionBits: share.versionBits } : {}),
      })
      .then((o) => {
        const now = Date.now()
        for (const k of counters) {
          if (o.lost) k.lost++
          else if (o.accepted) {
            k.accepted++
            k.diffAccepted += work.upstreamDifficulty
          } else {
            k.rejected++
            const kind = o.kind ?? 'other'
            k.rejectedByKind[kind] = (k.rejectedByKind[kind] ?? 0) + 1
            k.lastReject = { tsMs: now, kind, message: o.message ?? '' }
          }
          if (o.rttMs !== undefined) {
            k.lastRttMs = o.rttMs
            k.rttSumMs += o.rttMs
            k.rttCount++
          }
        }
        if (o.accepted && !o.lost) p.rates.add(work.upstreamDifficulty, now)
        if (!o.lost) {
          if (o.accepted) p.rejectStreak = 0
          else if (++p.rejectStreak >= this.failover.rejectStreak && p.health === 'up') {
            this.markDown(
              p,
              'rejecting',
              `the last ${p.rejectStreak} shares were rejected (${o.message ?? 'no reason given'})`,
            )
            this.maintain()
          }
        }
        this.emit('share', {
          tsMs: now,
          deviceId: c.id,
          worker: c.dev.worker,
          upstreamWorker: name,
          poolId: p.cfg.id,
          sessionId: s.id,
          accepted: o.accepted,
          ...(o.kind !== undefined ? { kind: o.kind } : {}),
          ...(o.message !== undefined ? { message: o.message } : {}),
          difficulty: work.upstreamDifficulty,
          shareDifficulty: share.shareDifficulty,
          ...(o.rttMs !== undefined ? { rttMs: o.rttMs } : {}),
          lost: o.lost === true,
        })
      })
  }

  // ---------------------------------------------------------------------------------------------
  // Miner connections

  private accept(socket: net.Socket): void {
    const ip = normaliseIp(socket.remoteAddress)
    socket.on('error', (e) => this.log.debug('miner socket error', { remoteAddress: ip, error: e.message }))
    if (this.closing || this.conns.size >= this.limits.maxConnections) {
      if (!this.closing)
        this.log.warn('miner refused: proxy full', { remoteAddress: ip, maxConnections: this.limits.maxConnections })
      socket.destroy()
      return
    }
    socket.setNoDelay(true)
    const id = this.nextConnId++
    const now = Date.now()
    const c = {
      id,
      socket,
      ip,
      decoder: new LineDecoder({ maxLineBytes: this.limits.maxLineBytes }),
      closed: false,
      badLines: 0,
      routeId: this.routing.defaultRouteId,
      goalIndex: -1,
      session: undefined,
      waitSinceMs: undefined,
      upstreamWorker: undefined,
      upstreamWorkerProblem: undefined,
      counters: newCounters(),
      rates: new RateWindows(now),
      firstShareSeen: false,
    } as unknown as Conn
    c.dev = new Downstream(this.vardiff, this.hostFor(c), { id, remoteAddress: ip, nowMs: now })
    this.conns.set(id, c)
    socket.on('data', (chunk: Buffer) => this.onData(c, chunk))
    socket.on('close', () => this.cleanup(c))
    this.emit('device', { tsMs: now, deviceId: id, remoteAddress: ip, worker: '', kind: 'connected' })
  }

  private onData(c: Conn, chunk: Buffer): void {
    if (c.closed) return
    const now = Date.now()
    c.socket.cork()
    try {
      c.decoder.push(chunk, (item) => this.onItem(c, item, now))
      // Placement waits for the end of the chunk: a pipelined subscribe+authorize is routed by name.
      if (!c.closed && c.dev.wantsPlacement && c.session === undefined) {
        if (c.waitSinceMs === undefined) c.waitSinceMs = now
        c.routeId = this.routeIdFor(c)
        c.goalIndex = -1
        this.assignGoals()
        const target = this.targetPool(c, now)
        if (target) this.place(c, target)
        else this.maintain()
      }
    } catch (e) {
      this.log.error('miner handler failed; closing the connection', {
        connectionId: c.id,
        error: (e as Error).stack ?? String(e),
      })
      this.closeConn(c, 'internal error', 'error')
    } finally {
      c.socket.uncork()
    }
  }

  private onItem(c: Conn, item: DecodedItem, now: number): void {
    if (c.closed) return
    if (item.kind === 'request') {
      c.dev.handle(item, now)
      return
    }
    if (item.kind === 'response') return
    if (item.code === 'STRATUM_LINE_TOO_LONG' || item.code === 'STRATUM_TLS_ON_PLAIN_PORT') {
      this.closeConn(c, item.message, 'warn')
      return
    }
    c.badLines++
    this.write(c, encodeError(item.id ?? null, StratumErrorCode.Other, item.message))
    if (c.badLines > this.limits.maxBadLines)
      this.closeConn(c, `more than ${this.limits.maxBadLines} malformed lines`, 'warn')
  }

  private hostFor(c: Conn): DownstreamHost {
    return {
      logger: this.log,
      write: (line) => this.write(c, line),
      close: (reason) => this.closeConn(c, reason, 'warn'),
      lookupJob: (id) => this.jobs.get(id),
      currentJob: (sessionId) => (c.session?.id === sessionId ? c.session.current : undefined),
      generation: (sessionId) => (c.session?.id === sessionId ? c.session.generation : Number.POSITIVE_INFINITY),
      reissue: (job) => {
        const s = c.session
        const fresh = proxyJob(this.jobIds.allocate(), job.work)
        if (s) {
          this.register(s, fresh)
          if (s.current?.work === job.work) s.current = fresh
        }
        return fresh
      },
      defaultMask: () => this.mask,
      storm: this.storm,
      onAccepted: (difficulty, nowMs) => {
        c.rates.add(difficulty, nowMs)
        this.totalRates.add(difficulty, nowMs)
        if (!c.firstShareSeen) {
          c.firstShareSeen = true
          this.emit('firstShare', {
            tsMs: nowMs,
            deviceId: c.id,
            remoteAddress: c.ip,
            worker: c.dev.worker,
            difficulty,
          })
        }
      },
      onAuthorize: (name) => {
        this.emit('authorize', {
          tsMs: Date.now(),
          deviceId: c.id,
          remoteAddress: c.ip,
          worker: name,
          userAgent: c.dev.userAgent,
        })
        this.workerByIp.set(c.ip, name)
        if (this.workerByIp.size > 10_000) this.workerByIp.delete(this.workerByIp.keys().next().value!)
        const route = this.routeIdFor(c)
        if (c.session && route !== c.routeId) {
          // Routed by IP or default at subscribe; the name says otherwise.
          c.routeId = route
          c.goalIndex = -1
          this.assignGoals()
          const target = this.targetPool(c, Date.now())
          if (target && target !== c.session.pool) this.place(c, target, 'route-change')
        } else {
          c.routeId = route
        }
        if (c.session) this.updateUpstreamWorker(c, c.session)
      },
      forward: (share) => this.forward(c, share),
    }
  }

  private write(c: Conn, line: string): void {
    if (c.closed) return
    c.socket.write(line)
    if (c.socket.writableLength > this.limits.maxWriteBufferBytes) {
      this.closeConn(c, `miner is not reading (${c.socket.writableLength} bytes queued)`, 'warn')
    }
  }

  private closeConn(c: Conn, reason: string, level: 'info' | 'warn' | 'error'): void {
    if (c.closed) return
    c.closed = true
    this.log[level](`closing miner ${c.id} from ${c.ip}: ${reason}`, { connectionId: c.id, worker: c.dev.worker })
    c.socket.end()
    setTimeout(() => c.socket.destroy(), 2000).unref()
    this.release(c)
  }

  private cleanup(c: Conn): void {
    c.closed = true
    this.release(c)
    for (const p of this.pools.values()) p.waiting.delete(c)
    if (this.conns.has(c.id)) {
      const now = Date.now()
      const final = this.deviceStats(c, now)
      this.conns.delete(c.id)
      this.emit('device', {
        tsMs: now,
        deviceId: c.id,
        remoteAddress: c.ip,
        worker: c.dev.worker,
        kind: 'disconnected',
        final,
      })
    }
  }

  private guarded(c: Conn, f: () => void): void {
    try {
      f()
    } catch (e) {
      this.log.error('miner handler failed; closing the connection', {
        connectionId: c.id,
        error: (e as Error).stack ?? String(e),
      })
      this.closeConn(c, 'internal error', 'error')
    }
  }

  private guardedValue<T>(c: Conn, f: () => T): T | undefined {
    let out: T | undefined
    this.guarded(c, () => {
      out = f()
    })
    return out
  }

  private tick(): void {
    const now = Date.now()
    const vardiffTick = this.tickCount++ % Math.max(1, Math.round(5000 / this.limits.tickMs)) === 0
    for (const c of this.conns.values()) {
      if (c.closed) continue
      this.guarded(c, () => {
        const d = c.dev
        if (c.waitSinceMs !== undefined && d.wantsPlacement && now - c.waitSinceMs > this.limits.subscribeWaitMs) {
          if (d.pendingSubscribe !== undefined) {
            this.write(c, encodeError(d.pendingSubscribe, StratumErrorCode.Other, 'No upstream pool is available'))
          }
          this.closeConn(c, `no upstream pool available within ${this.limits.subscribeWaitMs / 1000} s`, 'warn')
          return
        }
        if (now - d.lastMessageMs > this.limits.idleTimeoutMs) {
          this.closeConn(c, `silent for ${Math.round((now - d.lastMessageMs) / 1000)} s`, 'info')
          return
        }
        if (!d.ready) return
        if (vardiffTick) d.tick(now)
        if (now - d.lastNotifyMs > this.limits.keepaliveMs) d.keepalive(now)
      })
    }
    this.maintain()
  }
}

function normaliseIp(addr: string | undefined): string {
  if (addr === undefined) return 'unknown'
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr
}
