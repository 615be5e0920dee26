/**
 * The running local pool: wires the node (NodeRpcClient + TemplateSource) to the job builder
 * (WorkFeed) and the stratum listener (StratumServer), records shares and found blocks, and
 * answers the `pool.*` API through `module.ts`.
 *
 *   TemplateSource ──template──▶ WorkFeed.publish ──job──▶ StratumServer ──▶ miners
 *        │ status                                             │ onShare / onBlockFound / onAuthorize
 *        ▼                                                    ▼
 *   events + pool.status                 ShareAccounting, ShareFeed, BlockRepo → submitblock → confirm
 *
 * While the node is away the server keeps the last job and its keepalive resends it, so miners stay
 * connected; when the node is back the next template goes out as a clean job.
 *
 * Security: the node password comes from the SecretStore only when a client is built and is never
 * logged or returned; worker names and user agents are untrusted text from the LAN.
 */

import { join } from 'node:path'
import type {
  PoolConnection,
  PoolSettings,
  PoolSettingsPatch,
  PoolStatus,
  PoolWorker,
  ShareFrame,
} from '../../shared/contract/pool'
import { AppFailure } from '../../shared/errors'
import { decodePayoutAddress } from '../bitcoin/address'
import { noteMinerConnected, noteShareAccepted } from '../devices/module'
import type { Logger } from '../logger'
import type { CoreContext } from '../module'
import { NodeRpcClient } from '../node/rpc-client'
import { type NodeStatus, TemplateSource, type TemplateSourceOptions } from '../node/template-source'
import { BatchWriter } from '../store/batch-writer'
import {
  type AuthorizeEvent,
  type BlockFinder,
  type ConnectionInfo,
  type ShareEvent,
  type StormPolicy,
  type StratumLimits,
  StratumServer,
  type VardiffConfig,
  WorkFeed,
} from '../stratum'
import { SerialQueue } from '../util/serial-queue'
import { type MinuteRow, ShareAccounting, type WorkerTotals } from './accounting'
import { BlockRepo } from './block-repo'
import type { Job } from './job'
import { checkNode, type NodeCheck, payoutProblem } from './node-check'
import { applyPatch, isConfigured, POOL_PASSWORD_REF, type PoolConfig, PoolConfigRepo } from './pool-config'
import { ShareFeed, type ShareFeedOptions } from './share-feed'
import { type HistoryQuery, PoolStatsRepo } from './stats-repo'
import { ensurePoolCertificate } from './tls-cert'

export interface PoolServiceOptions {
  /** Node timings (tests shorten them). */
  templateSource?: Partial<
    Pick<
      TemplateSourceOptions,
      'pollIntervalMs' | 'longPoll' | 'longPollTimeoutMs' | 'retryInitialMs' | 'retryMaxMs' | 'callTimeoutMs'
    >
  >
  /** Stratum limits over the server defaults (the bench raises the per-IP cap). */
  limits?: Partial<StratumLimits>
  storm?: Partial<StormPolicy>
  /** Vardiff fields the settings do not cover (e.g. `startByUserAgent`). */
  vardiff?: Partial<VardiffConfig>
  /** Accounting is written to the store this often. Default 10 s. */
  flushIntervalMs?: number
  /** `pool.stream` announces changes at most this often. Default 1 s. */
  streamIntervalMs?: number
  shareFeed?: ShareFeedOptions
  /** submitblock attempts while the node cannot be reached, and the first delay (doubling). Defaults 6, 2 s. */
  submitAttempts?: number
  submitRetryMs?: number
  /** Per-minute rows older than this are deleted. Default 30 days. */
  keepHistoryDays?: number
  /** `pool.testNode` timeout. Default 10 s. */
  testNodeTimeoutMs?: number
  /** Grace for miners to close after client.reconnect on stop. Default 2 s. */
  closeGraceMs?: number
}

interface Running {
  /** The settings in effect (listener fields as started; payout and node as last applied). */
  config: PoolConfig
  rpc: NodeRpcClient
  source: TemplateSource
  work: WorkFeed
  server: StratumServer
  port: number
  tlsPort: number | undefined
  fingerprint: string | undefined
  startedAtMs: number
  removePorts: Array<() => void>
  lastNodeState: string
}

const EMPTY_RATES = { h1m: 0, h10m: 0, h1h: 0 }
/** Rows per store transaction when accounting is flushed (a few milliseconds each). */
const FLUSH_CHUNK_ROWS = 500

