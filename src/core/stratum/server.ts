/**
 * The Stratum V1 listener: sockets in, sessions out. This file owns every resource limit (line
 * length, connection caps, timeouts, write backlog) and the broadcast path; protocol decisions
 * live in `session.ts`, framing in `codec.ts`.
 *
 * Security: anything on the LAN can connect. Nothing a client sends may throw out of a socket
 * handler, grow a buffer without bound, or hold the event loop: input is framed with a hard line
 * cap, each chunk is processed synchronously, a client that stops reading is dropped rather than
 * queued for, and exceptions are contained per connection.
 */
import { randomInt } from 'node:crypto'
import net from 'node:net'
import tls from 'node:tls'
import type { BitcoinNetwork } from '../bitcoin/address'
import type { Logger } from '../logger'
import type { Job } from '../pool/job'
import { type DecodedItem, LineDecoder, type StratumCodecError } from './codec'
import { JobBook } from './job-book'
import { encodeError, encodePing, encodeReconnect, StratumErrorCode } from './messages'
import {
  type BlockFinder,
  DEFAULT_STORM_POLICY,
  type PayoutMode,
  Session,
  type SessionConfig,
  type SessionHost,
  type SessionStats,
  type ShareEvent,
  type StormPolicy,
} from './session'
import { type VardiffConfig, vardiffConfig } from './vardiff'
import type { WorkSource } from './work-feed'

export interface StratumLimits {
  /** Longest inbound line; longer → the connection is closed with a log line. Default 16 KiB. */
  maxLineBytes: number
  /** Connections in total (plain + TLS). Default 10,000. */
  maxConnections: number
  /** Connections from one IP address. Default 1,000 (a farm proxy may sit behind one address). */
  maxConnectionsPerIp: number
  /** A connection must `mining.subscribe` within this time. Default 30 s. */
  subscribeTimeoutMs: number
  /** A subscribed connection silent for this long is closed. Default 10 min. */
  idleTimeoutMs: number
  /** Bytes queued for a client that is not reading before it is dropped. Default 1 MiB. */
  maxWriteBufferBytes: number
  /** Malformed lines (bad JSON, bad UTF-8, bad envelope) tolerated per connection. Default 10. */
  maxBadLines: number
  /** Jobs stay submittable (as stale after a new block) for this long. Default 5 min. */
  jobMaxAgeMs: number
  /** Hard cap on remembered jobs, per-payout variants and re-issues included. Default 20,000. */
  maxJobs: number
  /** A ready connection that received nothing for this long gets its job again. Default 60 s. */
  keepaliveMs: number
  /** Housekeeping period (timeouts, vardiff ticks, keepalive). Default 1 s. */
  tickMs: number
}

export const DEFAULT_LIMITS: StratumLimits = {
  maxLineBytes: 16 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerIp: 1_000,
  subscribeTimeoutMs: 30_000,
  idleTimeoutMs: 600_000,
  maxWriteBufferBytes: 1024 * 1024,
  maxBadLines: 10,
  jobMaxAgeMs: 300_000,
  maxJobs: 20_000,
  keepaliveMs: 60_000,
  tickMs: 1_000,
}

/** Hands out extranonce1 values, unique among live connections. */
export interface Extranonce1Allocator {
  /** 4 bytes, or undefined when none is free. */
  allocate(): Buffer | undefined
  release(extranonce1: Buffer): void
}

/** Counter-based, collision-checked (research §7.17: public-pool's random draw can collide). */
export class CounterExtranonce1Allocator implements Extranonce1Allocator {
  private next: number
  private readonly inUse = new Set<number>()

  constructor(start: number = randomInt(0, 2 ** 32)) {
    this.next = start >>> 0
  }

  allocate(): Buffer | undefined {
    if (this.inUse.size >= 0xffffffff) return undefined
    while (this.inUse.has(this.next)) this.next = (this.next + 1) >>> 0
    const v = this.next
    this.next = (this.next + 1) >>> 0
    this.inUse.add(v)
    const b = Buffer.allocUnsafe(4)
    b.writeUInt32BE(v, 0)
    return b
  }

  release(extranonce1: Buffer): void {
    if (extranonce1.length === 4) this.inUse.delete(extranonce1.readUInt32BE(0))
  }
}

