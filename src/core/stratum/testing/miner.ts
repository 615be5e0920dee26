/**
 * A Stratum V1 test miner: a line-based TCP client plus an independent implementation of the
 * miner's side of the hashing (research/stratum.md §0/§2 reference), deliberately not reusing
 * `src/core/pool` so tests cross-check the pool against a second implementation.
 * Test support only: loopback connections, throws on protocol surprises.
 */
import { hash } from 'node:crypto'
import net from 'node:net'

export interface NotifyJob {
  jobId: string
  prevhash: string
  coinb1: string
  coinb2: string
  branch: string[]
  version: string
  nbits: string
  ntime: string
  clean: boolean
}

export interface StratumReply {
  id: number | string | null
  result: unknown
  error: unknown
  'reject-reason'?: string
}

/** A decoded line from the server under test. */
export interface Json {
  id?: number | string | null
  method?: string
  params?: unknown[]
  result?: unknown
  error?: unknown
  'reject-reason'?: string
}

export class TestMiner {
  /** Every decoded line received, in order. */
  readonly messages: Json[] = []
  readonly notifies: NotifyJob[] = []
  readonly difficulties: number[] = []
  /** Raw text received (for exact-line assertions). */
  rawLines: string[] = []
  closed = false
  readonly closedPromise: Promise<void>
  private buf = ''
  private nextId = 1
  private waiters: Array<() => void> = []

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => this.onData(d))
    socket.on('error', () => {})
    this.closedPromise = new Promise((r) =>
      socket.on('close', () => {
        this.closed = true
        this.wake()
        r()
      }),
    )
  }

  static connect(port: number, host = '127.0.0.1'): Promise<TestMiner> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => {
        s.off('error', reject)
        resolve(new TestMiner(s))
      })
      s.once('error', reject)
    })
  }

  private onData(d: string): void {
    this.buf += d
    for (;;) {
      const nl = this.buf.indexOf('\n')
      if (nl < 0) break
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      this.rawLines.push(line)
      const m = JSON.parse(line) as Json
      this.messages.push(m)
      const p = m.params ?? []
      if (m.method === 'mining.notify') {
        this.notifies.push({
          jobId: p[0] as string,
          prevhash: p[1] as string,
          coinb1: p[2] as string,
          coinb2: p[3] as string,
          branch: p[4] as string[],
          version: p[5] as string,
          nbits: p[6] as string,
          ntime: p[7] as string,
          clean: p[8] as boolean,
        })
      } else if (m.method === 'mining.set_difficulty') {
        this.difficulties.push(p[0] as number)
      }
    }
    this.wake()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** Resolves with the first message (from index `from`) matching `pred`; rejects if the socket closes first. */
  async waitFor(pred: (m: Json) => boolean, from = 0): Promise<Json> {
    for (;;) {
      for (let i = from; i < this.messages.length; i++) {
        const m = this.messages[i]!
        if (pred(m)) return m
      }
      if (this.closed) throw new Error('connection closed while waiting')
      await new Promise<void>((r) => this.waiters.push(r))
    }
  }

  /** Waits until at least `n` notifies arrived; returns the n-th (1-based). */
  async notifyCount(n: number): Promise<NotifyJob> {
    await this.waitFor(() => this.notifies.length >= n)
    return this.notifies[n - 1]!
  }

  send(raw: string | Buffer): void {
    this.socket.write(raw)
  }

  /** Sends a request and resolves with the reply carrying its id. */
  async request(method: string, params: unknown[] = []): Promise<StratumReply> {
    const id = this.nextId++
    const from = this.messages.length
    this.send(`${JSON.stringify({ id, method, params })}\n`)
    return (await this.waitFor((m) => m.id === id && m.method === undefined, from)) as StratumReply
  }

  /** Sends several requests in one write (pipelining) and resolves with their replies in order. */
  async pipeline(reqs: Array<[string, unknown[]]>): Promise<StratumReply[]> {
    const from = this.messages.length
    const ids = reqs.map(() => this.nextId++)
    this.send(reqs.map(([method, params], i) => `${JSON.stringify({ id: ids[i], method, params })}\n`).join(''))
    const replies = await Promise.all(ids.map((id) => this.waitFor((m) => m.id === id && m.method === undefined, from)))
    return replies as StratumReply[]
  }

  close(): void {
    this.socket.destroy()
  }
}