export class PoolService {
  readonly accounting = new ShareAccounting()
  readonly shareFeed: ShareFeed
  readonly blocks: BlockRepo
  private readonly config: PoolConfigRepo
  private readonly stats: PoolStatsRepo
  private readonly log: Logger
  private readonly writer: BatchWriter<{ workers: WorkerTotals[]; minutes: MinuteRow[] }>
  private running: Running | undefined
  private readonly queue = new SerialQueue()
  private readonly inFlight = new Set<Promise<void>>()
  private readonly listeners = new Set<() => void>()
  private dirty = false
  private readonly timers: NodeJS.Timeout[] = []
  private lastBlock: { height: number; hashHex: string; foundAtMs: number } | null = null
  /** The stratum server's last completed fan-out (it writes in slices across event-loop turns). */
  get lastFanOut(): StratumServer['lastFanOut'] {
    return this.running?.server.lastFanOut
  }
  /**
   * The last job broadcast: when it started (monotonic) and how long building the job and writing
   * its first slice of connections took (see `lastFanOut` for the whole fan-out).
   */
  lastBroadcast:
    | {
        jobId: string
        height: number
        clean: boolean
        connections: number
        startNs: bigint
        fanOutMs: number
        fanOutCpuMs: number
      }
    | undefined
  private closed = false
  private readonly pendingChunks: Array<{ workers: WorkerTotals[]; minutes: MinuteRow[] }> = []
  private pumping = false
  private abort = new AbortController()

  constructor(
    private readonly ctx: CoreContext,
    private readonly o: PoolServiceOptions = {},
  ) {
    this.log = ctx.logger
    this.config = new PoolConfigRepo(ctx.db)
    this.stats = new PoolStatsRepo(ctx.db)
    this.blocks = new BlockRepo(ctx.db)
    this.shareFeed = new ShareFeed(o.shareFeed)
    this.accounting.load(this.stats.loadWorkers(5000))
    const last = this.blocks.list(1)[0]
    if (last) this.lastBlock = { height: last.height, hashHex: last.hashHex, foundAtMs: last.foundAtMs }
    this.writer = new BatchWriter({
      intervalMs: o.flushIntervalMs ?? 10_000,
      maxRows: 1000,
      write: (batches) => {
        for (const b of batches) this.stats.write(b)
      },
      onError: (e) => this.log.error('pool accounting could not be written', { error: String(e) }),
    })
    const flushEvery = o.flushIntervalMs ?? 10_000
    this.every(flushEvery, () => this.flush())
    this.every(o.streamIntervalMs ?? 1000, () => {
      if (!this.dirty) return
      this.dirty = false
      for (const cb of this.listeners) cb()
    })
    const keepMs = (o.keepHistoryDays ?? 30) * 86_400_000
    this.every(3_600_000, () => this.stats.prune(Date.now() - keepMs))
    this.stats.prune(Date.now() - keepMs)
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(() => {
      try {
        fn()
      } catch (e) {
        this.log.error('pool housekeeping failed', { error: (e as Error).stack ?? String(e) })
      }
    }, ms)
    t.unref()
    this.timers.push(t)
  }

  /** Start/stop/settings run one at a time, in call order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn)
  }

  private changed(): void {
    this.dirty = true
  }

  onChange(cb: () => void): () => void {
    this.listeners.add(cb)
    return () => this.listeners.delete(cb)
  }

  /** Writes what the accounting gathered since the last flush (one transaction). */
  /**
   * Writes what the accounting gathered since the last flush. A big farm's batch (thousands of
   * workers) is cut into chunks written one per event-loop turn, so a flush never holds up
   * validation for long; `sync` writes everything now (queries, shutdown).
   */
  flush(sync = false): void {
    const r = this.running
    if (r) this.accounting.retainConnections((id) => r.server.isConnected(id))
    const batch = this.accounting.drain()
    for (let i = 0; i < Math.max(batch.workers.length, batch.minutes.length); i += FLUSH_CHUNK_ROWS) {
      this.pendingChunks.push({
        workers: batch.workers.slice(i, i + FLUSH_CHUNK_ROWS),
        minutes: batch.minutes.slice(i, i + FLUSH_CHUNK_ROWS),
      })
    }
    if (sync) {
      for (const c of this.pendingChunks.splice(0)) this.writer.push(c)
      this.writer.flush()
    } else this.pump()
  }

  private pump(): void {
    if (this.pumping || this.pendingChunks.length === 0) return
    this.pumping = true
    setImmediate(() => {
      this.pumping = false
      const c = this.pendingChunks.shift()
      if (c) {
        this.writer.push(c)
        this.writer.flush()
      }
      this.pump()
    })
  }

  // -------------------------------------------------------------------------------------------
  // Settings

  settings(): PoolSettings {
    const c = this.config.load()
    return {
      configured: isConfigured(c),
      enabled: c.enabled,
      node: {
        url: c.node.url,
        user: c.node.user,
        hasPassword: this.ctx.secrets.has(POOL_PASSWORD_REF),
        cookieFile: c.node.cookieFile,
      },
      network: c.network,
      payoutAddress: c.payoutAddress,
      coinbaseTag: c.coinbaseTag,
      host: c.host,
      port: c.port,
      tls: { ...c.tls },
      extranonce2Size: c.extranonce2Size,
      vardiff: { ...c.vardiff },
      allowMinerPayout: c.allowMinerPayout,
      templateRefreshS: c.templateRefreshS,
    }
  }

