import { z } from 'zod'
import { method, topic } from '../contract-kit'

/**
 * The stratum proxy: LAN miners connect to Hashyard (port 3334 by default), which carries them to
 * upstream pools (Braiins, Ocean, a friend's ckpool…) over a few aggregated sessions, with routes,
 * failover and per-device accounting. Security constraints:
 * - Upstream pool passwords are write-only: `proxyPools.add`/`update` take them, nothing returns
 *   them (`hasPassword` says whether one is stored); they never appear in a log line or an event.
 * - Worker names, user agents, addresses and pool messages come from miners and pools: untrusted
 *   text, rendered as text only.
 */

const Empty = z.object({}).strict()

/** Owner-typed text: bounded, no control characters. */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')

const PoolId = z.number().int().min(1)
const RouteId = z.number().int().min(1)
const Port = z.number().int().min(1).max(65_535)
const MinersPerSession = z.number().int().min(1).max(65_536)
const ByReason = z.record(z.string(), z.number())

export const Hashrates = z.object({ h1m: z.number(), h10m: z.number(), h1h: z.number() })

// ---------------------------------------------------------------------------------------------
// Upstream pools

export const ProxyPool = z.object({
  id: PoolId,
  name: z.string(),
  /** Canonical: `stratum+tcp://host:port` or `stratum+ssl://host:port`. */
  url: z.string(),
  /** `host:port` as stored. */
  hostPort: z.string(),
  tls: z.boolean(),
  /** The pool account: `{account}` in worker templates and the sessions' own authorize. */
  user: z.string(),
  hasPassword: z.boolean(),
  /** Overrides the proxy setting for this pool; null = the setting. */
  maxMinersPerSession: z.number().int().nullable(),
  /** Routes that list this pool. */
  usedByRoutes: z.array(RouteId),
})
export type ProxyPool = z.infer<typeof ProxyPool>

export const ProxyPoolAdd = z
  .object({
    /** Shown in the UI and in events; default: the host. */
    name: Text(64).min(1).optional(),
    /** `host:port` or a pasted `stratum+tcp://host:port` / `stratum+ssl://…` (normalised). */
    url: Text(512).min(1),
    user: Text(256).min(1),
    password: z.string().max(1024).optional(),
    /** Use TLS for a bare host:port. */
    tls: z.boolean().optional(),
    maxMinersPerSession: MinersPerSession.nullable().optional(),
  })
  .strict()

export const ProxyPoolUpdate = z
  .object({
    id: PoolId,
    name: Text(64).min(1).optional(),
    url: Text(512).min(1).optional(),
    user: Text(256).min(1).optional(),
    /** A new password; null removes the stored one; absent keeps it. */
    password: z.string().max(1024).nullable().optional(),
    tls: z.boolean().optional(),
    maxMinersPerSession: MinersPerSession.nullable().optional(),
  })
  .strict()

export const PoolTestOutcome = z.enum([
  'ok',
  'bad-url',
  'dns',
  'refused',
  'timeout',
  'tls',
  'closed',
  'subscribe-failed',
  'authorize-false',
  'no-job',
  'protocol',
  'unusable',
])

export const ProxyPoolTestResult = z.object({
  ok: z.boolean(),
  outcome: PoolTestOutcome,
  /** One or two sentences for the owner: what happened and what to check. */
  message: z.string(),
  hostPort: z.string().nullable(),
  tls: z.boolean().nullable(),
  /** Milliseconds from the start to authorize and to the first job. */
  authorizedMs: z.number().nullable(),
  firstJobMs: z.number().nullable(),
  extranonce1Hex: z.string().nullable(),
  extranonce2Size: z.number().int().nullable(),
  difficulty: z.number().nullable(),
  versionMask: z.string().nullable(),
  /** How many miners one session of this pool can carry, and the extranonce2 size they get. */
  split: z
    .object({ prefixBytes: z.number().int(), downstreamEn2Size: z.number().int(), minersPerSession: z.number().int() })
    .nullable(),
})
export type ProxyPoolTestResult = z.infer<typeof ProxyPoolTestResult>

// ---------------------------------------------------------------------------------------------
// Routes and device rules

export const RouteGoal = z
  .object({
    /** Share of the route's hashrate (relative; whole devices move). Default 1. */
    weight: z.number().positive().max(1_000_000).optional(),
    /** Pools in failover order: the first healthy one is used. */
    pools: z.array(PoolId).min(1).max(16),
  })
  .strict()

export const ProxyRoute = z.object({
  id: RouteId,
  name: z.string(),
  goals: z.array(z.object({ weight: z.number(), pools: z.array(PoolId) })),
  /** `{account}.{worker}` (default), `{account}.{ip_x}`, `{account}`, … or `pass-through`. */
  workerTemplate: z.string(),
  isDefault: z.boolean(),
})
export type ProxyRoute = z.infer<typeof ProxyRoute>

