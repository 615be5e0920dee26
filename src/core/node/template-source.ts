import { EventEmitter } from 'node:events'
import type { Logger } from '../logger'
import { type AddressNetwork, checkPayoutNetwork } from './chain'
import type { NodeEndpoint } from './endpoint'
import { type NodeError, type NodeErrorCode, nodeError } from './errors'
import type { BlockchainInfo, BlockTemplate } from './messages'
import type { CallOptions, RpcResult } from './rpc-client'

export { checkPayoutNetwork } from './chain'

/** The part of NodeRpcClient the template source uses. */
export interface TemplateRpc {
  readonly endpoint: Pick<NodeEndpoint, 'display'>
  getBlockchainInfo(options?: CallOptions): Promise<RpcResult<BlockchainInfo>>
  getBlockTemplate(
    request?: { longpollid?: string; rules?: string[] },
    options?: CallOptions,
  ): Promise<RpcResult<BlockTemplate>>
  getBestBlockHash(options?: CallOptions): Promise<RpcResult<string>>
}

export type NodeState =
  | 'starting'
  | 'connected'
  | 'unreachable'
  | 'auth'
  | 'warmup'
  | 'syncing'
  | 'wrong-network'
  | 'error'
  | 'stopped'

/** What the API and UI show about the node. Always has a plain-English `message`. */
export interface NodeStatus {
  state: NodeState
  message: string
  errorCode?: NodeErrorCode | 'NODE_WRONG_NETWORK'
  /** As getblockchaininfo says it: 'main' | 'test' | 'testnet4' | 'signet' | 'regtest'. */
  chain?: string
  network?: AddressNetwork
  /** The node's tip height (`blocks`) at the last check. */
  height?: number
  headers?: number
  /** Height of the block the current template builds. */
  templateHeight?: number
  lastTemplateAtMs?: number
  /** When `state` last changed. */
  sinceMs: number
}

export type TemplateReason = 'initial' | 'new-block' | 'refresh'

export interface TemplateEvent {
  template: BlockTemplate
  reason: TemplateReason
  /** True when miners must drop their work: the first template, and whenever the previous block changed. */
  cleanJobs: boolean
  receivedAtMs: number
}

export interface TemplateSourceEvents {
  template: [TemplateEvent]
  status: [NodeStatus]
}

export interface Clock {
  now(): number
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
}

export interface TemplateSourceOptions {
  rpc: TemplateRpc
  /**
   * Checks the payout address against the node's network; returns null when it is usable or a
   * plain-English reason. While it fails, no template is emitted (status 'wrong-network').
   */
  payoutCheck?: (network: AddressNetwork) => string | null
  /** getbestblockhash poll, the fallback new-block detector. Default 500 ms. */
  pollIntervalMs?: number
  /** Template refresh for new transactions (also the miners' keepalive). Default 30 s. */
  refreshIntervalMs?: number
  /** Use getblocktemplate long-polling. Default true. */
  longPoll?: boolean
  /** A held long-poll is re-issued after this long; Core may hold one indefinitely. Default 120 s. */
  longPollTimeoutMs?: number
  /** Timeout of the short calls (status, poll, template). Default: the client's own. */
  callTimeoutMs?: number
  /** Retry delay while the node is down / syncing: doubles from initial to max. Defaults 1 s, 15 s. */
  retryInitialMs?: number
  retryMaxMs?: number
  clock?: Clock
  logger?: Logger
}

/**
 * Keeps the current block template of one node and says how the node is doing.
 *
 * New blocks are detected by a getblocktemplate long-poll plus a light getbestblockhash poll (so a
 * node that does not answer long-polls promptly, or a long-poll lost in transit, still gives a new
 * tip within one poll interval); templates are refreshed periodically for new transactions. Never
 * throws: every node problem becomes a `status` event, and it keeps retrying with backoff until
 * `stop()`.
 */