  setSettings(patch: PoolSettingsPatch): Promise<{ settings: PoolSettings; restartRequired: boolean }> {
    return this.serial(async () => {
      const cur = this.config.load()
      const r = applyPatch(cur, patch, this.ctx.secrets.has(POOL_PASSWORD_REF))
      if (!r.ok) throw new AppFailure(r.error.code, r.error.message, r.error.details)
      const { config: next, password, changed } = r.value
      const run = this.running
      // The running node's network is known: refuse an address it cannot pay, unless the node
      // settings change in the same call (then the new node decides, shown in pool.status).
      const nodeNetwork = run?.source.status.network
      if (run && !changed.node && nodeNetwork !== undefined) {
        const problem = payoutProblem(next.payoutAddress, next.network, nodeNetwork)
        if (problem !== null) throw new AppFailure('INVALID_PARAMS', problem, { field: 'payoutAddress' })
      }
      if (password === null) this.ctx.secrets.delete(POOL_PASSWORD_REF)
      else if (password !== undefined) await this.ctx.secrets.put(POOL_PASSWORD_REF, password)
      this.config.save({ ...next, enabled: cur.enabled })
      let restartRequired = false
      if (run) {
        if (changed.payout) this.applyPayout(run, next)
        if (changed.node || changed.refresh) await this.replaceSource(run, next)
        restartRequired = changed.listener
      }
      this.ctx.events.append(
        'info',
        'pool',
        restartRequired
          ? 'Pool settings saved; the port, TLS and difficulty changes apply when the pool is restarted.'
          : 'Pool settings saved.',
      )
      this.changed()
      return { settings: this.settings(), restartRequired }
    })
  }

  private applyPayout(run: Running, next: PoolConfig): void {
    const d = next.payoutAddress === null ? undefined : decodePayoutAddress(next.payoutAddress, next.network)
    const nodeNetwork = run.source.status.network
    // An address the connected node cannot pay is not put into the current job; the node check below reports it.
    const payable = nodeNetwork === undefined || payoutProblem(next.payoutAddress, next.network, nodeNetwork) === null
    if (d?.ok) {
      // The next template uses it in any case; the current one is rebuilt now when the node can pay it.
      run.work.setOptions({ payoutScript: d.script, coinbaseTag: next.coinbaseTag })
      run.config = { ...run.config, coinbaseTag: next.coinbaseTag }
      const t = run.work.currentTemplate()
      if (t && payable) this.publish(run, t, true)
    }
    // Re-checking means a fresh look at the node: only when the address or its network changed.
    if (run.config.payoutAddress !== next.payoutAddress || run.config.network !== next.network) {
      run.config = { ...run.config, payoutAddress: next.payoutAddress, network: next.network }
      run.source.setPayoutCheck((net) => payoutProblem(next.payoutAddress, next.network, net))
    }
  }

  // -------------------------------------------------------------------------------------------
  // Start / stop

  /** Starts with the stored settings when the owner had left the pool running. Never throws. */
  async autoStart(): Promise<void> {
    const c = this.config.load()
    if (!c.enabled || !isConfigured(c)) return
    try {
      await this.start()
    } catch (e) {
      const message = e instanceof AppFailure ? e.message : String(e)
      this.ctx.events.append('warn', 'pool', `The pool could not start: ${message}`)
    }
  }

