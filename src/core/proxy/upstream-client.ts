/**
 * One Stratum V1 session to an upstream pool, kept alive: connect (TCP or TLS) → `mining.configure`
 * (version rolling with the mask our miners need) → `mining.subscribe` (offering the previous
 * session id for resume) → `mining.extranonce.subscribe` → `mining.authorize`; then `set_difficulty`,
 * `notify`, `set_extranonce`, `set_version_mask` and `client.reconnect` from the pool, and
 * `mining.submit` from us. On any failure it reconnects with exponential backoff and jitter.
 *
 * Robustness (issue 3): every byte from the pool goes through the bounded `LineDecoder`; a
 * malformed line or message is logged and causes a reconnect, never an exception. Nothing here
 * throws out of a socket callback.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { Logger } from '../logger'
import { type DecodedItem, LineDecoder } from '../stratum/codec'
import { encodeError, encodeResult, hex32 } from '../stratum/messages'
import { Emitter } from './emitter'
import type { PoolEndpoint } from './pool-url'
import {
  classifySubmitReply,
  encodeRequest,
  parseConfigureResult,
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetExtranonce,
  parseSetVersionMask,
  parseSubscribeResult,
  type SubmitVerdict,
  type UpstreamNotify,
} from './upstream-messages'

export interface UpstreamTiming {
  /** TCP (+TLS) connect. Default 10 s. */
  connectTimeoutMs: number
  /** From connected to authorized. Default 15 s. */
  handshakeTimeoutMs: number
  /** A submit or handshake request unanswered this long = the pool stopped answering. Default 30 s. */
  responseTimeoutMs: number
  /** Nothing received for this long → send a probe (`mining.ping`). 0 disables. Default 60 s. */
  keepaliveMs: number
  /** Nothing at all received for this long → reconnect. Default 180 s. */
  idleTimeoutMs: number
  /** First retry delay; doubles per failure up to `backoffMaxMs`, each with ±50 % jitter. Default 1 s. */
  backoffInitialMs: number
  /** Default 60 s. */
  backoffMaxMs: number
  /** Cap on the wait a pool may ask for in `client.reconnect`. Default 60 s. */
  maxRedirectWaitMs: number
  /** Housekeeping period. Default 1 s. */
  tickMs: number
}

export const DEFAULT_UPSTREAM_TIMING: UpstreamTiming = {
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 15_000,
  responseTimeoutMs: 30_000,
  keepaliveMs: 60_000,
  idleTimeoutMs: 180_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 60_000,
  maxRedirectWaitMs: 60_000,
  tickMs: 1_000,
}

export interface UpstreamClientOptions {
  endpoint: PoolEndpoint
  /** The session's own user (the first `mining.authorize`); per-device names are added with `authorize`. */
  user: string
  password: string
  logger: Logger
  userAgent?: string
  /** Version-rolling mask requested in `mining.configure` (what downstream miners roll). 0 = do not configure. Default 0x1fffe000. */
  versionRollingMask?: number
  /** Send `mining.extranonce.subscribe` so the pool may move us with `set_extranonce`. Default true. */
  extranonceSubscribe?: boolean
  /** Reconnect after failures. False for one-shot use (the pool Test). Default true. */
  reconnect?: boolean
  /**
   * Whether a `client.reconnect` to another host is followed: 'same-domain' (cgminer's rule: the
   * part after the first dot must match, research §7.12), 'same-host' or 'never'. Default 'same-domain'.
   */
  redirects?: 'same-domain' | 'same-host' | 'never'
  timing?: Partial<UpstreamTiming>
  /** Longest line accepted from the pool. Default 64 KiB (notifies with long branches). */
  maxLineBytes?: number
  /** DNS lookup for `net.connect` (tests inject failures instead of touching a resolver). */
  lookup?: net.LookupFunction
  /** Extra CA for TLS pools with private certificates (tests). */
  ca?: string | Buffer
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number
}

export type UpstreamState = 'idle' | 'connecting' | 'handshaking' | 'ready' | 'waiting' | 'stopped'

