import { z } from 'zod'
import { method, topic } from '../contract-kit'

/**
 * The local solo pool: settings, start/stop, the node connection, live stats, workers, found
 * blocks. Security constraints:
 * - The node's RPC password is write-only: `pool.setSettings` takes it, nothing returns it
 *   (`hasPassword` says whether one is stored); it never appears in a log line or an event.
 * - Worker names, user agents and remote addresses come from miners on the LAN: untrusted text,
 *   rendered as text only.
 */

const Empty = z.object({}).strict()

export const PoolNetwork = z.enum(['mainnet', 'testnet', 'testnet4', 'signet', 'regtest'])
export type PoolNetwork = z.infer<typeof PoolNetwork>

/** Owner-typed text: bounded, no control characters. */
const Text = (max: number) =>
  z
    .string()
    .max(max)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')

const Port = z.number().int().min(1).max(65_535)
const Difficulty = z
  .number()
  .positive()
  .max(2 ** 64)

export const PoolVardiff = z.object({
  /** Seconds between shares per connection the pool aims for (7.5 s = 8 shares a minute). */
  targetShareIntervalS: z.number(),
  minDifficulty: z.number(),
  maxDifficulty: z.number(),
  /** For miners whose user agent is not in the built-in list and who suggest nothing. */
  startDifficulty: z.number(),
})

export const PoolSettings = z.object({
  /** A node URL and a payout address are set: the pool can start. */
  configured: z.boolean(),
  /** The owner started the pool; it starts again with the app until `pool.stop`. */
  enabled: z.boolean(),
  node: z.object({
    /** `http://host:port`, `host:port` or `host` (the network's default RPC port then). */
    url: z.string(),
    user: z.string().nullable(),
    hasPassword: z.boolean(),
    /** Path of the node's `.cookie` file (or its data folder), used when no user is set. */
    cookieFile: z.string().nullable(),
  }),
  /** The network the node runs; the payout address must belong to it. */
  network: PoolNetwork,
  payoutAddress: z.string().nullable(),
  /** Written into every coinbase (truncated to fit the 100-byte scriptSig). */
  coinbaseTag: z.string(),
  /** Address the stratum port binds to; '0.0.0.0' = every interface (LAN miners). */
  host: z.string(),
  port: z.number().int(),
  tls: z.object({ enabled: z.boolean(), port: z.number().int() }),
  extranonce2Size: z.number().int(),
  vardiff: PoolVardiff,
  /** Miners may put their own address in the user name (`address.worker`) and be paid to it. */
  allowMinerPayout: z.boolean(),
  /** Template refresh for new transactions (new blocks are picked up within a second regardless). */
  templateRefreshS: z.number(),
})
export type PoolSettings = z.infer<typeof PoolSettings>

export const PoolSettingsPatch = z
  .object({
    node: z
      .object({
        url: Text(512).min(1).optional(),
        user: Text(256).min(1).nullable().optional(),
        /** A new password; null removes the stored one; absent keeps it. */
        password: z.string().max(1024).nullable().optional(),
        cookieFile: Text(4096).min(1).nullable().optional(),
      })
      .strict()
      .optional(),
    network: PoolNetwork.optional(),
    payoutAddress: z.string().max(256).nullable().optional(),
    coinbaseTag: Text(64).optional(),
    host: Text(64).min(1).optional(),
    port: Port.optional(),
    tls: z.object({ enabled: z.boolean().optional(), port: Port.optional() }).strict().optional(),
    extranonce2Size: z.number().int().min(2).max(8).optional(),
    vardiff: z
      .object({
        targetShareIntervalS: z.number().min(1).max(600).optional(),
        minDifficulty: Difficulty.optional(),
        maxDifficulty: Difficulty.optional(),
        startDifficulty: Difficulty.optional(),
      })
      .strict()
      .optional(),
    allowMinerPayout: z.boolean().optional(),
    templateRefreshS: z.number().min(5).max(600).optional(),
  })
  .strict()
export type PoolSettingsPatch = z.infer<typeof PoolSettingsPatch>

export const NodeState = z.enum([
  'off',
  'starting',
  'connected',
  'unreachable',
  'auth',
  'warmup',
  'syncing',
  'wrong-network',
  'error',
  'stopped',
])

export const PoolNodeStatus = z.object({
  state: NodeState,
  /** Plain words for the owner: what is wrong and what to check. */
  message: z.string(),
  errorCode: z.string().nullable(),
  /** As getblockchaininfo says it ('main', 'test', 'testnet4', 'signet', 'regtest'). */
  chain: z.string().nullable(),
  height: z.number().int().nullable(),
  headers: z.number().int().nullable(),
  templateHeight: z.number().int().nullable(),
  lastTemplateAtMs: z.number().nullable(),
  templateAgeS: z.number().nullable(),
  sinceMs: z.number(),
})