  start(): Promise<PoolStatus> {
    return this.serial(async () => {
      if (this.closed) throw new AppFailure('UNAVAILABLE', 'The core is shutting down.')
      if (this.running) return this.status()
      const cfg = this.config.load()
      if (!isConfigured(cfg) || cfg.payoutAddress === null) {
        throw new AppFailure(
          'INVALID_PARAMS',
          'The pool is not configured yet: set the node address and a payout address first (pool.setSettings).',
        )
      }
      const payout = decodePayoutAddress(cfg.payoutAddress, cfg.network)
      if (!payout.ok) throw new AppFailure('INVALID_PARAMS', payout.message, { field: 'payoutAddress' })
      const rpc = await this.makeRpc(cfg)
      let tlsMaterial: ReturnType<typeof ensurePoolCertificate> | undefined
      if (cfg.tls.enabled) {
        try {
          tlsMaterial = ensurePoolCertificate(join(this.ctx.dataDir, 'pool-tls'), this.log)
        } catch (e) {
          rpc.close()
          throw new AppFailure(
            'UNAVAILABLE',
            `The TLS certificate could not be written to the data folder: ${(e as Error).message}`,
          )
        }
        if (tlsMaterial.created) {
          this.ctx.events.append(
            'info',
            'pool',
            `A TLS certificate for stratum+ssl was created. Its SHA-256 fingerprint is ${tlsMaterial.fingerprintSha256}.`,
            { fingerprintSha256: tlsMaterial.fingerprintSha256 },
          )
        }
      }
      const work = new WorkFeed({
        payoutScript: payout.script,
        coinbaseTag: cfg.coinbaseTag,
        extranonce2Size: cfg.extranonce2Size,
      })
      const server = new StratumServer({
        work,
        network: cfg.network,
        logger: this.log,
        host: cfg.host,
        port: cfg.port,
        ...(tlsMaterial ? { tls: { cert: tlsMaterial.cert, key: tlsMaterial.key, port: cfg.tls.port } } : {}),
        extranonce2Size: cfg.extranonce2Size,
        payoutMode: cfg.allowMinerPayout ? 'miner' : 'pool',
        vardiff: { ...this.o.vardiff, ...cfg.vardiff },
        ...(this.o.limits ? { limits: this.o.limits } : {}),
        ...(this.o.storm ? { storm: this.o.storm } : {}),
        onShare: (e) => this.onShare(e),
        onBlockFound: (job, bytes, hashHex, finder) => this.onBlockFound(job, bytes, hashHex, finder),
        onAuthorize: (e) => this.onAuthorize(e),
      })
      let ports: { port: number; tlsPort?: number }
      try {
        ports = await server.listen()
      } catch (e) {
        rpc.close()
        throw listenFailure(e, cfg)
      }
      const now = Date.now()
      this.accounting.resetPool(now)
      this.abort = new AbortController()
      const run: Running = {
        config: cfg,
        rpc,
        source: undefined as unknown as TemplateSource,
        work,
        server,
        port: ports.port,
        tlsPort: ports.tlsPort,
        fingerprint: tlsMaterial?.fingerprintSha256,
        startedAtMs: now,
        removePorts: [],
        lastNodeState: '',
      }
      run.source = this.makeSource(run, rpc, cfg)
      this.running = run
      run.removePorts.push(this.ctx.addPort({ name: 'pool', protocol: 'stratum', host: cfg.host, port: ports.port }))
      if (ports.tlsPort !== undefined) {
        run.removePorts.push(
          this.ctx.addPort({ name: 'pool-tls', protocol: 'stratum+ssl', host: cfg.host, port: ports.tlsPort }),
        )
      }
      run.source.start()
      if (!cfg.enabled) this.config.save({ ...cfg, enabled: true })
      this.ctx.events.append(
        'info',
        'pool',
        `Pool started: stratum+tcp on ${cfg.host}:${ports.port}${
          ports.tlsPort !== undefined ? ` and stratum+ssl on port ${ports.tlsPort}` : ''
        }; work comes from the node at ${rpc.endpoint.display}.`,
      )
      // A block found just before a crash or while the node was away is submitted now.
      for (const b of this.blocks.unsubmitted(now - 2 * 3_600_000)) {
        const hex = this.blocks.blockHex(b.id)
        if (hex !== undefined) this.track(this.submitBlock(b.id, hex, b.hashHex, b.height, b.worker))
      }
      this.changed()
      return this.status()
    })
  }

  stop(): Promise<PoolStatus> {
    return this.serial(async () => {
      if (this.running) {
        const c = this.config.load()
        this.config.save({ ...c, enabled: false })
        await this.halt('stopped by the owner')
        this.ctx.events.append('info', 'pool', 'Pool stopped; miners were asked to reconnect.')
      }
      return this.status()
    })
  }

  /** The module stops (app shutdown): the pool stops but stays enabled for the next start. */
  close(): Promise<void> {
    return this.serial(async () => {
      this.closed = true
      await this.halt('the app is stopping')
      for (const t of this.timers) clearInterval(t)
      this.flush(true)
      this.writer.close()
    })
  }

  private async halt(why: string): Promise<void> {
    const run = this.running
    if (!run) return
    this.running = undefined
    this.abort.abort()
    await run.source.stop()
    await run.server.close({ reconnect: true, graceMs: this.o.closeGraceMs ?? 2000 })
    // Submits in flight get a moment to finish; anything left is resubmitted at the next start.
    await settledWithin([...this.inFlight], 5000)
    run.rpc.close()
    for (const off of run.removePorts) off()
    this.flush()
    this.log.info('pool stopped', { why })
    this.changed()
  }

  // -------------------------------------------------------------------------------------------
  // Node