export class TemplateSource extends EventEmitter<TemplateSourceEvents> {
  private readonly rpc: TemplateRpc
  private readonly clock: Clock
  private readonly pollIntervalMs: number
  private readonly refreshIntervalMs: number
  private readonly longPollEnabled: boolean
  private readonly longPollTimeoutMs: number
  private readonly retryInitialMs: number
  private readonly retryMaxMs: number
  private readonly callOptions: CallOptions
  private readonly logger: Logger | undefined
  private payoutCheck: ((network: AddressNetwork) => string | null) | undefined

  private currentStatus: NodeStatus
  private currentTemplate: BlockTemplate | undefined
  private started = false
  private stopped = false
  /** Bumped whenever the running phase starts or ends, so late callbacks of an old phase do nothing. */
  private epoch = 0
  private running = false
  private retryDelayMs: number
  private abort = new AbortController()
  private readonly timers = new Set<unknown>()
  private readonly inFlight = new Set<Promise<unknown>>()
  private fetchSeq = 0
  private appliedSeq = 0
  private fetching = false
  private fetchAgain: TemplateReason | undefined
  private pollTimer: unknown
  private refreshTimer: unknown
  private retryTimer: unknown

  constructor(options: TemplateSourceOptions) {
    super()
    this.rpc = options.rpc
    this.clock = options.clock ?? realClock
    this.pollIntervalMs = options.pollIntervalMs ?? 500
    this.refreshIntervalMs = options.refreshIntervalMs ?? 30_000
    this.longPollEnabled = options.longPoll ?? true
    this.longPollTimeoutMs = options.longPollTimeoutMs ?? 120_000
    this.retryInitialMs = options.retryInitialMs ?? 1_000
    this.retryMaxMs = options.retryMaxMs ?? 15_000
    this.retryDelayMs = this.retryInitialMs
    this.callOptions = options.callTimeoutMs === undefined ? {} : { timeoutMs: options.callTimeoutMs }
    this.logger = options.logger
    this.payoutCheck = options.payoutCheck
    this.currentStatus = {
      state: 'starting',
      message: `Connecting to the node at ${this.rpc.endpoint.display}…`,
      sinceMs: this.clock.now(),
    }
  }

  get status(): NodeStatus {
    return this.currentStatus
  }

  /** The last template emitted, if any (kept while the node is down so miners keep working). */
  get template(): BlockTemplate | undefined {
    return this.currentTemplate
  }

  start(): void {
    if (this.started || this.stopped) return
    this.started = true
    this.track(this.connect())
  }

  /** Re-checks the payout address (e.g. after the owner changed it) on the next connection check. */
  setPayoutCheck(check: ((network: AddressNetwork) => string | null) | undefined): void {
    this.payoutCheck = check
    if (this.started && !this.stopped) this.reconnectSoon()
  }

  /** Fetches a template now (e.g. after our own block was accepted), if connected. */
  refreshNow(): void {
    if (this.running) this.requestTemplate('refresh')
  }

  /** Cancels timers and in-flight calls; resolves when nothing of this source is left running. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.running = false
    this.epoch++
    for (const t of this.timers) this.clock.clearTimeout(t)
    this.timers.clear()
    this.abort.abort()
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.setStatus({ state: 'stopped', message: 'Not connected to a node (stopped).' })
  }

  // ── connection phase ────────────────────────────────────────────────────────────────────────

  /** Status check then first template; on success enters the running phase, else retries later. */
  private async connect(): Promise<void> {
    if (this.stopped) return
    const epoch = this.epoch
    const info = await this.rpc.getBlockchainInfo(this.opts())
    if (this.stopped || epoch !== this.epoch) return
    if (!info.ok) return this.failAndRetry(info.error)
    if (!this.acceptChainInfo(info.value)) return this.scheduleRetry()
    const seq = ++this.fetchSeq
    const t = await this.rpc.getBlockTemplate({}, this.opts())
    if (this.stopped || epoch !== this.epoch) return
    if (!t.ok) return this.failAndRetry(t.error)
    this.retryDelayMs = this.retryInitialMs
    this.enterRunning(t.value, seq)
  }