export const Hashrates = z.object({ h1m: z.number(), h10m: z.number(), h1h: z.number() })

export const PoolStatus = z.object({
  tsMs: z.number(),
  running: z.boolean(),
  configured: z.boolean(),
  startedAtMs: z.number().nullable(),
  node: PoolNodeStatus,
  ports: z.array(z.object({ protocol: z.enum(['stratum', 'stratum+ssl']), host: z.string(), port: z.number().int() })),
  tls: z.object({ enabled: z.boolean(), port: z.number().int().nullable(), fingerprintSha256: z.string().nullable() }),
  payout: z.object({ address: z.string().nullable(), network: PoolNetwork, minerPayout: z.boolean() }),
  job: z
    .object({
      id: z.string(),
      height: z.number().int(),
      transactions: z.number().int(),
      coinbaseValueSats: z.number(),
      networkDifficulty: z.number(),
    })
    .nullable(),
  miners: z.object({ connections: z.number().int(), ready: z.number().int(), workers: z.number().int() }),
  /** Since the pool started. */
  shares: z.object({
    accepted: z.number().int(),
    rejected: z.number().int(),
    stale: z.number().int(),
    diffAccepted: z.number(),
    bestShareDifficulty: z.number(),
  }),
  /** From accepted shares (Σ difficulty · 2³² / seconds), hashes per second. */
  hashrateHs: Hashrates,
  blocksFound: z.number().int(),
  lastBlock: z.object({ height: z.number().int(), hashHex: z.string(), foundAtMs: z.number() }).nullable(),
})
export type PoolStatus = z.infer<typeof PoolStatus>

const ByReason = z.record(z.string(), z.number())

