/**
 * A small validating upstream pool for proxy tests, on 127.0.0.1 only. It speaks the pool side of
 * Stratum V1 (configure, subscribe with session resume, extranonce.subscribe, authorize, submit)
 * and checks every share it receives for real: known job, not stale, extranonce2 of exactly the
 * announced size, version bits inside the mask, the real SHA-256d hash against the difficulty in
 * force for that job, no duplicates. Tests script it: new jobs, difficulty changes, rejections,
 * silence, `set_extranonce`, `client.reconnect`, raw garbage, dropped connections.
 * Test support only.
 */
import net from 'node:net'
import tls from 'node:tls'
import { difficultyToTarget, meetsTargetLE, targetToBytesLE } from '../../bitcoin/target'
import { type BlockTemplate, buildJob, type Job } from '../../pool/job'
import { computeShare, rolledVersion, versionWithinMask } from '../../pool/share'
import { LineDecoder, type RpcId } from '../../stratum/codec'
import {
  encodeError,
  encodeResult,
  encodeSetDifficulty,
  encodeSetExtranonce,
  encodeSubscribeResult,
  encodeTrue,
  hex32,
  parseSubmit,
} from '../../stratum/messages'
import { mainnetTemplate, nextBlockTemplate, POOL_ADDRESS, payoutScript } from '../../stratum/testing/harness'

export interface TestPoolOptions {
  /** Extranonce2 size announced at subscribe. Default 8 (ckpool/DATUM). */
  extranonce2Size?: number
  /** Share difficulty. Default 2⁻²⁴ (about 256 hashes per share: d · 2³² hashes on average). */
  difficulty?: number
  /** Version-rolling mask granted; 0 = the pool does not know mining.configure. Default 0x1fffe000. */
  versionMask?: number
  /** Decides authorize; a string is the refusal message. Default: everyone. */
  authorize?: (user: string, password: string) => true | string
  /** Give a reconnecting client its old extranonce1 when it offers the session id. Default true. */
  resume?: boolean
  template?: BlockTemplate
  tls?: { cert: string | Buffer; key: string | Buffer }
}

export interface PoolShare {
  connId: number
  worker: string
  jobId: string
  extranonce1Hex: string
  extranonce2Hex: string
  ntime: number
  nonce: number
  versionBits?: number
  hashHex: string
  difficulty: number
}

export interface PoolReject extends Omit<PoolShare, 'hashHex' | 'difficulty'> {
  code: number
  message: string
}

export interface PoolConn {
  id: number
  socket: net.Socket
  extranonce1: Buffer
  sessionId: string
  subscribed: boolean
  extranonceSubscribed: boolean
  mask: number
  workers: Set<string>
  /** Every request received, in order. */
  requests: Array<{ method: string; params: unknown[] }>
  /** Difficulty in force per job sent to this connection. */
  jobDiff: Map<string, number>
  difficulty: number
  closed: boolean
}

export class TestUpstreamPool {
  readonly conns: PoolConn[] = []
  readonly shares: PoolShare[] = []
  readonly rejects: PoolReject[] = []
  port = 0
  /** When set, every submit is refused with this error. */
  rejectAll: { code: number; message: string } | undefined
  /** When true, new connections are closed at once (a pool that is down but its port answers). */
  refuseConnections = false
  private server: net.Server | undefined
  private readonly opts: Required<Omit<TestPoolOptions, 'tls' | 'template'>> & Pick<TestPoolOptions, 'tls'>
  private template: BlockTemplate
  private readonly jobs = new Map<string, { job: Job; generation: number }>()
  private generation = 0
  private current: Job | undefined
  private nextJob = 1
  private nextConn = 1
  /** Each pool instance hands out its own extranonce1 range, as two real pools would. */
  private static instances = 0
  private nextEn1 = (0x10000000 + ++TestUpstreamPool.instances * 0x01000000) >>> 0
  private readonly sessions = new Map<string, Buffer>()
  private readonly seen = new Set<string>()
  private waiters: Array<() => void> = []

  constructor(opts: TestPoolOptions = {}) {
    this.opts = {
      extranonce2Size: opts.extranonce2Size ?? 8,
      difficulty: opts.difficulty ?? 2 ** -24,
      versionMask: opts.versionMask ?? 0x1fffe000,
      authorize: opts.authorize ?? (() => true),
      resume: opts.resume ?? true,
      tls: opts.tls,
    }
    this.template = opts.template ?? mainnetTemplate()
    this.buildJob()
  }