  /** Updates status from getblockchaininfo; false when mining must wait (syncing, wrong network). */
  private acceptChainInfo(info: BlockchainInfo): boolean {
    const facts = { chain: info.chain, height: info.blocks, headers: info.headers }
    const net = checkPayoutNetwork(info.chain)
    if (!net.ok) {
      this.setStatus({ state: 'wrong-network', message: net.error.message, errorCode: 'NODE_WRONG_NETWORK', ...facts })
      return false
    }
    const network = net.value
    const problem = this.payoutCheck?.(network) ?? null
    if (problem !== null) {
      this.setStatus({ state: 'wrong-network', message: problem, errorCode: 'NODE_WRONG_NETWORK', network, ...facts })
      return false
    }
    // A fresh regtest chain reports initialblockdownload until a block is mined, yet Core serves
    // templates on test chains regardless (rpc/mining.cpp skips the IBD guard): ignore the flag there.
    // One header ahead of blocks is the normal moment between receiving a block's header and connecting it.
    const behind = info.headers - info.blocks
    if ((network !== 'regtest' && info.initialblockdownload) || behind > 1) {
      const pct = info.verificationprogress === undefined ? '' : `, ${(info.verificationprogress * 100).toFixed(1)} %`
      this.setStatus({
        state: 'syncing',
        message: `The node is still syncing (block ${info.blocks} of ${info.headers}${pct}); mining starts when it has caught up.`,
        errorCode: 'NODE_SYNCING',
        network,
        ...facts,
      })
      return false
    }
    const s = this.currentStatus
    this.setStatus({
      state: s.state === 'connected' ? 'connected' : s.state,
      message: s.state === 'connected' ? this.connectedMessage(network, info.blocks) : s.message,
      network,
      ...facts,
    })
    return true
  }

  private failAndRetry(error: NodeError): void {
    if (error.code === 'NODE_CANCELLED') return
    this.setStatus(statusOfError(error))
    this.scheduleRetry()
  }