export const DeviceRule = z
  .object({
    routeId: RouteId,
    /** The device's stratum user exactly, or its worker part (after the first dot). */
    worker: Text(256).min(1).optional(),
    /** The device's IP address. */
    ip: z.union([z.ipv4(), z.ipv6()]).optional(),
    /** A device record (Fleet): matched by the address it has now. */
    deviceId: z.string().min(1).max(64).optional(),
  })
  .strict()
export type DeviceRule = z.infer<typeof DeviceRule>

const RoutesView = z.object({
  routes: z.array(ProxyRoute),
  /** First matching rule wins; devices matching none use the default route. */
  rules: z.array(DeviceRule),
  defaultRouteId: RouteId.nullable(),
})

// ---------------------------------------------------------------------------------------------
// Settings

export const ProxyFailover = z.object({
  /** A pool that sends no new job for this long is treated as down (connected but silent). */
  noJobTimeoutS: z.number(),
  /** This many rejections in a row: the pool "rejects everything" and is left. */
  rejectStreak: z.number().int(),
  /** How long a rejecting pool is avoided before it is tried again. */
  rejectCooldownS: z.number(),
  /** A recovered higher-priority pool must stay healthy this long before miners return to it. */
  returnToPrimaryAfterS: z.number(),
})

export const ProxySettings = z.object({
  /** At least one pool and a default route exist: the proxy can start. */
  configured: z.boolean(),
  /** The owner started the proxy; it starts again with the app until `proxy.stop`. */
  enabled: z.boolean(),
  /** '0.0.0.0' = every interface (LAN miners). */
  host: z.string(),
  /** Default 3334 (the local pool has 3333). */
  port: z.number().int(),
  /** Miners carried by one upstream session (pools may override). Default 50. */
  maxMinersPerSession: z.number().int(),
  /** One upstream session per device, each with its own name upstream (no aggregation). */
  passThrough: z.boolean(),
  failover: ProxyFailover,
})
export type ProxySettings = z.infer<typeof ProxySettings>