  async listen(): Promise<number> {
    const handler = (s: net.Socket): void => this.accept(s)
    this.server = this.opts.tls
      ? tls.createServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, handler)
      : net.createServer(handler)
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.port = (this.server.address() as net.AddressInfo).port
    return this.port
  }

  /** Live (subscribed, not closed) connections. */
  get live(): PoolConn[] {
    return this.conns.filter((c) => !c.closed && c.subscribed)
  }

  get currentJob(): Job {
    return this.current!
  }

  /** Resolves when `pred()` holds, re-checked after every message the pool handles. */
  async until(pred: () => boolean): Promise<void> {
    while (!pred()) await new Promise<void>((r) => this.waiters.push(r))
  }

  /** New work for everyone; `clean` = a new block (earlier jobs become stale). */
  newJob(clean = false): Job {
    if (clean) this.template = nextBlockTemplate(this.template)
    else this.template = { ...this.template, curtime: this.template.curtime + 1 }
    const job = this.buildJob(clean)
    for (const c of this.live) if (c.workers.size > 0) this.sendJob(c, job, clean)
    return job
  }

  /** Applies to the jobs sent after it, as real pools do. */
  setDifficulty(d: number, conn?: PoolConn): void {
    for (const c of conn ? [conn] : this.live) {
      c.difficulty = d
      this.write(c, encodeSetDifficulty(d))
    }
  }

  /** `mining.set_extranonce` with a fresh extranonce1, then a clean job. */
  setExtranonce(conn: PoolConn, extranonce2Size = this.opts.extranonce2Size): Buffer {
    const en1 = this.freshEn1()
    conn.extranonce1 = en1
    this.sessions.set(conn.sessionId, en1)
    this.write(conn, encodeSetExtranonce(en1.toString('hex'), extranonce2Size))
    const job = this.buildJob(false)
    this.sendJob(conn, job, true)
    return en1
  }

  reconnect(conn: PoolConn, params: unknown[] = []): void {
    this.write(conn, `${JSON.stringify({ id: null, method: 'client.reconnect', params })}\n`)
  }

  sendRaw(conn: PoolConn, raw: string): void {
    this.write(conn, raw)
  }

  dropAll(): void {
    for (const c of this.conns) c.socket.destroy()
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy()
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()))
  }

  // -------------------------------------------------------------------------------------------

  private freshEn1(): Buffer {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(this.nextEn1++ >>> 0)
    return b
  }

  private buildJob(clean = true): Job {
    if (clean) this.generation++
    const job = buildJob(this.template, {
      payoutScript: payoutScript(POOL_ADDRESS),
      coinbaseTag: 'test-upstream',
      extranonce1Size: 4,
      extranonce2Size: this.opts.extranonce2Size,
      jobId: `u${(this.nextJob++).toString(16)}`,
      versionRollingMask: 0x1fffe000,
    })
    this.jobs.set(job.id, { job, generation: this.generation })
    this.current = job
    return job
  }

  private sendJob(c: PoolConn, job: Job, clean: boolean): void {
    c.jobDiff.set(job.id, c.difficulty)
    this.write(c, job.notifyLine(clean))
  }

  private write(c: PoolConn, line: string): void {
    if (!c.closed) c.socket.write(line)
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  private accept(socket: net.Socket): void {
    if (this.refuseConnections) {
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    const conn: PoolConn = {
      id: this.nextConn++,
      socket,
      extranonce1: Buffer.alloc(4),
      sessionId: '',
      subscribed: false,
      extranonceSubscribed: false,
      mask: 0,
      workers: new Set(),
      requests: [],
      jobDiff: new Map(),
      difficulty: this.opts.difficulty,
      closed: false,
    }
    this.conns.push(conn)
    const decoder = new LineDecoder()
    socket.on('error', () => {})
    socket.on('close', () => {
      conn.closed = true
      this.wake()
    })
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (item) => {
        if (item.kind === 'request') {
          conn.requests.push({ method: item.method, params: item.params })
          this.handle(conn, item.id, item.method, item.params)
        }
      })
      this.wake()
    })
    this.wake()
  }

  private handle(c: PoolConn, id: RpcId, method: string, params: unknown[]): void {
    switch (method) {
      case 'mining.configure': {
        if (this.opts.versionMask === 0) {
          this.write(c, encodeError(id, -3, 'Method not found'))
          return
        }
        const p = (params[1] ?? {}) as Record<string, unknown>
        const asked = Number.parseInt(String(p['version-rolling.mask'] ?? 'ffffffff'), 16) >>> 0
        c.mask = (asked & this.opts.versionMask) >>> 0
        this.write(c, encodeResult(id, { 'version-rolling': true, 'version-rolling.mask': hex32(c.mask) }))
        return
      }
      case 'mining.subscribe': {
        const offered = typeof params[1] === 'string' ? params[1] : undefined
        const resumed = offered !== undefined && this.opts.resume ? this.sessions.get(offered) : undefined
        // Resume only when no live connection holds that extranonce1.
        const free = resumed !== undefined && !this.live.some((o) => o !== c && o.extranonce1.equals(resumed))
        c.extranonce1 = free && resumed ? resumed : this.freshEn1()
        c.sessionId = free && offered ? offered : `5e${c.id.toString(16).padStart(6, '0')}`
        this.sessions.set(c.sessionId, c.extranonce1)
        c.subscribed = true
        // Subscription id = session id (what the client offers back for resume).
        const line = encodeSubscribeResult(id, c.extranonce1.toString('hex'), this.opts.extranonce2Size).replace(
          /"mining\.notify","[0-9a-f]+"/,
          `"mining.notify","${c.sessionId}"`,
        )
        this.write(c, line)
        return
      }
      case 'mining.extranonce.subscribe':
        c.extranonceSubscribed = true
        this.write(c, encodeResult(id, true))
        return
      case 'mining.authorize': {
        const user = String(params[0] ?? '')
        const verdict = this.opts.authorize(user, String(params[1] ?? ''))
        if (verdict !== true) {
          this.write(c, `{"id":${JSON.stringify(id)},"result":false,"error":[24,${JSON.stringify(verdict)},null]}\n`)
          return
        }
        const first = c.workers.size === 0
        c.workers.add(user)
        this.write(c, encodeTrue(id))
        if (first && c.subscribed) {
          this.write(c, encodeSetDifficulty(c.difficulty))
          this.sendJob(c, this.current!, true)
        }
        return
      }
      case 'mining.submit':
        this.submit(c, id, params)
        return
      default:
        if (id !== null) this.write(c, encodeError(id, -3, 'Method not found'))
    }
  }

  /** Returns whether the share was accepted. */
  private submit(c: PoolConn, id: RpcId, params: unknown[]): boolean {
    const reject = (code: number, message: string, s?: ReturnType<typeof parseSubmit>): false => {
      const v = s?.ok ? s.value : undefined
      this.rejects.push({
        connId: c.id,
        worker: v?.worker ?? '',
        jobId: v?.jobId ?? '',
        extranonce1Hex: c.extranonce1.toString('hex'),
        extranonce2Hex: v?.extranonce2Hex ?? '',
        ntime: v?.ntime ?? 0,
        nonce: v?.nonce ?? 0,
        ...(v?.versionBits !== undefined ? { versionBits: v.versionBits } : {}),
        code,
        message,
      })
      this.write(c, encodeError(id, code, message))
      return false
    }
    const parsed = parseSubmit(params)
    if (!parsed.ok) return reject(20, parsed.message)
    const s = parsed.value
    if (!c.workers.has(s.worker)) return reject(24, 'Unauthorized worker', parsed)
    if (this.rejectAll) return reject(this.rejectAll.code, this.rejectAll.message, parsed)
    const entry = this.jobs.get(s.jobId)
    const diff = c.jobDiff.get(s.jobId)
    if (!entry || diff === undefined) return reject(21, 'Job not found', parsed)
    if (entry.generation !== this.generation) return reject(21, 'Stale share', parsed)
    if (s.extranonce2Hex.length !== this.opts.extranonce2Size * 2) return reject(20, 'Invalid nonce2 length', parsed)
    let version = entry.job.version
    if (s.versionBits !== undefined) {
      if (!versionWithinMask(entry.job.version, s.versionBits, c.mask))
        return reject(20, 'Invalid version mask', parsed)
      version = rolledVersion(entry.job.version, s.versionBits, c.mask)
    }
    const share = computeShare(
      entry.job,
      c.extranonce1,
      Buffer.from(s.extranonce2Hex, 'hex'),
      s.ntime,
      s.nonce,
      version,
    )
    if (!meetsTargetLE(share.hash, targetToBytesLE(difficultyToTarget(diff))))
      return reject(23, `Difficulty too low (${share.difficulty.toPrecision(3)} < ${diff})`, parsed)
    const key = share.hash.toString('hex')
    if (this.seen.has(key)) return reject(22, 'Duplicate share', parsed)
    this.seen.add(key)
    this.shares.push({
      connId: c.id,
      worker: s.worker,
      jobId: s.jobId,
      extranonce1Hex: c.extranonce1.toString('hex'),
      extranonce2Hex: s.extranonce2Hex,
      ntime: s.ntime,
      nonce: s.nonce,
      ...(s.versionBits !== undefined ? { versionBits: s.versionBits } : {}),
      hashHex: share.hashHex,
      difficulty: diff,
    })
    this.write(c, encodeTrue(id))
    return true
  }
}