export const PoolConnection = z.object({
  id: z.number().int(),
  transport: z.enum(['tcp', 'tls']),
  remoteAddress: z.string(),
  userAgent: z.string(),
  /** First authorized user name ('' before authorize). */
  worker: z.string(),
  workers: z.array(z.string()),
  connectedAtMs: z.number(),
  subscribed: z.boolean(),
  difficulty: z.number(),
  versionMask: z.string().nullable(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  rejectedByReason: ByReason,
  stale: z.number().int(),
  diffAccepted: z.number(),
  bestShareDifficulty: z.number(),
  lastShareTsMs: z.number().nullable(),
  lastLatencyMs: z.number().nullable(),
  avgLatencyMs: z.number().nullable(),
  hashrateHs: Hashrates,
})
export type PoolConnection = z.infer<typeof PoolConnection>

export const PoolWorker = z.object({
  worker: z.string(),
  /** Live connections using this name now. */
  connections: z.number().int(),
  firstSeenMs: z.number(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  rejectedByReason: ByReason,
  stale: z.number().int(),
  diffAccepted: z.number(),
  diffRejected: z.number(),
  bestShareDifficulty: z.number(),
  blocks: z.number().int(),
  lastShareTsMs: z.number().nullable(),
  avgLatencyMs: z.number().nullable(),
  userAgent: z.string(),
  remoteAddress: z.string(),
  hashrateHs: Hashrates,
})
export type PoolWorker = z.infer<typeof PoolWorker>

export const PoolWorkerMinute = z.object({
  /** Start of the minute (UTC, ms). */
  tsMs: z.number(),
  worker: z.string(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  stale: z.number().int(),
  diffAccepted: z.number(),
  bestShareDifficulty: z.number(),
  hashrateHs: z.number(),
})

export const PoolBlock = z.object({
  id: z.number().int(),
  foundAtMs: z.number(),
  height: z.number().int(),
  hashHex: z.string(),
  worker: z.string(),
  remoteAddress: z.string(),
  userAgent: z.string(),
  /** The share was also stale (the job's previous block was no longer the tip). */
  staleShare: z.boolean(),
  coinbaseValueSats: z.number(),
  /** What submitblock said; 'pending' while it runs, 'error' when the node could not be reached. */
  submit: z.object({
    status: z.enum(['pending', 'accepted', 'duplicate', 'inconclusive', 'rejected', 'error']),
    reason: z.string().nullable(),
    message: z.string().nullable(),
    attempts: z.number().int(),
    atMs: z.number().nullable(),
  }),
  /** Where the block stands by the node's chain at the last check. */
  confirmation: z.object({
    state: z.enum(['pending', 'in-chain', 'stale', 'unknown']),
    confirmations: z.number().int().nullable(),
    checkedAtMs: z.number().nullable(),
  }),
})
export type PoolBlock = z.infer<typeof PoolBlock>

export const NodeTestResult = z.object({
  ok: z.boolean(),
  state: z.enum(['ok', 'config', 'unreachable', 'auth', 'warmup', 'syncing', 'wrong-network', 'error']),
  message: z.string(),
  chain: z.string().nullable(),
  network: PoolNetwork.nullable(),
  height: z.number().int().nullable(),
  headers: z.number().int().nullable(),
  /** getblocktemplate answered (with the segwit rule): the node can give the pool work. */
  templateOk: z.boolean(),
})

export const ShareFrame = z.object({
  seq: z.number().int(),
  tsMs: z.number(),
  connectionId: z.number().int(),
  remoteAddress: z.string(),
  worker: z.string(),
  jobId: z.string(),
  height: z.number().int(),
  accepted: z.boolean(),
  reason: z.string().nullable(),
  difficulty: z.number(),
  shareDifficulty: z.number(),
  isBlock: z.boolean(),
  latencyMs: z.number().nullable(),
  /** Shares not sent as frames just before this one (the feed is capped per second; the counters are not). */
  skippedBefore: z.number().int(),
})
export type ShareFrame = z.infer<typeof ShareFrame>

export const PoolStreamFrame = z.object({
  status: PoolStatus,
  connections: z.array(PoolConnection),
  workers: z.array(PoolWorker),
})

export const poolContract = {
  'pool.getSettings': method(Empty, PoolSettings, 'The pool settings (the node password is never returned).'),
  'pool.setSettings': method(
    PoolSettingsPatch,
    z.object({
      settings: PoolSettings,
      /** The pool runs and a changed setting (port, TLS, vardiff…) takes effect after pool.stop + pool.start. */
      restartRequired: z.boolean(),
    }),
    'Changes pool settings. The payout address is checked for the network (Lightning addresses, typos and other networks are refused with the reason); payout, tag and node changes apply at once.',
  ),
  'pool.start': method(
    Empty,
    PoolStatus,
    'Starts the pool: the stratum listener(s) and the node connection. Fails with a clear message when unconfigured or the port is taken.',
  ),
  'pool.stop': method(Empty, PoolStatus, 'Stops the pool; miners are asked to reconnect (client.reconnect).'),
  'pool.testNode': method(
    z
      .object({
        url: Text(512).min(1).optional(),
        user: Text(256).min(1).nullable().optional(),
        password: z.string().max(1024).nullable().optional(),
        cookieFile: Text(4096).min(1).nullable().optional(),
        network: PoolNetwork.optional(),
      })
      .strict(),
    NodeTestResult,
    'Connects to a node (the given fields over the stored settings) and says in plain words whether the pool can mine on it.',
  ),
  'pool.status': method(
    Empty,
    PoolStatus,
    'Node state and height, template age, ports, TLS fingerprint, miners, shares, hashrate, blocks.',
  ),
  'pool.connections': method(
    Empty,
    z.object({ connections: z.array(PoolConnection) }),
    'Live miner connections with their stats.',
  ),
  'pool.kick': method(
    z.object({ id: z.number().int().min(1) }).strict(),
    z.object({ kicked: z.boolean() }),
    'Closes one miner connection (the miner normally reconnects).',
  ),
  'pool.workers': method(
    Empty,
    z.object({ workers: z.array(PoolWorker) }),
    'Per-worker totals (persisted across restarts) with live hashrate.',
  ),
  'pool.history': method(
    z
      .object({
        worker: z.string().max(256).optional(),
        sinceMs: z.number().optional(),
        untilMs: z.number().optional(),
        limit: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    z.object({ rows: z.array(PoolWorkerMinute) }),
    'Per-worker, per-minute share counts from the store, oldest first.',
  ),
  'pool.blocks': method(
    z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
    z.object({ blocks: z.array(PoolBlock) }),
    'Blocks found by this pool, newest first, with the submit result and confirmation.',
  ),

  'pool.stream': topic(
    Empty,
    PoolStreamFrame,
    'latest',
    'Pool status with per-connection and per-worker stats, coalesced.',
  ),
  'poolShares.stream': topic(
    z.object({ sinceSeq: z.number().int().min(0).optional() }).strict(),
    ShareFrame,
    'ordered',
    'Every share as it is answered (capped per second; skipped ones are counted in the next frame).',
  ),
} as const