/** Why a connection ended; stable strings for events, stats and the pool Test. */
export type UpstreamFailure =
  | 'dns'
  | 'refused'
  | 'connect-timeout'
  | 'tls'
  | 'reset'
  | 'closed'
  | 'protocol'
  | 'handshake-timeout'
  | 'no-response'
  | 'idle'
  | 'subscribe-failed'
  | 'authorize-failed'
  | 'write-backlog'
  | 'socket-error'
  /** The pool asked us to reconnect (`client.reconnect`): planned, not a failure. */
  | 'redirect'
  /** We closed it (stop, or the proxy asked for a fresh session). */
  | 'local'

export interface UpstreamReady {
  extranonce1: Buffer
  extranonce2Size: number
  /** Mask granted by the pool (0 = no version rolling). */
  versionMask: number
  /** The pool gave back the previous session's extranonce1 (session resume). */
  resumed: boolean
  endpoint: string
}

export interface UpstreamDown {
  reason: UpstreamFailure
  /** Plain words for the owner, e.g. "the pool refused the connection". */
  message: string
  /** When the next attempt starts; undefined when not retrying. */
  retryInMs?: number
  /** The session had reached `ready` before it went down. */
  wasReady: boolean
}

export interface UpstreamEvents {
  ready: (e: UpstreamReady) => void
  difficulty: (difficulty: number) => void
  job: (job: UpstreamNotify) => void
  extranonce: (e: { extranonce1: Buffer; extranonce2Size: number }) => void
  versionMask: (mask: number) => void
  down: (e: UpstreamDown) => void
  redirect: (e: { host: string; port: number; waitMs: number; followed: boolean }) => void
}

export interface SubmitOutcome extends SubmitVerdict {
  /** Round trip of the submit; undefined when it never got an answer. */
  rttMs?: number
  /** The share could not be delivered or its answer was lost with the connection. */
  lost?: boolean
}

export interface SubmitRequest {
  worker: string
  jobId: string
  extranonce2Hex: string
  ntime: number
  nonce: number
  versionBits?: number
}

interface Pending {
  method: string
  sentMs: number
  /** False for probes and `extranonce.subscribe` (some pools never answer those). */
  required: boolean
  onReply(result: unknown, error: unknown, rejectReason: unknown): void
  onLost(): void
}

interface Conn {
  socket: net.Socket
  decoder: LineDecoder
  pending: Map<number, Pending>
  nextId: number
  dead: boolean
  connectedMs: number
  lastRecvMs: number
  lastProbeMs: number
  configureMask: number | undefined
  subscribed: boolean
  ready: boolean
  /** Events received before `ready`, replayed in order after it. */
  early: Array<() => void>
  timer: NodeJS.Timeout | undefined
  endpoint: { host: string; port: number; tls: boolean }
}

interface WorkerAuth {
  password: string
  state: 'pending' | 'ok' | 'refused'
  message?: string
  waiters: Array<(r: { ok: boolean; message?: string }) => void>
}

export class UpstreamClient extends Emitter<UpstreamEvents> {
  readonly endpoint: PoolEndpoint
  private readonly opts: UpstreamClientOptions
  private readonly timing: UpstreamTiming
  private readonly log: Logger
  private conn: Conn | undefined
  private stateValue: UpstreamState = 'idle'
  private failures = 0
  private retryTimer: NodeJS.Timeout | undefined
  private tickTimer: NodeJS.Timeout | undefined
  private redirectTarget: { host: string; port: number } | undefined
  private readonly workers = new Map<string, WorkerAuth>()
  private sessionId: string | undefined
  private lastEn1: Buffer | undefined

  /** Current session values (valid while ready). */
  extranonce1: Buffer = Buffer.alloc(0)
  extranonce2Size = 0
  versionMask = 0
  difficulty: number | undefined
  lastJobMs: number | undefined
  readyAtMs: number | undefined
  /** Total connections that reached `ready`. */
  sessions = 0

  constructor(opts: UpstreamClientOptions) {
    const log = opts.logger.child('upstream')
    super(log)
    this.opts = opts
    this.log = log
    this.endpoint = opts.endpoint
    this.timing = { ...DEFAULT_UPSTREAM_TIMING, ...opts.timing }
    this.workers.set(opts.user, { password: opts.password, state: 'pending', waiters: [] })
  }

  get state(): UpstreamState {
    return this.stateValue
  }

  get ready(): boolean {
    return this.stateValue === 'ready'
  }