export const ProxySettingsPatch = z
  .object({
    host: Text(64).min(1).optional(),
    port: Port.optional(),
    maxMinersPerSession: MinersPerSession.optional(),
    passThrough: z.boolean().optional(),
    failover: z
      .object({
        noJobTimeoutS: z.number().min(5).max(3600).optional(),
        rejectStreak: z.number().int().min(1).max(10_000).optional(),
        rejectCooldownS: z.number().min(1).max(86_400).optional(),
        returnToPrimaryAfterS: z.number().min(0).max(86_400).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
export type ProxySettingsPatch = z.infer<typeof ProxySettingsPatch>

// ---------------------------------------------------------------------------------------------
// Status, devices, history, switches

const UpstreamCounters = z.object({
  /** Shares that met the pool's target and were sent to it. */
  forwarded: z.number().int(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  rejectedByKind: ByReason,
  stale: z.number().int(),
  /** Σ pool difficulty of the accepted shares. */
  diffAccepted: z.number(),
  /** Shares whose answer never came (the connection dropped). */
  lost: z.number().int(),
  lastRttMs: z.number().nullable(),
  avgRttMs: z.number().nullable(),
  lastReject: z.object({ tsMs: z.number(), kind: z.string(), message: z.string() }).nullable(),
})

export const SwitchReason = z.enum([
  'failover',
  'return-to-primary',
  'route-change',
  'rebalance',
  'upstream-extranonce',
  'upstream-reconnect',
])

/** Devices moved together between two pools for one reason (one frame per move, not per device). */
export const ProxySwitchFrame = z.object({
  seq: z.number().int(),
  tsMs: z.number(),
  fromPoolId: PoolId.nullable(),
  toPoolId: PoolId,
  reason: SwitchReason,
  /** Plain words: why (e.g. what happened to the pool that was left). */
  detail: z.string(),
  /** How the miners were moved: set_extranonce (no reconnect), reconnect, or nothing to tell. */
  method: z.enum(['set_extranonce', 'reconnect', 'none']),
  devices: z.number().int(),
  /** Up to 50 of the devices (proxy connection ids) and their workers. */
  deviceIds: z.array(z.number().int()),
  workers: z.array(z.string()),
})
export type ProxySwitchFrame = z.infer<typeof ProxySwitchFrame>

export const ProxyPoolStatus = UpstreamCounters.extend({
  id: PoolId,
  name: z.string(),
  url: z.string(),
  health: z.enum(['unknown', 'up', 'down']),
  /** Why it is down: refused, dns, silent (no job), rejecting, unusable… */
  reason: z.string().nullable(),
  message: z.string(),
  sinceMs: z.number(),
  sessions: z.number().int(),
  miners: z.number().int(),
  difficulty: z.number().nullable(),
  lastJobTsMs: z.number().nullable(),
  msSinceLastJob: z.number().nullable(),
  /** From the difficulty the pool accepted. */
  hashrateHs: Hashrates,
})

export const ProxySessionStatus = z.object({
  id: z.number().int(),
  poolId: PoolId,
  endpoint: z.string(),
  state: z.string(),
  extranonce1: z.string().nullable(),
  extranonce2Size: z.number().int().nullable(),
  prefixBytes: z.number().int().nullable(),
  downstreamEn2Size: z.number().int().nullable(),
  capacity: z.number().int().nullable(),
  miners: z.number().int(),
  difficulty: z.number().nullable(),
  msSinceLastJob: z.number().nullable(),
  /** Connections that reached ready (1 + reconnects). */
  connections: z.number().int(),
})

export const ProxyStatus = z.object({
  tsMs: z.number(),
  running: z.boolean(),
  configured: z.boolean(),
  enabled: z.boolean(),
  /** Plain words: stopped, not configured (and what is missing), or where it listens. */
  message: z.string(),
  startedAtMs: z.number().nullable(),
  listen: z.object({ host: z.string(), port: z.number().int() }).nullable(),
  miners: z.object({ connections: z.number().int(), ready: z.number().int() }),
  /** Every miner together, from locally validated shares. */
  hashrateHs: Hashrates,
  pools: z.array(ProxyPoolStatus),
  routes: z.array(
    z.object({
      id: RouteId,
      name: z.string(),
      isDefault: z.boolean(),
      devices: z.number().int(),
      /** Per goal: the pool its devices use now (the first healthy one in order), or null. */
      goals: z.array(z.object({ weight: z.number(), pools: z.array(PoolId), activePoolId: PoolId.nullable() })),
    }),
  ),
  sessions: z.array(ProxySessionStatus),
  /** The most recent switches, oldest first. */
  switches: z.array(ProxySwitchFrame),
})
export type ProxyStatus = z.infer<typeof ProxyStatus>

export const ProxyDevice = z.object({
  /** Proxy connection id (changes when the miner reconnects). */
  id: z.number().int(),
  /** The Fleet device record matched by address, when the devices module knows it. */
  deviceRecordId: z.string().nullable(),
  remoteAddress: z.string(),
  userAgent: z.string(),
  worker: z.string(),
  upstreamWorker: z.string().nullable(),
  /** Why the templated name could not be used upstream (the account name is used instead). */
  upstreamWorkerProblem: z.string().nullable(),
  routeId: RouteId.nullable(),
  poolId: PoolId.nullable(),
  sessionId: z.number().int().nullable(),
  extranonce1: z.string().nullable(),
  extranonce2Size: z.number().int().nullable(),
  extranonceSubscribed: z.boolean(),
  versionMask: z.string().nullable(),
  connectedAtMs: z.number(),
  difficulty: z.number(),
  /** From locally accepted difficulty. */
  hashrateHs: Hashrates,
  accepted: z.number().int(),
  rejected: z.number().int(),
  rejectedByReason: ByReason,
  stale: z.number().int(),
  diffAccepted: z.number(),
  bestShareDifficulty: z.number(),
  lastShareTsMs: z.number().nullable(),
  /** What the pool said about this device's forwarded shares. */
  upstream: UpstreamCounters,
})
export type ProxyDevice = z.infer<typeof ProxyDevice>

export const ProxyMinute = z.object({
  /** Start of the minute (UTC, ms). */
  tsMs: z.number(),
  kind: z.enum(['device', 'pool']),
  /** A device's worker name (or `ip:<address>` before it authorized), or a pool id as text. */
  key: z.string(),
  /** Device: shares the proxy validated. Pool: the pool's answers. */
  accepted: z.number().int(),
  rejected: z.number().int(),
  stale: z.number().int(),
  diffAccepted: z.number(),
  /** Device: what the pool said about its forwarded shares. Pool: same as accepted/rejected. */
  upstreamAccepted: z.number().int(),
  upstreamRejected: z.number().int(),
  hashrateHs: z.number(),
})
export type ProxyMinute = z.infer<typeof ProxyMinute>

export const ProxyStreamFrame = z.object({ status: ProxyStatus, devices: z.array(ProxyDevice) })

export const proxyContract = {
  'proxy.getSettings': method(Empty, ProxySettings, 'Proxy settings (port, aggregation, pass-through, failover).'),
  'proxy.setSettings': method(
    ProxySettingsPatch,
    z.object({ settings: ProxySettings, restartRequired: z.boolean() }),
    'Changes proxy settings. Aggregation and pass-through apply at once; port, host and failover timings after proxy.stop + proxy.start.',
  ),
  'proxy.start': method(
    Empty,
    ProxyStatus,
    'Starts the proxy listener and its upstream sessions. Fails with a clear message when unconfigured or the port is taken.',
  ),
  'proxy.stop': method(Empty, ProxyStatus, 'Stops the proxy; miners are asked to reconnect (client.reconnect).'),
  'proxy.status': method(
    Empty,
    ProxyStatus,
    'Listening port, miners, per-pool health and counters, the active pool of each route, upstream sessions, recent switches.',
  ),
  'proxy.devices': method(
    Empty,
    z.object({ devices: z.array(ProxyDevice) }),
    'Connected miners with their route, pool, extranonce, hashrate and local and upstream share counts.',
  ),
  'proxy.history': method(
    z
      .object({
        kind: z.enum(['device', 'pool']).optional(),
        key: z.string().max(256).optional(),
        sinceMs: z.number().optional(),
        untilMs: z.number().optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    z.object({ rows: z.array(ProxyMinute) }),
    'Per-minute share counts per device and per pool from the store, oldest first.',
  ),

  'proxyPools.list': method(
    Empty,
    z.object({ pools: z.array(ProxyPool) }),
    'Upstream pools (passwords never returned).',
  ),
  'proxyPools.add': method(
    ProxyPoolAdd,
    z.object({ pool: ProxyPool }),
    'Adds an upstream pool; a pasted stratum+tcp:// URL is normalised, a bad one refused with the reason. The first pool also creates the default route.',
  ),
  'proxyPools.update': method(
    ProxyPoolUpdate,
    z.object({ pool: ProxyPool }),
    'Changes a pool; a running proxy reconnects to it and moves its miners without dropping them.',
  ),
  'proxyPools.remove': method(
    z.object({ id: PoolId }).strict(),
    z.object({ removed: z.boolean() }),
    'Removes a pool that no route uses (CONFLICT names the routes that do).',
  ),
  'proxyPools.test': method(
    z
      .object({
        /** A stored pool (its password from the store), or the fields below for an unsaved one. */
        id: PoolId.optional(),
        url: Text(512).min(1).optional(),
        user: Text(256).min(1).optional(),
        password: z.string().max(1024).optional(),
        tls: z.boolean().optional(),
      })
      .strict(),
    ProxyPoolTestResult,
    'Connects, subscribes, authorizes and waits for a job; says in plain words what happened (DNS failure, refused, timeout, authorize false, no job).',
  ),

  'proxyRoutes.list': method(
    Empty,
    RoutesView,
    'Routes (ordered failover lists with weights), device rules and the default route.',
  ),
  'proxyRoutes.add': method(
    z
      .object({
        name: Text(64).min(1),
        goals: z.array(RouteGoal).min(1).max(8),
        workerTemplate: Text(128).min(1).optional(),
      })
      .strict(),
    z.object({ route: ProxyRoute }),
    'Adds a route: goals split the devices by weight, each an ordered failover list of pools.',
  ),
  'proxyRoutes.update': method(
    z
      .object({
        id: RouteId,
        name: Text(64).min(1).optional(),
        goals: z.array(RouteGoal).min(1).max(8).optional(),
        workerTemplate: Text(128).min(1).optional(),
      })
      .strict(),
    z.object({ route: ProxyRoute }),
    'Changes a route; live miners are re-pointed without reconnecting where they support set_extranonce.',
  ),
  'proxyRoutes.remove': method(
    z.object({ id: RouteId }).strict(),
    z.object({ removed: z.boolean() }),
    'Removes a route that is not the default and that no device rule names.',
  ),
  'proxyRoutes.setDefault': method(
    z.object({ id: RouteId }).strict(),
    RoutesView,
    'Sets the route for devices no rule matches.',
  ),
  'proxyRoutes.setRules': method(
    z.object({ rules: z.array(DeviceRule).max(10_000) }).strict(),
    RoutesView,
    'Replaces the device rules (first match wins: by worker name, IP address or Fleet device record).',
  ),

  'proxy.stream': topic(Empty, ProxyStreamFrame, 'latest', 'Proxy status with per-device stats, coalesced.'),
  'proxySwitches.stream': topic(
    z.object({ sinceSeq: z.number().int().min(0).optional() }).strict(),
    ProxySwitchFrame,
    'ordered',
    'Every move of devices between pools (failover, return to primary, route change) with its reason.',
  ),
} as const