export interface StratumTlsOptions {
  /** Default: the plain listener's host. */
  host?: string
  /** Default 0 (any free port) — pick e.g. 3334 in production. */
  port?: number
  cert: string | Buffer
  key: string | Buffer
}

export interface StratumServerOptions {
  work: WorkSource
  /** Network of the node: payout addresses in 'miner' mode must belong to it. */
  network: BitcoinNetwork
  logger: Logger
  /** Default '0.0.0.0' (LAN miners must reach it). */
  host?: string
  /** Default 3333; 0 = any free port. */
  port?: number
  tls?: StratumTlsOptions
  /** Announced at subscribe; must equal the jobs' extranonce2 size. Default 4. */
  extranonce2Size?: number
  /** Pool BIP320 mask; must equal the mask the jobs were built with. Default 0x1fffe000. */
  versionRollingMask?: number
  /** Default 'pool': every share pays the pool's address; 'miner' needs `work.jobForPayout`. */
  payoutMode?: PayoutMode
  vardiff?: Partial<VardiffConfig>
  /** Default 7000 s (ckpool). */
  ntimeMaxAheadS?: number
  /** Default 'reject'. */
  versionBitsWithoutConfigure?: 'reject' | 'accept'
  storm?: Partial<StormPolicy>
  limits?: Partial<StratumLimits>
  /** Default: `CounterExtranonce1Allocator` from a random start. */
  extranonce1?: Extranonce1Allocator
  /** Every submit, accepted or not, after it was answered. Must not throw (it is caught and logged). */
  onShare?: (event: ShareEvent) => void
  /** A share met the network target: submit `blockBytes` to the node. Called before the reply to the miner. */
  onBlockFound?: (job: Job, blockBytes: Buffer, hashHex: string, finder: BlockFinder) => void
  /** A miner authorized a user name. Must not throw (it is caught and logged). */
  onAuthorize?: (event: AuthorizeEvent) => void
}

export interface AuthorizeEvent {
  connectionId: number
  remoteAddress: string
  worker: string
  userAgent: string
  transport: 'tcp' | 'tls'
}

export interface ConnectionInfo extends SessionStats {
  transport: 'tcp' | 'tls'
}

export interface ServerStats {
  connections: number
  ready: number
  jobs: number
  currentJobId: string | undefined
  blocksFound: number
}

interface Conn {
  id: number
  socket: net.Socket
  ip: string
  transport: 'tcp' | 'tls'
  decoder: LineDecoder
  session: Session
  closed: boolean
  badLines: number
  /** Replies gathered while one inbound chunk is processed; undefined outside a chunk. */
  batch: string | undefined
}

/** Connections written per event-loop turn during a job fan-out (~10–15 ms of writes). */
const BROADCAST_SLICE = 1000

interface FanOut {
  job: Job
  clean: boolean
  nowMs: number
  targets: Conn[]
  next: number
  startNs: bigint
  slices: number
  maxSliceMs: number
}

export class StratumServer {
  private readonly opts: StratumServerOptions
  private readonly limits: StratumLimits
  private readonly sessionCfg: SessionConfig
  private readonly log: Logger
  /** @internal The stratum logger, for ConnHost. */
  get logger(): Logger {
    return this.log
  }
  private readonly en1: Extranonce1Allocator
  private readonly book: JobBook
  private readonly conns = new Map<number, Conn>()
  private readonly perIp = new Map<string, number>()
  private plain: net.Server | undefined
  private secure: tls.Server | undefined
  private timer: NodeJS.Timeout | undefined
  private unsubscribe: (() => void) | undefined
  private nextConnId = 1
  private nextPingId = 1_000_000
  private tickCount = 0
  private closing = false
  private blocksFound = 0
  private warnedVariants = false
  private fanOut: FanOut | undefined
  /** The last completed job fan-out: start to last write, and the longest slice (event-loop hold). */
  lastFanOut: { jobId: string; connections: number; slices: number; totalMs: number; maxSliceMs: number } | undefined