  /** Starts connecting (and keeps reconnecting until `stop`). */
  start(): void {
    if (this.stateValue !== 'idle') return
    this.tickTimer = setInterval(() => this.tick(), this.timing.tickMs)
    this.tickTimer.unref()
    this.connect()
  }

  /** Closes the session for good. Pending submits resolve as lost. */
  stop(): void {
    if (this.stateValue === 'stopped') return
    this.stateValue = 'stopped'
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.tickTimer) clearInterval(this.tickTimer)
    if (this.conn) this.drop(this.conn, 'local', 'stopped')
  }

  /** Drops the current connection and reconnects at once (no backoff), e.g. to get a fresh extranonce. */
  restart(reason: string): void {
    if (this.stateValue === 'stopped' || this.stateValue === 'idle') return
    if (this.conn) this.drop(this.conn, 'local', reason)
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.connect()
  }

  /**
   * Authorizes an extra worker name on this session (per-device names upstream). Resolves once the
   * pool answered; re-sent automatically after a reconnect.
   */
  authorize(name: string, password = this.opts.password): Promise<{ ok: boolean; message?: string }> {
    const known = this.workers.get(name)
    if (known?.state === 'ok') return Promise.resolve({ ok: true })
    if (known?.state === 'refused') return Promise.resolve({ ok: false, message: known.message ?? 'refused' })
    return new Promise((resolve) => {
      if (known) {
        known.waiters.push(resolve)
        return
      }
      const w: WorkerAuth = { password, state: 'pending', waiters: [resolve] }
      this.workers.set(name, w)
      if (this.conn?.ready) this.sendAuthorize(this.conn, name, w, false)
    })
  }

  /** The pool's answer to a worker name: true, false (refused) or undefined (not answered yet). */
  workerAuthorized(name: string): boolean | undefined {
    const w = this.workers.get(name)
    return w === undefined || w.state === 'pending' ? undefined : w.state === 'ok'
  }

  /** Sends a share. Never rejects: a share that cannot be delivered resolves with `lost: true`. */
  submit(s: SubmitRequest): Promise<SubmitOutcome> {
    const c = this.conn
    if (!c?.ready || c.dead) {
      return Promise.resolve({ accepted: false, kind: 'other', message: 'upstream not connected', lost: true })
    }
    const params: unknown[] = [s.worker, s.jobId, s.extranonce2Hex, hex32(s.ntime), hex32(s.nonce)]
    if (s.versionBits !== undefined) params.push(hex32(s.versionBits))
    return new Promise((resolve) => {
      const sentMs = Date.now()
      this.request(c, 'mining.submit', params, true, {
        onReply: (result, error, rr) =>
          resolve({ ...classifySubmitReply(result, error, rr), rttMs: Date.now() - sentMs }),
        onLost: () =>
          resolve({ accepted: false, kind: 'other', message: 'connection lost before the answer', lost: true }),
      })
    })
  }

  /** Where the session is connected now (differs from `endpoint` after a followed redirect). */
  get currentEndpoint(): string {
    const e = this.conn?.endpoint ?? { host: this.endpoint.host, port: this.endpoint.port }
    return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`
  }

  // -------------------------------------------------------------------------------------------
  // Connection lifecycle

  private connect(): void {
    if (this.stateValue === 'stopped') return
    this.stateValue = 'connecting'
    const target = this.redirectTarget ?? { host: this.endpoint.host, port: this.endpoint.port }
    const useTls = this.endpoint.tls
    const base = {
      host: target.host,
      port: target.port,
      ...(this.opts.lookup ? { lookup: this.opts.lookup } : {}),
    }
    let socket: net.Socket
    if (useTls) {
      socket = tls.connect({
        ...base,
        ...(net.isIP(target.host) === 0 ? { servername: target.host } : {}),
        ...(this.opts.ca ? { ca: this.opts.ca } : {}),
        minVersion: 'TLSv1.2',
      })
    } else {
      socket = net.connect(base)
    }
    const now = Date.now()
    const conn: Conn = {
      socket,
      decoder: new LineDecoder({ maxLineBytes: this.opts.maxLineBytes ?? 64 * 1024, maxMethodChars: 64 }),
      pending: new Map(),
      nextId: 1,
      dead: false,
      connectedMs: now,
      lastRecvMs: now,
      lastProbeMs: now,
      configureMask: undefined,
      subscribed: false,
      ready: false,
      early: [],
      timer: undefined,
      endpoint: { host: target.host, port: target.port, tls: useTls },
    }
    this.conn = conn
    conn.timer = setTimeout(
      () => this.drop(conn, 'connect-timeout', `no connection within ${this.timing.connectTimeoutMs / 1000} s`),
      this.timing.connectTimeoutMs,
    )
    socket.once(useTls ? 'secureConnect' : 'connect', () => this.onConnected(conn))
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk))
    socket.on('error', (e: NodeJS.ErrnoException) => {
      const [reason, message] = classifySocketError(e, target.host)
      this.drop(conn, reason, message)
    })
    socket.on('close', () =>
      this.drop(
        conn,
        'closed',
        conn.ready ? 'the pool closed the connection' : 'the pool closed the connection during the handshake',
      ),
    )
  }

  private onConnected(conn: Conn): void {
    if (conn.dead) return
    if (conn.timer) clearTimeout(conn.timer)
    conn.timer = setTimeout(
      () =>
        this.drop(
          conn,
          'handshake-timeout',
          `no answer to subscribe/authorize within ${this.timing.handshakeTimeoutMs / 1000} s`,
        ),
      this.timing.handshakeTimeoutMs,
    )
    this.stateValue = 'handshaking'
    conn.socket.setNoDelay(true)
    conn.socket.setKeepAlive(true, 30_000)
    conn.lastRecvMs = Date.now()
    conn.socket.cork()
    const mask = (this.opts.versionRollingMask ?? 0x1fffe000) >>> 0
    if (mask !== 0) {
      // BIP310: ask for the bits our miners roll; min-bit-count 2 is what S9-class firmware needs.
      this.request(
        conn,
        'mining.configure',
        [['version-rolling'], { 'version-rolling.mask': hex32(mask), 'version-rolling.min-bit-count': 2 }],
        false,
        {
          onReply: (result, error) => {
            const granted = (parseConfigureResult(result, error) & mask) >>> 0
            conn.configureMask = granted
            if (conn.ready && granted !== this.versionMask) {
              this.versionMask = granted
              this.emit('versionMask', granted)
            }
          },
          onLost: () => {},
        },
      )
    }
    const ua = this.opts.userAgent ?? 'hashyard-proxy'
    this.request(conn, 'mining.subscribe', this.sessionId ? [ua, this.sessionId] : [ua], true, {
      onReply: (result, error) => this.onSubscribed(conn, result, error),
      onLost: () => {},
    })
    conn.socket.uncork()
  }

  private onSubscribed(conn: Conn, result: unknown, error: unknown): void {
    const r = parseSubscribeResult(result)
    if (error !== null && error !== undefined) {
      this.drop(conn, 'subscribe-failed', `the pool refused mining.subscribe: ${errorText(error)}`)
      return
    }
    if (!r.ok) {
      this.drop(conn, 'protocol', r.message)
      return
    }
    conn.subscribed = true
    const resumed = this.lastEn1?.equals(r.value.extranonce1) === true
    this.extranonce1 = r.value.extranonce1
    this.extranonce2Size = r.value.extranonce2Size
    this.lastEn1 = r.value.extranonce1
    if (r.value.sessionId !== undefined) this.sessionId = r.value.sessionId
    conn.socket.cork()
    if (this.opts.extranonceSubscribe !== false) {
      this.request(conn, 'mining.extranonce.subscribe', [], false, { onReply: () => {}, onLost: () => {} })
    }
    for (const [name, w] of this.workers) {
      if (name === this.opts.user) {
        w.state = 'pending'
        this.request(conn, 'mining.authorize', [name, w.password], true, {
          onReply: (res, err) => {
            if (res === true && (err === null || err === undefined)) {
              this.settleWorker(w, true)
              this.becomeReady(conn, resumed)
            } else {
              const why = err === null || err === undefined ? 'the pool answered false' : errorText(err)
              this.settleWorker(w, false, why)
              this.drop(conn, 'authorize-failed', `the pool refused user "${name}": ${why}`)
            }
          },
          onLost: () => {},
        })
      } else if (w.state !== 'refused') {
        this.sendAuthorize(conn, name, w, true)
      }
    }
    conn.socket.uncork()
  }

  private sendAuthorize(conn: Conn, name: string, w: WorkerAuth, handshake: boolean): void {
    if (!handshake) w.state = 'pending'
    this.request(conn, 'mining.authorize', [name, w.password], true, {
      onReply: (res, err) => {
        const ok = res === true && (err === null || err === undefined)
        const why = ok ? undefined : err === null || err === undefined ? 'the pool answered false' : errorText(err)
        if (!ok) this.log.warn('pool refused a worker name', { worker: name, reason: why })
        this.settleWorker(w, ok, why)
      },
      onLost: () => {},
    })
  }

  private settleWorker(w: WorkerAuth, ok: boolean, message?: string): void {
    w.state = ok ? 'ok' : 'refused'
    if (message !== undefined) w.message = message
    const waiters = w.waiters
    w.waiters = []
    for (const f of waiters) f(ok ? { ok } : { ok, message: message ?? 'refused' })
  }

  private becomeReady(conn: Conn, resumed: boolean): void {
    if (conn.dead || conn.ready) return
    conn.ready = true
    if (conn.timer) clearTimeout(conn.timer)
    conn.timer = undefined
    this.stateValue = 'ready'
    this.readyAtMs = Date.now()
    this.sessions++
    this.versionMask = conn.configureMask ?? 0
    this.log.info('upstream ready', {
      endpoint: this.currentEndpoint,
      extranonce1: this.extranonce1.toString('hex'),
      extranonce2Size: this.extranonce2Size,
      versionMask: hex32(this.versionMask),
      resumed,
    })
    this.emit('ready', {
      extranonce1: this.extranonce1,
      extranonce2Size: this.extranonce2Size,
      versionMask: this.versionMask,
      resumed,
      endpoint: this.currentEndpoint,
    })
    const early = conn.early
    conn.early = []
    for (const f of early) if (!conn.dead) f()
  }

  /**
   * Ends a connection once (later calls for the same connection are no-ops), resolves its pending
   * requests as lost, emits `down`, and schedules the next attempt.
   */
  private drop(conn: Conn, reason: UpstreamFailure, message: string): void {
    if (conn.dead) return
    conn.dead = true
    if (conn.timer) clearTimeout(conn.timer)
    conn.socket.destroy()
    const pending = [...conn.pending.values()]
    conn.pending.clear()
    for (const p of pending) p.onLost()
    if (this.conn !== conn) return
    this.conn = undefined
    const wasReady = conn.ready
    const stopped = this.stateValue === 'stopped'
    // Authorizations are per connection: pending ones are re-sent on the next.
    for (const [, w] of this.workers) if (w.state === 'ok') w.state = 'pending'

    let retryInMs: number | undefined
    if (!stopped && reason !== 'local' && this.opts.reconnect !== false) {
      if (reason === 'redirect') {
        retryInMs = Math.min(this.pendingRedirectWaitMs, this.timing.maxRedirectWaitMs)
      } else {
        // A failure sends the next attempt back to the configured address.
        this.redirectTarget = undefined
        this.failures++
        retryInMs = backoffMs(this.failures, this.timing, this.opts.random ?? Math.random)
      }
      this.stateValue = 'waiting'
      this.retryTimer = setTimeout(() => this.connect(), retryInMs)
    } else if (!stopped && reason !== 'local') {
      this.stateValue = 'waiting'
    }
    const level = reason === 'local' || reason === 'redirect' ? 'info' : 'warn'
    this.log[level](`upstream ${this.currentEndpointOf(conn)}: ${message}`, {
      reason,
      ...(retryInMs !== undefined ? { retryInMs } : {}),
    })
    this.emit('down', { reason, message, wasReady, ...(retryInMs !== undefined ? { retryInMs } : {}) })
  }

  private pendingRedirectWaitMs = 0

  private currentEndpointOf(conn: Conn): string {
    const e = conn.endpoint
    return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`
  }

  // -------------------------------------------------------------------------------------------
  // Inbound

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn.dead) return
    conn.lastRecvMs = Date.now()
    try {
      conn.decoder.push(chunk, (item) => {
        if (!conn.dead) this.onItem(conn, item)
      })
    } catch (e) {
      // A bug in our handling, not the pool's bytes: contain it to this connection.
      this.log.error('upstream handler failed', { error: (e as Error).stack ?? String(e) })
      this.drop(conn, 'protocol', 'internal error while handling a pool message')
    }
  }

  private onItem(conn: Conn, item: DecodedItem): void {
    if (item.kind === 'error') {
      this.drop(conn, 'protocol', `malformed line from the pool (${item.code}: ${item.message})`)
      return
    }
    if (item.kind === 'response') {
      if (typeof item.id !== 'number') return
      const p = conn.pending.get(item.id)
      if (!p) return
      conn.pending.delete(item.id)
      const raw = item as unknown as Record<string, unknown>
      p.onReply(item.result, item.error, raw['reject-reason'])
      return
    }
    const { id, method, params } = item
    switch (method) {
      case 'mining.notify': {
        const n = parseNotify(params)
        if (!n.ok) {
          this.drop(conn, 'protocol', n.message)
          return
        }
        this.deliver(conn, () => {
          this.lastJobMs = Date.now()
          // A job proves the session works: the next failure starts the backoff from scratch.
          this.failures = 0
          this.emit('job', n.value)
        })
        return
      }
      case 'mining.set_difficulty': {
        const d = parseSetDifficulty(params)
        if (!d.ok) {
          this.drop(conn, 'protocol', d.message)
          return
        }
        this.deliver(conn, () => {
          this.difficulty = d.value
          this.emit('difficulty', d.value)
        })
        return
      }
      case 'mining.set_extranonce': {
        const e = parseSetExtranonce(params)
        if (!e.ok) {
          this.drop(conn, 'protocol', e.message)
          return
        }
        this.deliver(conn, () => {
          this.extranonce1 = e.value.extranonce1
          this.extranonce2Size = e.value.extranonce2Size
          this.lastEn1 = e.value.extranonce1
          this.log.info('pool changed the extranonce', {
            extranonce1: e.value.extranonce1.toString('hex'),
            extranonce2Size: e.value.extranonce2Size,
          })
          this.emit('extranonce', e.value)
        })
        return
      }
      case 'mining.set_version_mask': {
        const m = parseSetVersionMask(params)
        if (!m.ok) {
          this.drop(conn, 'protocol', m.message)
          return
        }
        const requested = (this.opts.versionRollingMask ?? 0x1fffe000) >>> 0
        conn.configureMask = (m.value & requested) >>> 0
        this.deliver(conn, () => {
          this.versionMask = conn.configureMask ?? 0
          this.emit('versionMask', this.versionMask)
        })
        return
      }
      case 'client.reconnect': {
        const r = parseReconnect(params)
        if (!r.ok) {
          this.log.warn('ignored a malformed client.reconnect', { reason: r.message })
          return
        }
        this.redirect(conn, r.value)
        return
      }
      case 'mining.ping':
        if (id !== null) this.write(conn, encodeResult(id, 'pong'))
        return
      case 'client.get_version':
        if (id !== null) this.write(conn, encodeResult(id, this.opts.userAgent ?? 'hashyard-proxy'))
        return
      case 'client.show_message':
        this.log.info('message from the pool', { text: typeof params[0] === 'string' ? params[0].slice(0, 200) : '' })
        return
      default:
        // Unknown methods are never fatal: answer requests, ignore notifications.
        if (id !== null) this.write(conn, encodeError(id, 20, `Unknown method ${method}`))
        else this.log.debug('ignored an unknown notification from the pool', { method })
    }
  }

  /** Runs an event handler now when ready, or after `ready` (pools send work before authorize answers). */
  private deliver(conn: Conn, f: () => void): void {
    if (conn.ready) f()
    else if (conn.early.length < 64) conn.early.push(f)
  }

  private redirect(conn: Conn, r: { host?: string; port?: number; waitS: number }): void {
    const host = r.host ?? conn.endpoint.host
    const port = r.port ?? conn.endpoint.port
    const waitMs = Math.min(Math.round(r.waitS * 1000), this.timing.maxRedirectWaitMs)
    const followed = redirectAllowed(conn.endpoint.host, host, this.opts.redirects ?? 'same-domain')
    this.emit('redirect', { host, port, waitMs, followed })
    if (!followed) {
      this.log.warn('ignored client.reconnect to another domain', { from: conn.endpoint.host, to: host })
      return
    }
    this.redirectTarget =
      host === this.endpoint.host && port === this.endpoint.port
        ? undefined
        : { host: host.replace(/^\[|\]$/g, ''), port }
    this.pendingRedirectWaitMs = waitMs
    this.drop(conn, 'redirect', `the pool asked us to reconnect to ${host}:${port}`)
  }

  // -------------------------------------------------------------------------------------------
  // Outbound

  private request(
    conn: Conn,
    method: string,
    params: readonly unknown[],
    required: boolean,
    handlers: Pick<Pending, 'onReply' | 'onLost'>,
  ): void {
    const id = conn.nextId++
    conn.pending.set(id, { method, sentMs: Date.now(), required, ...handlers })
    this.write(conn, encodeRequest(id, method, params))
  }

  private write(conn: Conn, line: string): void {
    if (conn.dead) return
    conn.socket.write(line)
    if (conn.socket.writableLength > 4 * 1024 * 1024) {
      this.drop(conn, 'write-backlog', 'the pool is not reading what we send')
    }
  }

  private tick(): void {
    const conn = this.conn
    if (!conn || conn.dead || conn.socket.connecting) return
    const now = Date.now()
    for (const [id, p] of conn.pending) {
      if (now - p.sentMs < this.timing.responseTimeoutMs) continue
      if (p.required) {
        this.drop(
          conn,
          'no-response',
          `the pool did not answer ${p.method} within ${this.timing.responseTimeoutMs / 1000} s`,
        )
        return
      }
      conn.pending.delete(id)
      p.onLost()
    }
    if (now - conn.lastRecvMs > this.timing.idleTimeoutMs) {
      this.drop(conn, 'idle', `nothing received from the pool for ${Math.round((now - conn.lastRecvMs) / 1000)} s`)
      return
    }
    const k = this.timing.keepaliveMs
    if (conn.ready && k > 0 && now - conn.lastRecvMs >= k && now - conn.lastProbeMs >= k) {
      conn.lastProbeMs = now
      this.request(conn, 'mining.ping', [], false, { onReply: () => {}, onLost: () => {} })
    }
  }
}