  private async makeRpc(cfg: PoolConfig): Promise<NodeRpcClient> {
    let password: string | undefined
    if (cfg.node.user !== null) {
      password = await this.readPassword()
      if (password === undefined) {
        throw new AppFailure(
          'INVALID_PARAMS',
          `The RPC password for user "${cfg.node.user}" is not stored: set it again in the pool settings.`,
        )
      }
    }
    const r = NodeRpcClient.create({
      url: cfg.node.url,
      network: cfg.network,
      ...(cfg.node.user !== null && password !== undefined ? { user: cfg.node.user, password } : {}),
      ...(cfg.node.cookieFile !== null ? { cookieFile: cfg.node.cookieFile } : {}),
    })
    if (!r.ok) throw new AppFailure('INVALID_PARAMS', r.error.message, { field: 'node' })
    return r.value
  }

  private async readPassword(): Promise<string | undefined> {
    try {
      return await this.ctx.secrets.get(POOL_PASSWORD_REF)
    } catch (e) {
      this.log.warn('stored node password unreadable', { error: (e as Error).message })
      throw new AppFailure(
        'UNAVAILABLE',
        'The stored node password cannot be read on this host (it was saved by another one): enter it again.',
      )
    }
  }

  private makeSource(run: Running, rpc: NodeRpcClient, cfg: PoolConfig): TemplateSource {
    const source = new TemplateSource({
      rpc,
      payoutCheck: (net) => payoutProblem(cfg.payoutAddress, cfg.network, net),
      refreshIntervalMs: cfg.templateRefreshS * 1000,
      logger: this.log.child('node'),
      ...this.o.templateSource,
    })
    source.on('template', (ev) => {
      if (this.running !== run || run.source !== source) return
      this.publish(run, ev.template, ev.cleanJobs)
      if (ev.reason === 'new-block') this.recheckBlocks()
    })
    source.on('status', (s) => {
      if (this.running !== run || run.source !== source) return
      this.onNodeStatus(run, s)
    })
    return source
  }

  /** New node settings while running: a new client and template source; miners keep their job. */
  private async replaceSource(run: Running, next: PoolConfig): Promise<void> {
    const rpc = await this.makeRpc(next)
    const old = { source: run.source, rpc: run.rpc }
    run.config = {
      ...run.config,
      node: next.node,
      network: next.network,
      payoutAddress: next.payoutAddress,
      templateRefreshS: next.templateRefreshS,
    }
    run.rpc = rpc
    run.source = this.makeSource(run, rpc, run.config)
    run.lastNodeState = ''
    await old.source.stop()
    old.rpc.close()
    run.source.start()
  }

  private publish(run: Running, template: Parameters<WorkFeed['publish']>[0], clean: boolean): void {
    try {
      const startNs = process.hrtime.bigint()
      const cpu0 = process.cpuUsage()
      // Builds the job and writes its notify to every ready connection, synchronously.
      const job = run.work.publish(template, { clean })
      const cpu = process.cpuUsage(cpu0)
      this.lastBroadcast = {
        jobId: job.id,
        height: job.height,
        clean,
        connections: run.server.stats().ready,
        startNs,
        fanOutMs: Number(process.hrtime.bigint() - startNs) / 1e6,
        fanOutCpuMs: (cpu.user + cpu.system) / 1000,
      }
    } catch (e) {
      // A template the job builder refuses (a node bug, or a tag/payout that cannot fit): the
      // previous job stays current and the owner is told.
      const message = (e as Error).message
      this.log.error('template refused by the job builder', { height: template.height, error: message })
      this.ctx.events.append(
        'error',
        'pool',
        `The node's template for block ${template.height} cannot be mined: ${message}`,
      )
    }
    this.changed()
  }

  private onNodeStatus(run: Running, s: NodeStatus): void {
    this.changed()
    if (s.state === run.lastNodeState) return
    const first = run.lastNodeState === ''
    run.lastNodeState = s.state
    if (s.state === 'starting' || s.state === 'stopped') return
    if (s.state === 'connected') {
      if (!first || s.height !== undefined) this.ctx.events.append('info', 'pool', `Node: ${s.message}`)
      return
    }
    this.ctx.events.append('warn', 'pool', `Node: ${s.message} Miners stay connected on the last job.`, {
      state: s.state,
    })
  }

  testNode(input: {
    url?: string | undefined
    user?: string | null | undefined
    password?: string | null | undefined
    cookieFile?: string | null | undefined
    network?: PoolConfig['network'] | undefined
  }): Promise<NodeCheck> {
    return (async () => {
      const c = this.config.load()
      const url = input.url ?? c.node.url
      const user = input.user !== undefined ? input.user : c.node.user
      const cookieFile = input.cookieFile !== undefined ? input.cookieFile : c.node.cookieFile
      const network = input.network ?? c.network
      const blank = { chain: null, network: null, height: null, headers: null, templateOk: false }
      if (url === '') {
        return {
          ...blank,
          ok: false,
          state: 'config' as const,
          message: 'No node address: enter the node RPC address, e.g. http://127.0.0.1:8332.',
        }
      }
      let password: string | undefined
      if (user !== null) {
        password = input.password !== undefined ? (input.password ?? undefined) : await this.readPassword()
        if (password === undefined) {
          return {
            ...blank,
            ok: false,
            state: 'config' as const,
            message: `No RPC password for user "${user}": enter the node's rpcpassword.`,
          }
        }
      }
      return checkNode(
        {
          url,
          network,
          ...(user !== null && password !== undefined ? { user, password } : {}),
          ...(cookieFile !== null ? { cookieFile } : {}),
        },
        c.payoutAddress,
        this.o.testNodeTimeoutMs ?? 10_000,
      )
    })()
  }