  constructor(opts: StratumServerOptions) {
    this.opts = opts
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits }
    const en2 = opts.extranonce2Size ?? 4
    if (!Number.isInteger(en2) || en2 < 2 || en2 > 8) {
      // cgminer refuses < 2 and never submits > 8 (research §7.4).
      throw new RangeError('extranonce2Size must be 2..8')
    }
    const payoutMode = opts.payoutMode ?? 'pool'
    if (payoutMode === 'miner' && opts.work.jobForPayout === undefined) {
      throw new TypeError("payoutMode 'miner' needs a WorkSource with jobForPayout")
    }
    this.sessionCfg = {
      network: opts.network,
      extranonce2Size: en2,
      versionRollingMask: (opts.versionRollingMask ?? 0x1fffe000) >>> 0,
      payoutMode,
      vardiff: vardiffConfig(opts.vardiff),
      ntimeMaxAheadS: opts.ntimeMaxAheadS ?? 7000,
      versionBitsWithoutConfigure: opts.versionBitsWithoutConfigure ?? 'reject',
      storm: { ...DEFAULT_STORM_POLICY, ...opts.storm },
      maxWorkersPerConnection: 8,
    }
    this.log = opts.logger.child('stratum')
    this.en1 = opts.extranonce1 ?? new CounterExtranonce1Allocator()
    this.book = new JobBook(this.limits)
  }

  /** Starts listening (plain, and TLS when configured). Rejects on EADDRINUSE and the like. */
  async listen(): Promise<{ port: number; tlsPort?: number }> {
    if (this.plain) throw new Error('already listening')
    this.unsubscribe = this.opts.work.onJob((job, clean) => this.broadcast(job, clean))
    const current = this.opts.work.current()
    if (current && this.acceptableJob(current)) {
      this.book.addCurrent(current, Date.now())
    }
    const host = this.opts.host ?? '0.0.0.0'
    this.plain = net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 45_000 }, (s) =>
      this.accept(s, 'tcp'),
    )
    let port: number
    try {
      port = await listenOn(this.plain, host, this.opts.port ?? 3333)
    } catch (e) {
      this.unsubscribe()
      this.plain = undefined
      throw e
    }
    // Accept failures (EMFILE under a connection flood) arrive as 'error' events; unhandled they
    // would end the process.
    this.plain.on('error', (e) => this.log.error('stratum listener error', { error: e.message }))
    let tlsPort: number | undefined
    if (this.opts.tls) {
      const t = this.opts.tls
      this.secure = tls.createServer(
        {
          cert: t.cert,
          key: t.key,
          minVersion: 'TLSv1.2',
          handshakeTimeout: this.limits.subscribeTimeoutMs,
          noDelay: true,
          keepAlive: true,
          keepAliveInitialDelay: 45_000,
        },
        (s) => this.accept(s, 'tls'),
      )
      this.secure.on('tlsClientError', (e, s) => {
        this.log.debug('TLS handshake failed', { remoteAddress: normaliseIp(s.remoteAddress), error: e.message })
      })
      try {
        tlsPort = await listenOn(this.secure, t.host ?? host, t.port ?? 0)
      } catch (e) {
        await this.close({ reconnect: false })
        throw e
      }
      this.secure.on('error', (e) => this.log.error('stratum TLS listener error', { error: e.message }))
    }
    this.timer = setInterval(() => this.tick(), this.limits.tickMs)
    this.timer.unref()
    this.log.info('stratum listening', { host, port, ...(tlsPort !== undefined ? { tlsPort } : {}) })
    return tlsPort === undefined ? { port } : { port, tlsPort }
  }

  /** Live connections with their stats. */
  connections(): ConnectionInfo[] {
    const now = Date.now()
    const out: ConnectionInfo[] = []
    for (const c of this.conns.values()) out.push({ ...c.session.snapshot(now), transport: c.transport })
    return out
  }

  /** Whether a connection with this id is open (cheap: no stats snapshot). */
  isConnected(id: number): boolean {
    return this.conns.has(id)
  }

  connection(id: number): ConnectionInfo | undefined {
    const c = this.conns.get(id)
    return c ? { ...c.session.snapshot(Date.now()), transport: c.transport } : undefined
  }

  stats(): ServerStats {
    let ready = 0
    for (const c of this.conns.values()) if (c.session.ready) ready++
    return {
      connections: this.conns.size,
      ready,
      jobs: this.book.size,
      currentJobId: this.opts.work.current()?.id,
      blocksFound: this.blocksFound,
    }
  }

  /** Closes one connection. Returns false when no such connection exists. */
  kick(connectionId: number, reason = 'kicked by the owner'): boolean {
    const c = this.conns.get(connectionId)
    if (!c) return false
    this.closeConn(c, reason, 'info', 'flush')
    return true
  }

  /** Changes the pool's rolling mask at runtime (jobs must be rebuilt with it by the work source). */
  setVersionRollingMask(mask: number): void {
    this.sessionCfg.versionRollingMask = mask >>> 0
    for (const c of this.conns.values()) c.session.updateVersionMask(mask >>> 0)
  }

  /**
   * Stops listening, asks every miner to reconnect (`client.reconnect []`, so they come back to the
   * same host when it restarts), waits up to `graceMs` for sockets to close, then destroys the rest.
   */
  async close(opts: { reconnect?: boolean; graceMs?: number } = {}): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.unsubscribe?.()
    if (this.timer) clearInterval(this.timer)
    const servers = [this.plain, this.secure].filter((s): s is net.Server => s !== undefined)
    const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())))
    const line = opts.reconnect === false ? undefined : encodeReconnect()
    const sockets = [...this.conns.values()].map((c) => {
      const done = new Promise<void>((r) => c.socket.once('close', () => r()))
      if (line !== undefined && !c.closed) c.socket.write(line)
      c.closed = true
      c.socket.end()
      return done
    })
    const grace = opts.graceMs ?? 2000
    let timeout: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(sockets),
      new Promise<void>((r) => {
        timeout = setTimeout(r, grace)
      }),
    ])
    if (timeout) clearTimeout(timeout)
    for (const c of this.conns.values()) c.socket.destroy()
    await Promise.all(closed)
    this.log.info('stratum stopped')
  }

  // -------------------------------------------------------------------------------------------
  // Connections

  private accept(socket: net.Socket, transport: 'tcp' | 'tls'): void {
    const ip = normaliseIp(socket.remoteAddress)
    socket.on('error', (e) => this.log.debug('socket error', { remoteAddress: ip, error: e.message }))
    if (this.closing) {
      socket.destroy()
      return
    }
    if (this.conns.size >= this.limits.maxConnections) {
      this.log.warn('connection refused: server full', {
        remoteAddress: ip,
        maxConnections: this.limits.maxConnections,
      })
      socket.destroy()
      return
    }
    const fromIp = this.perIp.get(ip) ?? 0
    if (fromIp >= this.limits.maxConnectionsPerIp) {
      this.log.warn('connection refused: too many from this address', {
        remoteAddress: ip,
        maxConnectionsPerIp: this.limits.maxConnectionsPerIp,
      })
      socket.destroy()
      return
    }
    const en1 = this.en1.allocate()
    if (!en1) {
      this.log.error('connection refused: no free extranonce1', { remoteAddress: ip })
      socket.destroy()
      return
    }
    this.perIp.set(ip, fromIp + 1)
    socket.setNoDelay(true)
    const id = this.nextConnId++
    const conn = { id, socket, ip, transport, closed: false, badLines: 0, batch: undefined } as Conn
    conn.decoder = new LineDecoder({ maxLineBytes: this.limits.maxLineBytes })
    conn.session = new Session(this.sessionCfg, this.hostFor(conn), {
      id,
      remoteAddress: ip,
      extranonce1: en1,
      nowMs: Date.now(),
    })
    this.conns.set(id, conn)
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk))
    socket.on('close', () => this.cleanup(conn, en1))
    this.log.debug('connection', { connectionId: id, remoteAddress: ip, transport })
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn.closed) return
    const now = Date.now()
    // Replies to all lines of one chunk leave in one write (one syscall, no writev).
    conn.batch = ''
    try {
      conn.decoder.push(chunk, (item) => this.onItem(conn, item, now))
    } catch (e) {
      // A bug, not bad input: contain it to this connection and keep the stack in the local log.
      this.log.error('stratum handler failed; closing the connection', {
        connectionId: conn.id,
        remoteAddress: conn.ip,
        error: (e as Error).stack ?? String(e),
      })
      this.closeConn(conn, 'internal error', 'error', 'now')
    } finally {
      this.flushBatch(conn)
    }
  }

  private flushBatch(conn: Conn): void {
    const out = conn.batch
    conn.batch = undefined
    if (out === undefined || out === '' || conn.socket.destroyed) return
    conn.socket.write(out)
    if (!conn.closed && conn.socket.writableLength > this.limits.maxWriteBufferBytes) {
      this.closeConn(
        conn,
        `client is not reading (${conn.socket.writableLength} bytes queued, limit ${this.limits.maxWriteBufferBytes})`,
        'warn',
        'now',
      )
    }
  }

  private onItem(conn: Conn, item: DecodedItem, nowMs: number): void {
    if (conn.closed) return
    if (item.kind === 'request') {
      conn.session.handle(item, nowMs)
      return
    }
    if (item.kind === 'response') {
      // Answers to our mining.ping / client.get_version: nothing to do.
      conn.session.lastMessageMs = nowMs
      return
    }
    this.onCodecError(conn, item)
  }

  private onCodecError(conn: Conn, e: StratumCodecError): void {
    if (e.code === 'STRATUM_LINE_TOO_LONG') {
      this.closeConn(
        conn,
        `line longer than ${this.limits.maxLineBytes} bytes (${e.lineBytes} bytes seen)`,
        'warn',
        'flush',
      )
      return
    }
    if (e.code === 'STRATUM_TLS_ON_PLAIN_PORT') {
      const hint = this.secure ? ` (the TLS port is ${(this.secure.address() as net.AddressInfo | null)?.port})` : ''
      this.closeConn(
        conn,
        `TLS handshake on the plain stratum port: set the miner to stratum+tcp${hint}`,
        'warn',
        'flush',
      )
      return
    }
    conn.badLines++
    this.write(conn, encodeError(e.id ?? null, StratumErrorCode.Other, e.message))
    if (conn.badLines > this.limits.maxBadLines) {
      this.closeConn(conn, `more than ${this.limits.maxBadLines} malformed lines (last: ${e.code})`, 'warn', 'flush')
    }
  }

  private write(conn: Conn, data: string | Buffer): void {
    if (conn.closed) return
    if (conn.batch !== undefined) {
      if (typeof data === 'string') {
        conn.batch += data
        return
      }
      // A shared Buffer (a notify line) goes out as is, after what was gathered before it.
      if (conn.batch !== '') conn.socket.write(conn.batch)
      conn.batch = ''
    }
    conn.socket.write(data)
    if (conn.socket.writableLength > this.limits.maxWriteBufferBytes) {
      this.closeConn(
        conn,
        `client is not reading (${conn.socket.writableLength} bytes queued, limit ${this.limits.maxWriteBufferBytes})`,
        'warn',
        'now',
      )
    }
  }

  /**
   * 'flush': stop reading, send what is queued (an error reply, client.reconnect), then FIN, with a
   * destroy 2 s later for a peer that never reads; 'now': destroy at once (a client that is not
   * reading, an internal error).
   */
  private closeConn(conn: Conn, reason: string, level: 'info' | 'warn' | 'error', mode: 'flush' | 'now'): void {
    if (conn.closed) return
    conn.closed = true
    this.log[level](`closing connection ${conn.id} from ${conn.ip}: ${reason}`, {
      connectionId: conn.id,
      remoteAddress: conn.ip,
      worker: conn.session.workers[0],
    })
    if (mode === 'flush') {
      this.flushBatch(conn)
      conn.socket.pause()
      conn.socket.end()
      setTimeout(() => conn.socket.destroy(), 2000).unref()
    } else {
      conn.batch = undefined
      conn.socket.destroy()
    }
  }

  private cleanup(conn: Conn, en1: Buffer): void {
    conn.closed = true
    if (this.conns.delete(conn.id)) {
      this.en1.release(en1)
      const n = (this.perIp.get(conn.ip) ?? 1) - 1
      if (n <= 0) this.perIp.delete(conn.ip)
      else this.perIp.set(conn.ip, n)
      this.log.debug('disconnected', { connectionId: conn.id, remoteAddress: conn.ip })
    }
  }

  private hostFor(conn: Conn): SessionHost {
    // One small object per connection with its methods on the prototype: a dozen closures per
    // connection cost about a kilobyte each at 5,000 idle miners.
    return new ConnHost(this, conn)
  }

  /** @internal Called by ConnHost only (the server's private state stays private to the file). */
  hostCall = {
    write: (conn: Conn, data: string | Buffer): void => this.write(conn, data),
    close: (conn: Conn, reason: string): void => this.closeConn(conn, reason, 'warn', 'flush'),
    currentJob: (payoutScript: Uint8Array | undefined): Job | undefined => {
      const base = this.opts.work.current()
      if (!base || !this.acceptableJob(base)) return undefined
      if (!this.book.get(base.id)) this.book.addCurrent(base, Date.now())
      return this.variantFor(base, payoutScript)
    },
    book: (): JobBook => this.book,
    reissue: (job: Job): Job | undefined => {
      const fresh = this.opts.work.reissue?.(job)
      if (fresh) this.book.add(fresh, Date.now())
      return fresh
    },
    onShare: (event: ShareEvent): void => {
      if (!this.opts.onShare) return
      try {
        this.opts.onShare(event)
      } catch (e) {
        this.log.error('onShare callback failed', { error: (e as Error).stack ?? String(e) })
      }
    },
    onAuthorize: (conn: Conn, worker: string): void => {
      if (!this.opts.onAuthorize) return
      try {
        this.opts.onAuthorize({
          connectionId: conn.id,
          remoteAddress: conn.ip,
          worker,
          userAgent: conn.session.userAgent,
          transport: conn.transport,
        })
      } catch (e) {
        this.log.error('onAuthorize callback failed', { error: (e as Error).stack ?? String(e) })
      }
    },
    onBlock: (job: Job, blockBytes: Buffer, hashHex: string, finder: BlockFinder): void => {
      this.blocksFound++
      if (!this.opts.onBlockFound) {
        this.log.error('BLOCK FOUND but no onBlockFound handler is set', {
          hashHex,
          block: blockBytes.toString('hex'),
        })
        return
      }
      try {
        this.opts.onBlockFound(job, blockBytes, hashHex, finder)
      } catch (e) {
        this.log.error('onBlockFound callback failed', {
          hashHex,
          block: blockBytes.toString('hex'),
          error: (e as Error).stack ?? String(e),
        })
      }
    },
  }

  // -------------------------------------------------------------------------------------------
  // Jobs

  private acceptableJob(job: Job): boolean {
    if (job.extranonce1Size === 4 && job.extranonce2Size === this.sessionCfg.extranonce2Size) return true
    this.log.error('job ignored: extranonce sizes do not match the server', {
      jobId: job.id,
      extranonce1Size: job.extranonce1Size,
      extranonce2Size: job.extranonce2Size,
      expected: [4, this.sessionCfg.extranonce2Size],
    })
    return false
  }

  private variantFor(job: Job, payoutScript: Uint8Array | undefined): Job {
    if (payoutScript === undefined || this.sessionCfg.payoutMode !== 'miner') return job
    const v = this.opts.work.jobForPayout?.(job, payoutScript)
    if (!v) {
      if (!this.warnedVariants) {
        this.warnedVariants = true
        this.log.warn("the work source gave no job for a miner's payout address; paying the pool's address instead", {
          jobId: job.id,
        })
      }
      return job
    }
    if (v !== job) this.book.add(v, Date.now())
    return v
  }

  /**
   * New work: the base notify line is encoded once by the job; each connection only writes it.
   * Writing to thousands of sockets costs ~10–15 µs each, so the fan-out runs in slices of
   * `BROADCAST_SLICE` connections, one per event-loop turn: submits from other miners are answered
   * between slices instead of waiting for the whole broadcast (issue 8: validation and broadcast
   * never hold the loop long). A newer job supersedes the rest of an unfinished fan-out, inheriting
   * its clean flag so no miner misses a clean_jobs.
   */
  private broadcast(job: Job, clean: boolean): void {
    if (this.closing || !this.acceptableJob(job)) return
    const now = Date.now()
    this.book.addCurrent(job, now)
    const f = this.fanOut
    const inheritClean = f !== undefined && f.next < f.targets.length && f.clean
    this.fanOut = {
      job,
      clean: clean || inheritClean,
      nowMs: now,
      targets: [...this.conns.values()],
      next: 0,
      startNs: process.hrtime.bigint(),
      slices: 0,
      maxSliceMs: 0,
    }
    this.broadcastSlice(this.fanOut)
  }

  private broadcastSlice(f: FanOut): void {
    if (this.fanOut !== f || this.closing) return
    const t0 = process.hrtime.bigint()
    const end = Math.min(f.targets.length, f.next + BROADCAST_SLICE)
    for (let i = f.next; i < end; i++) {
      const c = f.targets[i]!
      if (c.closed || !c.session.ready) continue
      try {
        c.session.sendJob(this.variantFor(f.job, c.session.payoutScript), f.clean, f.nowMs)
      } catch (e) {
        this.log.error('sending a job failed', { connectionId: c.id, error: (e as Error).stack ?? String(e) })
        this.closeConn(c, 'internal error', 'error', 'now')
      }
    }
    f.next = end
    f.slices++
    const doneNs = process.hrtime.bigint()
    f.maxSliceMs = Math.max(f.maxSliceMs, Number(doneNs - t0) / 1e6)
    if (end < f.targets.length) {
      setImmediate(() => this.broadcastSlice(f))
      return
    }
    this.lastFanOut = {
      jobId: f.job.id,
      connections: f.targets.length,
      slices: f.slices,
      totalMs: Number(doneNs - f.startNs) / 1e6,
      maxSliceMs: f.maxSliceMs,
    }
    this.log.debug('job broadcast', { ...this.lastFanOut, height: f.job.height, clean: f.clean })
  }

  private tick(): void {
    const now = Date.now()
    const vardiffTick = this.tickCount++ % Math.max(1, Math.round(5000 / this.limits.tickMs)) === 0
    const current = this.opts.work.current()
    for (const c of this.conns.values()) {
      if (c.closed) continue
      const s = c.session
      try {
        if (!s.subscribed && now - s.connectedAtMs > this.limits.subscribeTimeoutMs) {
          this.closeConn(c, `no mining.subscribe within ${this.limits.subscribeTimeoutMs / 1000} s`, 'info', 'flush')
          continue
        }
        if (now - s.lastMessageMs > this.limits.idleTimeoutMs) {
          this.closeConn(c, `silent for ${Math.round((now - s.lastMessageMs) / 1000)} s`, 'info', 'flush')
          continue
        }
        if (!s.ready) continue
        if (vardiffTick) s.tick(now)
        if (now - s.lastNotifyMs > this.limits.keepaliveMs) {
          // Keep cgminer (90 s) and ESP-Miner (180 s) from declaring us dead while the node is away.
          if (current && this.acceptableJob(current)) s.keepalive(this.variantFor(current, s.payoutScript), now)
          else {
            this.write(c, encodePing(this.nextPingId++))
            s.lastNotifyMs = now
          }
        }
      } catch (e) {
        this.log.error('housekeeping failed', { connectionId: c.id, error: (e as Error).stack ?? String(e) })
        this.closeConn(c, 'internal error', 'error', 'now')
      }
    }
  }
}