// ---------------------------------------------------------------------------------------------
// Miner-side hashing (independent of src/core/pool)

const DIFF1 = 0x00000000ffff0000000000000000000000000000000000000000000000000000n

const dsha = (b: Buffer): Buffer => hash('sha256', hash('sha256', b, 'buffer'), 'buffer')

/** Stratum prevhash → header bytes: reverse the bytes inside each 4-byte word (research §0). */
function prevFromStratum(hex: string): Buffer {
  const p = Buffer.from(hex, 'hex')
  for (let i = 0; i < 32; i += 4) p.subarray(i, i + 4).reverse()
  return p
}

export function merkleRootFor(job: NotifyJob, en1Hex: string, en2Hex: string): Buffer {
  let root = dsha(Buffer.from(job.coinb1 + en1Hex + en2Hex + job.coinb2, 'hex'))
  for (const b of job.branch) root = dsha(Buffer.concat([root, Buffer.from(b, 'hex')]))
  return root
}

/** BIP310 header version from the job's version and submitted bits. */
export function headerVersion(job: NotifyJob, versionBits: number | undefined, mask: number): number {
  const v = Number.parseInt(job.version, 16)
  return versionBits === undefined ? v : ((v & ~mask) | (versionBits & mask)) >>> 0
}

export function headerFor(job: NotifyJob, root: Buffer, ntime: number, nonce: number, version: number): Buffer {
  const h = Buffer.alloc(80)
  h.writeUInt32LE(version >>> 0, 0)
  prevFromStratum(job.prevhash).copy(h, 4)
  root.copy(h, 36)
  h.writeUInt32LE(ntime >>> 0, 68)
  h.writeUInt32LE(Number.parseInt(job.nbits, 16) >>> 0, 72)
  h.writeUInt32LE(nonce >>> 0, 76)
  return h
}

export const hashInt = (hashInternal: Buffer): bigint =>
  BigInt(`0x${Buffer.from(hashInternal).reverse().toString('hex')}`)

/** Share target for a power-of-two (or any dyadic) difficulty: exactly floor(diff1 / d). */
export function shareTarget(difficulty: number): bigint {
  const scaled = difficulty * 2 ** 64
  if (!Number.isInteger(scaled)) throw new Error('test difficulties must be multiples of 2^-64')
  return (DIFF1 << 64n) / BigInt(scaled)
}

export function networkTarget(nbitsHex: string): bigint {
  const nbits = Number.parseInt(nbitsHex, 16)
  return BigInt(nbits & 0x007fffff) * 256n ** BigInt((nbits >>> 24) - 3)
}

export interface Ground {
  nonce: number
  nonceHex: string
  ntimeHex: string
  header: Buffer
  /** Display order. */
  hashHex: string
  hashValue: bigint
}

/**
 * Searches nonces from `startNonce` for a header whose hash is ≤ `target` (`want: 'below'`) or
 * > `target` (`want: 'above'`). Throws after `maxTries`.
 */
export function grind(
  job: NotifyJob,
  en1Hex: string,
  en2Hex: string,
  target: bigint,
  opts: {
    want?: 'below' | 'above'
    versionBits?: number
    mask?: number
    startNonce?: number
    maxTries?: number
    ntime?: number
  } = {},
): Ground {
  const root = merkleRootFor(job, en1Hex, en2Hex)
  const ntime = opts.ntime ?? Number.parseInt(job.ntime, 16)
  const version = headerVersion(job, opts.versionBits, opts.mask ?? 0x1fffe000)
  const want = opts.want ?? 'below'
  const max = opts.maxTries ?? 2_000_000
  let nonce = (opts.startNonce ?? 0) >>> 0
  const header = headerFor(job, root, ntime, nonce, version)
  for (let i = 0; i < max; i++, nonce = (nonce + 1) >>> 0) {
    header.writeUInt32LE(nonce, 76)
    const h = dsha(header)
    const v = hashInt(h)
    if (want === 'below' ? v <= target : v > target) {
      return {
        nonce,
        nonceHex: nonce.toString(16).padStart(8, '0'),
        ntimeHex: ntime.toString(16).padStart(8, '0'),
        header: Buffer.from(header),
        hashHex: Buffer.from(h).reverse().toString('hex'),
        hashValue: v,
      }
    }
  }
  throw new Error(`no nonce found in ${max} tries`)
}