  // -------------------------------------------------------------------------------------------
  // Miners, shares, blocks

  private onAuthorize(e: AuthorizeEvent): void {
    this.accounting.noteWorker(e.worker, e.userAgent, e.remoteAddress, Date.now(), e.connectionId)
    noteMinerConnected({ remoteIp: e.remoteAddress, worker: e.worker, userAgent: e.userAgent })
    this.changed()
  }

  private onShare(e: ShareEvent): void {
    this.accounting.onShare(e)
    this.shareFeed.push(e)
    this.dirty = true
    if (e.accepted && !this.firstShareNoted.has(e.connectionId)) {
      // Once per connection: the Fleet shows "first share accepted at difficulty X" for the device.
      this.firstShareNoted.add(e.connectionId)
      if (this.firstShareNoted.size > 100_000) this.firstShareNoted.clear()
      noteShareAccepted({ remoteIp: e.remoteAddress, worker: e.worker, difficulty: e.difficulty })
    }
  }

  /** Connections whose first accepted share was reported to the devices module (bounded). */
  private readonly firstShareNoted = new Set<number>()

  private onBlockFound(job: Job, blockBytes: Buffer, hashHex: string, finder: BlockFinder): void {
    const now = Date.now()
    const hex = blockBytes.toString('hex')
    let id = 0
    try {
      id = this.blocks.insertFound({
        foundAtMs: now,
        height: job.height,
        hashHex,
        worker: finder.worker,
        remoteAddress: finder.remoteAddress,
        userAgent: finder.userAgent,
        staleShare: finder.stale,
        coinbaseValueSats: job.coinbaseValueSats,
        blockHex: hex,
      })
    } catch (e) {
      // The store failed: the block goes to the node anyway, and every byte of it to the log.
      this.log.error('BLOCK FOUND but it could not be stored', { hashHex, block: hex, error: String(e) })
    }
    this.accounting.onBlock(finder.worker, now)
    this.lastBlock = { height: job.height, hashHex, foundAtMs: now }
    this.ctx.events.append(
      'info',
      'pool',
      `Block candidate at height ${job.height} found by ${finder.worker}; submitting it to the node.`,
      { hashHex, height: job.height, worker: finder.worker },
    )
    this.track(this.submitBlock(id, hex, hashHex, job.height, finder.worker))
    this.changed()
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((e: unknown) => {
      this.log.error('block submission failed unexpectedly', { error: (e as Error).stack ?? String(e) })
    })
    this.inFlight.add(guarded)
    void guarded.finally(() => this.inFlight.delete(guarded))
  }

  private async submitBlock(id: number, hex: string, hashHex: string, height: number, worker: string): Promise<void> {
    const attempts = this.o.submitAttempts ?? 6
    let delayMs = this.o.submitRetryMs ?? 2000
    const signal = this.abort.signal
    for (let i = 0; i < attempts; i++) {
      const rpc = this.running?.rpc
      // Stopped: the block stays 'pending' in the store and is submitted at the next start.
      if (!rpc || signal.aborted) return
      const r = await rpc.submitBlock(hex)
      const at = Date.now()
      if (!r.ok) {
        if (r.error.code === 'NODE_CANCELLED') return
        if (id > 0) this.blocks.setSubmit(id, 'error', r.error.code, r.error.message, at)
        const retry = (r.error.code === 'NODE_UNREACHABLE' || r.error.code === 'NODE_WARMUP') && i < attempts - 1
        if (!retry) {
          this.ctx.events.append(
            'error',
            'pool',
            `Block at height ${height} could not be submitted: ${r.error.message} It is kept and submitted again when the pool restarts.`,
            { hashHex, height },
          )
          this.changed()
          return
        }
        await sleep(delayMs, signal)
        delayMs *= 2
        continue
      }
      const o = r.value
      const reason = o.status === 'rejected' ? o.reason : null
      const message =
        o.status === 'accepted'
          ? 'The node accepted the block.'
          : o.status === 'duplicate'
            ? 'The node already had this block.'
            : o.message
      if (id > 0) this.blocks.setSubmit(id, o.status, reason, message, at)
      if (o.status === 'rejected') {
        this.ctx.events.append(
          'error',
          'pool',
          `Block at height ${height} was REJECTED by the node (${o.reason}): ${o.message}`,
          {
            hashHex,
            height,
            worker,
            reason: o.reason,
          },
        )
      } else {
        const where = await this.confirm(id, hashHex)
        this.ctx.events.append(
          'info',
          'pool',
          `Block found at height ${height} by ${worker}: ${message}${where ? ` ${where}` : ''}`,
          { hashHex, height, worker, submit: o.status },
        )
      }
      this.running?.source.refreshNow()
      this.changed()
      return
    }
  }