function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve((server.address() as net.AddressInfo).port)
    })
  })
}

function normaliseIp(addr: string | undefined): string {
  if (addr === undefined) return 'unknown'
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr
}

/** A connection's view of the server (see `SessionHost`); shared methods, two fields. */
class ConnHost implements SessionHost {
  constructor(
    private readonly server: StratumServer,
    private readonly conn: Conn,
  ) {}

  get logger(): Logger {
    return this.server.logger
  }
  write(data: string | Buffer): void {
    this.server.hostCall.write(this.conn, data)
  }
  close(reason: string): void {
    this.server.hostCall.close(this.conn, reason)
  }
  currentJob(payoutScript: Uint8Array | undefined): Job | undefined {
    return this.server.hostCall.currentJob(payoutScript)
  }
  lookupJob(jobId: string): Job | undefined {
    return this.server.hostCall.book().get(jobId)
  }
  isStale(job: Job): boolean {
    return this.server.hostCall.book().isStale(job)
  }
  hasShare(job: Job, key: string): boolean {
    return this.server.hostCall.book().hasShare(job, key)
  }
  addShare(job: Job, key: string): void {
    this.server.hostCall.book().addShare(job, key)
  }
  reissue(job: Job): Job | undefined {
    return this.server.hostCall.reissue(job)
  }
  onShare(event: ShareEvent): void {
    this.server.hostCall.onShare(event)
  }
  onAuthorize(worker: string): void {
    this.server.hostCall.onAuthorize(this.conn, worker)
  }
  onBlock(job: Job, blockBytes: Buffer, hashHex: string, finder: BlockFinder): void {
    this.server.hostCall.onBlock(job, blockBytes, hashHex, finder)
  }
}