  private scheduleRetry(): void {
    if (this.stopped) return
    const delay = this.retryDelayMs
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, this.retryMaxMs)
    this.clearTimer(this.retryTimer)
    this.retryTimer = this.later(delay, () => this.track(this.connect()))
  }

  /** Leaves the running phase (if in it) and checks the node again right away. */
  private reconnectSoon(): void {
    this.leaveRunning()
    // Also invalidate a connection attempt in flight, so only the new one can enter the running phase.
    this.epoch++
    this.abort.abort()
    this.abort = new AbortController()
    this.clearTimer(this.retryTimer)
    this.retryTimer = this.later(0, () => this.track(this.connect()))
  }

  // ── running phase ───────────────────────────────────────────────────────────────────────────

  private enterRunning(first: BlockTemplate, seq: number): void {
    this.running = true
    const epoch = ++this.epoch
    // Applied after the epoch bump so the refresh it schedules belongs to this running phase.
    this.applyTemplate(first, seq)
    this.schedulePoll(epoch)
    if (this.longPollEnabled) this.track(this.longPollLoop(epoch))
  }

  private leaveRunning(): void {
    if (!this.running) return
    this.running = false
    this.epoch++
    this.clearTimer(this.pollTimer)
    this.clearTimer(this.refreshTimer)
    // Cancel the held long-poll; a fresh controller serves the next running phase.
    this.abort.abort()
    this.abort = new AbortController()
  }

  /** A call failed while running: report it, stop the loops, and go back to connecting with backoff. */
  private lost(error: NodeError): void {
    if (error.code === 'NODE_CANCELLED' || this.stopped) return
    this.logger?.warn('node connection lost', { code: error.code, message: error.message })
    this.leaveRunning()
    this.failAndRetry(error)
  }

  private schedulePoll(epoch: number): void {
    this.pollTimer = this.later(this.pollIntervalMs, () => this.track(this.poll(epoch)))
  }

  private async poll(epoch: number): Promise<void> {
    const r = await this.rpc.getBestBlockHash(this.opts())
    if (epoch !== this.epoch) return
    if (!r.ok) return this.lost(r.error)
    if (this.currentTemplate !== undefined && r.value !== this.currentTemplate.previousblockhash) {
      this.requestTemplate('new-block')
    }
    this.schedulePoll(epoch)
  }

  private async longPollLoop(epoch: number): Promise<void> {
    let failDelayMs = this.retryInitialMs
    while (epoch === this.epoch) {
      const longpollid = this.currentTemplate?.longpollid
      // A node without long-poll support leaves the work to the poll and the refresh.
      if (longpollid === undefined) return
      const r = await this.rpc.getBlockTemplate(
        { longpollid },
        { timeoutMs: this.longPollTimeoutMs, signal: this.abort.signal, dedicatedConnection: true },
      )
      if (epoch !== this.epoch) return
      if (r.ok) {
        failDelayMs = this.retryInitialMs
        // Numbered on arrival, not when sent: the node built this answer just now, while a
        // held request's send time says nothing about how fresh its answer is.
        this.applyTemplate(r.value, ++this.fetchSeq)
        continue
      }
      if (r.error.code === 'NODE_CANCELLED') return
      // A long-poll held past our timeout just means nothing happened: ask again. Other failures
      // are reported by the poll; here we only avoid spinning.
      if (r.error.details?.reason === 'timeout') continue
      this.logger?.debug('long-poll failed', { code: r.error.code, message: r.error.message })
      await this.sleep(failDelayMs)
      failDelayMs = Math.min(failDelayMs * 2, this.retryMaxMs)
    }
  }

  /** One template fetch at a time; a request during a fetch runs once more after it. */
  private requestTemplate(reason: TemplateReason): void {
    if (this.fetching) {
      if (this.fetchAgain !== 'new-block') this.fetchAgain = reason
      return
    }
    this.fetching = true
    this.track(this.fetchTemplate(reason, this.epoch))
  }

  private async fetchTemplate(reason: TemplateReason, epoch: number): Promise<void> {
    try {
      if (reason === 'refresh') {
        // The periodic refresh also re-reads the chain state, so a node falling back into
        // initial download (or the owner changing the payout network) shows up here.
        const info = await this.rpc.getBlockchainInfo(this.opts())
        if (epoch !== this.epoch) return
        if (!info.ok) return this.lost(info.error)
        if (!this.acceptChainInfo(info.value)) {
          this.leaveRunning()
          return this.scheduleRetry()
        }
      }
      const seq = ++this.fetchSeq
      const t = await this.rpc.getBlockTemplate({}, this.opts())
      if (epoch !== this.epoch) return
      if (!t.ok) return this.lost(t.error)
      this.applyTemplate(t.value, seq)
    } finally {
      this.fetching = false
      const again = this.fetchAgain
      this.fetchAgain = undefined
      if (again !== undefined && this.running) this.requestTemplate(again)
    }
  }

  /**
   * Emits a template unless a newer one was already applied. Short fetches are numbered when sent
   * and long-poll answers when they arrive, so a refresh sent before a block but answered after
   * the long-poll's new-block template cannot take the pool back to the old tip.
   */
  private applyTemplate(template: BlockTemplate, seq: number): void {
    if (seq <= this.appliedSeq) return
    this.appliedSeq = seq
    const previous = this.currentTemplate
    const reason: TemplateReason =
      previous === undefined
        ? 'initial'
        : previous.previousblockhash !== template.previousblockhash
          ? 'new-block'
          : 'refresh'
    this.currentTemplate = template
    const nowMs = this.clock.now()
    this.scheduleRefresh(reason === 'new-block' ? this.refreshIntervalMs / 2 : this.refreshIntervalMs)
    this.setStatus({
      state: 'connected',
      message: this.connectedMessage(this.currentStatus.network, template.height - 1),
      height: template.height - 1,
      templateHeight: template.height,
      lastTemplateAtMs: nowMs,
    })
    this.safeEmit('template', { template, reason, cleanJobs: reason !== 'refresh', receivedAtMs: nowMs })
  }

  /**
   * After a new block the refresh comes at half the interval: the first template after a block
   * is often nearly empty, and a fuller one soon after is worth fees (ckpool does the same).
   */
  private scheduleRefresh(delayMs: number): void {
    this.clearTimer(this.refreshTimer)
    const epoch = this.epoch
    this.refreshTimer = this.later(delayMs, () => {
      if (epoch === this.epoch && this.running) this.requestTemplate('refresh')
    })
  }

  // ── plumbing ────────────────────────────────────────────────────────────────────────────────

  private connectedMessage(network: AddressNetwork | undefined, height: number): string {
    const net = network === undefined ? '' : `${network} `
    return `Connected to the ${net}node at ${this.rpc.endpoint.display}; tip at height ${height}.`
  }

  private setStatus(patch: Partial<NodeStatus> & Pick<NodeStatus, 'state' | 'message'>): void {
    const prev = this.currentStatus
    const stateChanged = patch.state !== prev.state
    const next: NodeStatus = { ...prev, ...patch, sinceMs: stateChanged ? this.clock.now() : prev.sinceMs }
    if (next.state === 'connected' || next.state === 'stopped') delete next.errorCode
    const changed = (Object.keys(next) as (keyof NodeStatus)[]).some((k) => next[k] !== prev[k]) || stateChanged
    if (!changed) return
    this.currentStatus = next
    if (stateChanged) this.logger?.info('node status', { state: next.state, message: next.message })
    this.safeEmit('status', next)
  }

  private safeEmit(event: 'template', payload: TemplateEvent): void
  private safeEmit(event: 'status', payload: NodeStatus): void
  private safeEmit(event: 'template' | 'status', payload: TemplateEvent | NodeStatus): void {
    try {
      if (event === 'template') this.emit('template', payload as TemplateEvent)
      else this.emit('status', payload as NodeStatus)
    } catch (e) {
      // A listener's bug must not break the node loops; it is logged where the owner can see it.
      this.logger?.error('template source listener threw', { event, error: e instanceof Error ? e.message : String(e) })
    }
  }

  private opts(): CallOptions {
    return { ...this.callOptions, signal: this.abort.signal }
  }

  private later(ms: number, fn: () => void): unknown {
    const handle: unknown = this.clock.setTimeout(() => {
      this.timers.delete(handle)
      if (!this.stopped) fn()
    }, ms)
    this.timers.add(handle)
    return handle
  }

  private clearTimer(handle: unknown): void {
    if (handle === undefined) return
    this.clock.clearTimeout(handle)
    this.timers.delete(handle)
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.abort.signal
      const handle = this.later(ms, () => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      })
      const onAbort = (): void => {
        this.clearTimer(handle)
        resolve()
      }
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  private track(p: Promise<void>): void {
    const guarded = p.catch((e: unknown) => {
      // Nothing in the loops is expected to throw; if something does, report it as a status and retry.
      const message = e instanceof Error ? e.message : String(e)
      this.logger?.error('template source failed unexpectedly', { message })
      if (!this.stopped) this.lost(nodeError('NODE_BAD_RESPONSE', `Unexpected failure: ${message}`))
    })
    this.inFlight.add(guarded)
    void guarded.finally(() => this.inFlight.delete(guarded))
  }
}

const STATE_OF_CODE: Record<NodeErrorCode, NodeState> = {
  NODE_CONFIG: 'error',
  NODE_UNREACHABLE: 'unreachable',
  NODE_AUTH: 'auth',
  NODE_WARMUP: 'warmup',
  NODE_SYNCING: 'syncing',
  NODE_RPC_ERROR: 'error',
  NODE_BAD_RESPONSE: 'error',
  NODE_CANCELLED: 'error',
}

function statusOfError(error: NodeError): Pick<NodeStatus, 'state' | 'message' | 'errorCode'> {
  return { state: STATE_OF_CODE[error.code], message: error.message, errorCode: error.code }
}