  /** Asks the node where a submitted block stands; returns a sentence for the event, if any. */
  private async confirm(id: number, hashHex: string): Promise<string | undefined> {
    const rpc = this.running?.rpc
    if (!rpc || id <= 0) return undefined
    const c = await rpc.confirmBlock(hashHex)
    if (!c.ok) {
      this.log.debug('block confirmation failed', { hashHex, error: c.error.message })
      return undefined
    }
    const v = c.value
    this.blocks.setConfirmation(id, v.state, v.state === 'in-chain' ? v.confirmations : null, Date.now())
    if (v.state === 'in-chain')
      return `It is in the chain (${v.confirmations} confirmation${v.confirmations === 1 ? '' : 's'}).`
    if (v.state === 'stale') return 'Another block at that height won: it is stale.'
    return 'The node does not know it (yet).'
  }

  /** After a new block: update confirmations of our recent blocks. */
  private recheckBlocks(): void {
    for (const b of this.blocks.toConfirm(Date.now() - 2 * 86_400_000, 100, 10)) {
      this.track(this.confirm(b.id, b.hashHex).then(() => this.changed()))
    }
  }

  // -------------------------------------------------------------------------------------------
  // Views

  status(): PoolStatus {
    const now = Date.now()
    const run = this.running
    const c = run?.config ?? this.config.load()
    const configured = isConfigured(this.config.load())
    const node = run
      ? nodeView(run.source.status, now)
      : {
          state: 'off' as const,
          message: configured
            ? 'The pool is stopped.'
            : 'The pool is not configured: set the node address and a payout address.',
          errorCode: null,
          chain: null,
          height: null,
          headers: null,
          templateHeight: null,
          lastTemplateAtMs: null,
          templateAgeS: null,
          sinceMs: now,
        }
    const job = run?.work.current()
    const live = run ? run.server.connections() : []
    const names = new Set<string>()
    for (const x of live) for (const w of x.workers) names.add(w)
    const st = run?.server.stats()
    const t = this.accounting.totals
    return {
      tsMs: now,
      running: run !== undefined,
      configured,
      startedAtMs: run?.startedAtMs ?? null,
      node,
      ports: run
        ? [
            { protocol: 'stratum' as const, host: c.host, port: run.port },
            ...(run.tlsPort !== undefined
              ? [{ protocol: 'stratum+ssl' as const, host: c.host, port: run.tlsPort }]
              : []),
          ]
        : [],
      tls: {
        enabled: run ? run.tlsPort !== undefined : c.tls.enabled,
        port: run ? (run.tlsPort ?? null) : c.tls.enabled ? c.tls.port : null,
        fingerprintSha256: run?.fingerprint ?? null,
      },
      payout: { address: c.payoutAddress, network: c.network, minerPayout: c.allowMinerPayout },
      job: job
        ? {
            id: job.id,
            height: job.height,
            transactions: job.transactions.length,
            coinbaseValueSats: job.coinbaseValueSats,
            networkDifficulty: job.networkDifficulty,
          }
        : null,
      miners: { connections: st?.connections ?? 0, ready: st?.ready ?? 0, workers: names.size },
      shares: run
        ? {
            accepted: t.accepted,
            rejected: t.rejected,
            stale: t.stale,
            diffAccepted: t.diffAccepted,
            bestShareDifficulty: t.bestShareDifficulty,
          }
        : { accepted: 0, rejected: 0, stale: 0, diffAccepted: 0, bestShareDifficulty: 0 },
      hashrateHs: run ? this.accounting.poolRates(now) : EMPTY_RATES,
      blocksFound: this.blocks.count(),
      lastBlock: this.lastBlock,
    }
  }

  connections(limit = Number.POSITIVE_INFINITY): PoolConnection[] {
    const run = this.running
    if (!run) return []
    const now = Date.now()
    const out: PoolConnection[] = []
    for (const c of run.server.connections()) {
      if (out.length >= limit) break
      out.push(this.connectionView(c, now))
    }
    return out
  }