/** Exponential backoff with ±50 % jitter: 1, 2, 4 … s up to the max (thundering-herd safe). */
export function backoffMs(
  failures: number,
  t: Pick<UpstreamTiming, 'backoffInitialMs' | 'backoffMaxMs'>,
  random: () => number,
): number {
  const base = Math.min(t.backoffMaxMs, t.backoffInitialMs * 2 ** Math.max(0, Math.min(failures - 1, 30)))
  return Math.round(base * (0.5 + random()))
}

/** cgminer's rule for `client.reconnect`: same host, or the same domain after the first label. */
export function redirectAllowed(
  current: string,
  target: string,
  policy: 'same-domain' | 'same-host' | 'never',
): boolean {
  const a = current.toLowerCase().replace(/^\[|\]$/g, '')
  const b = target.toLowerCase().replace(/^\[|\]$/g, '')
  if (policy === 'never') return a === b
  if (a === b) return true
  if (policy === 'same-host' || net.isIP(a) !== 0 || net.isIP(b) !== 0) return false
  const suffix = (h: string): string => h.slice(h.indexOf('.') + 1)
  return a.includes('.') && b.includes('.') && suffix(a) === suffix(b) && suffix(a).includes('.')
}

function classifySocketError(e: NodeJS.ErrnoException, host: string): [UpstreamFailure, string] {
  const code = e.code ?? ''
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL')
    return ['dns', `the name "${host}" could not be resolved (DNS: ${code})`]
  if (code === 'ECONNREFUSED') return ['refused', 'the pool refused the connection (nothing listens on that port)']
  if (code === 'ETIMEDOUT') return ['connect-timeout', 'the connection timed out']
  if (code === 'ECONNRESET' || code === 'EPIPE') return ['reset', 'the connection was reset']
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return ['refused', `the pool's address is unreachable (${code})`]
  if (/^ERR_SSL|^ERR_TLS|CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) || /SSL|TLS|certificate/i.test(e.message))
    return ['tls', `TLS failed: ${e.message}`]
  return ['socket-error', e.message]
}

function errorText(error: unknown): string {
  if (Array.isArray(error)) return String(error[1] ?? error[0] ?? 'error').slice(0, 160)
  if (typeof error === 'object' && error !== null && 'message' in error)
    return String((error as { message: unknown }).message).slice(0, 160)
  return String(error).slice(0, 160)
}