  private connectionView(c: ConnectionInfo, now: number): PoolConnection {
    const byReason: Record<string, number> = {}
    for (const [k, v] of Object.entries(c.rejectedByReason)) if (v !== undefined) byReason[k] = v
    return {
      id: c.id,
      transport: c.transport,
      remoteAddress: c.remoteAddress,
      userAgent: c.userAgent,
      worker: c.workers[0] ?? '',
      workers: c.workers,
      connectedAtMs: c.connectedAtMs,
      subscribed: c.subscribed,
      difficulty: c.difficulty,
      versionMask: c.versionMask === undefined ? null : c.versionMask.toString(16).padStart(8, '0'),
      accepted: c.accepted,
      rejected: c.rejected,
      rejectedByReason: byReason,
      stale: c.stale,
      diffAccepted: c.diffAccepted,
      bestShareDifficulty: c.bestShareDifficulty,
      lastShareTsMs: c.lastShareTsMs ?? null,
      lastLatencyMs: c.lastSubmitLatencyMs ?? null,
      avgLatencyMs: c.avgSubmitLatencyMs ?? null,
      hashrateHs: this.accounting.connectionRates(c.id, now),
    }
  }

  kick(id: number): boolean {
    const ok = this.running?.server.kick(id) ?? false
    if (ok) this.changed()
    return ok
  }

  workers(limit = Number.POSITIVE_INFINITY): PoolWorker[] {
    const now = Date.now()
    const liveCount = new Map<string, number>()
    for (const c of this.running?.server.connections() ?? []) {
      for (const w of c.workers) liveCount.set(w, (liveCount.get(w) ?? 0) + 1)
    }
    return this.accounting
      .workerTotals()
      .sort((a, b) => (b.lastShareTsMs ?? b.firstSeenMs) - (a.lastShareTsMs ?? a.firstSeenMs))
      .slice(0, limit)
      .map((t) => ({
        worker: t.worker,
        connections: liveCount.get(t.worker) ?? 0,
        firstSeenMs: t.firstSeenMs,
        accepted: t.accepted,
        rejected: t.rejected,
        rejectedByReason: { ...t.rejectedByReason },
        stale: t.stale,
        diffAccepted: t.diffAccepted,
        diffRejected: t.diffRejected,
        bestShareDifficulty: t.bestShareDifficulty,
        blocks: t.blocks,
        lastShareTsMs: t.lastShareTsMs,
        avgLatencyMs: t.latencyCount === 0 ? null : t.latencySumMs / t.latencyCount,
        userAgent: t.userAgent,
        remoteAddress: t.remoteAddress,
        hashrateHs: this.accounting.workerRates(t.worker, now),
      }))
  }

  history(q: HistoryQuery): Array<MinuteRow & { hashrateHs: number }> {
    // Rows of the minute in progress are still in memory: write them first.
    this.flush(true)
    return this.stats.history(q).map((r) => ({ ...r, hashrateHs: (r.diffAccepted * 2 ** 32) / 60 }))
  }

  replayShares(sinceSeq?: number): ShareFrame[] | 'gone' {
    return this.shareFeed.replay(sinceSeq)
  }
}

function nodeView(s: NodeStatus, now: number): PoolStatus['node'] {
  return {
    state: s.state,
    message: s.message,
    errorCode: s.errorCode ?? null,
    chain: s.chain ?? null,
    height: s.height ?? null,
    headers: s.headers ?? null,
    templateHeight: s.templateHeight ?? null,
    lastTemplateAtMs: s.lastTemplateAtMs ?? null,
    templateAgeS: s.lastTemplateAtMs === undefined ? null : Math.max(0, (now - s.lastTemplateAtMs) / 1000),
    sinceMs: s.sinceMs,
  }
}

/** Turns a listen() failure into a sentence the owner can act on. */
export function listenFailure(e: unknown, cfg: Pick<PoolConfig, 'host' | 'port' | 'tls'>): AppFailure {
  const err = e as NodeJS.ErrnoException & { port?: number }
  const port = err.port ?? cfg.port
  const which = cfg.tls.enabled && port === cfg.tls.port ? 'the TLS port' : 'the stratum port'
  switch (err.code) {
    case 'EADDRINUSE':
      return new AppFailure(
        'CONFLICT',
        `Port ${port} (${which}) is already in use on ${cfg.host}: another pool, another program or a second Hashyard has it. Choose another port in the pool settings or stop that program.`,
        { port },
      )
    case 'EACCES':
      return new AppFailure(
        'FORBIDDEN',
        `Port ${port} (${which}) needs administrator rights on this system: choose a port above 1023 (3333 is the usual stratum port).`,
        { port },
      )
    case 'EADDRNOTAVAIL':
      return new AppFailure(
        'INVALID_PARAMS',
        `${cfg.host} is not an address of this computer: use 0.0.0.0 to listen on every interface.`,
        { host: cfg.host },
      )
    default:
      return new AppFailure('UNAVAILABLE', `The stratum listener could not start: ${err.message ?? String(e)}`)
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done(): void {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Waits for the promises to settle, or `ms` at most (the timer never outlives the wait). */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms)
    }),
  ])
  if (timer) clearTimeout(timer)
}
