// Stratum V1 load generator for the pool bench: N clients subscribe and authorize, wait for a
// job, then (on command) keep `depth` submits in flight each for `seconds`, measuring the time from
// each submit to its answer. Random extranonce2/nonce on the current job, as a flood of shares
// would look: every submit is hashed and validated in full by the server, and answered (mostly
// low-difficulty rejects). It also times the arrival of a new job on every connection.
//
// Runs as its own process so the server's event loop is not shared with the clients (the cores
// are). Driven over stdin/stdout by bench/pool.ts:
//   stdout ← {"type":"ready",...}       all clients hold a job
//   stdin  → watch                      record when each client next gets a clean job
//   stdout ← {"type":"broadcast",...}   monotonic (CLOCK_MONOTONIC, same clock as the parent) times
//   stdin  → load                       run the submit load (depth in flight per client)
//   stdout ← {"type":"load",...}
//   stdin  → paced HZ SECONDS           every client submits HZ times a second (open loop)
//   stdout ← {"type":"paced",...}
//   stdin  → exit
// Usage by hand: npx tsx bench/stratum-load.ts --port 3333 --clients 1000 --seconds 10 --auto
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { createInterface } from 'node:readline'

interface Args {
  host: string
  port: number
  clients: number
  seconds: number
  depth: number
  user: string
  /** Run the load right after `ready` and exit (for use by hand). */
  auto: boolean
}

function parseArgs(argv: string[]): Args {
  const a: Args = { host: '127.0.0.1', port: 3333, clients: 50, seconds: 10, depth: 4, user: 'load', auto: false }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = argv[i + 1]
    if (k === '--auto') a.auto = true
    else if (k === '--host' && v) a.host = v
    else if (k === '--port' && v) a.port = Number(v)
    else if (k === '--clients' && v) a.clients = Number(v)
    else if (k === '--seconds' && v) a.seconds = Number(v)
    else if (k === '--depth' && v) a.depth = Number(v)
    else if (k === '--user' && v) a.user = v
    else continue
    if (k !== '--auto') i++
  }
  return a
}

interface Pending {
  kind: 'subscribe' | 'authorize' | 'submit'
  sentNs: bigint
}

class Client {
  private buf = ''
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  en2Size = 4
  jobId: string | undefined
  ntime = ''
  authorized = false
  closed = false
  /** When the first clean notify after `armWatch()` arrived. */
  watchNs: bigint | undefined
  private watching = false

  constructor(
    readonly socket: net.Socket,
    private readonly name: string,
    private readonly run: Run,
  ) {
    socket.setNoDelay(true)
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => this.onData(d))
    socket.on('error', (e: NodeJS.ErrnoException) => run.count(`socket ${e.code ?? e.message}`))
    socket.on('close', () => {
      this.closed = true
      run.onClose()
    })
  }

  private send(kind: Pending['kind'], method: string, params: unknown[]): void {
    const id = this.nextId++
    this.pending.set(id, { kind, sentNs: process.hrtime.bigint() })
    this.socket.write(`${JSON.stringify({ id, method, params })}\n`)
  }

  start(): void {
    this.send('subscribe', 'mining.subscribe', ['hashyard-bench/1.0'])
  }

  armWatch(): void {
    this.watching = true
    this.watchNs = undefined
  }

  submit(): void {
    if (this.closed || this.jobId === undefined) return
    this.send('submit', 'mining.submit', [
      this.name,
      this.jobId,
      randomBytes(this.en2Size).toString('hex'),
      this.ntime,
      randomBytes(4).toString('hex'),
    ])
  }

  private onData(d: string): void {
    this.buf += d
    for (;;) {
      const nl = this.buf.indexOf('\n')
      if (nl < 0) return
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      if (line.trim() !== '') this.onLine(line)
    }
  }

  private onLine(line: string): void {
    let m: { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown }
    try {
      m = JSON.parse(line)
    } catch {
      this.run.count('bad json from the server')
      return
    }
    if (m.method === 'mining.notify' && Array.isArray(m.params)) {
      const first = this.jobId === undefined
      this.jobId = String(m.params[0])
      this.ntime = String(m.params[7])
      if (this.watching && m.params[8] === true && this.watchNs === undefined) {
        this.watchNs = process.hrtime.bigint()
        this.run.onWatched()
      }
      if (first) this.run.onJob()
      return
    }
    if (m.method !== undefined || typeof m.id !== 'number') return
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    if (p.kind === 'subscribe') {
      const r = m.result as [unknown, string, number] | undefined
      this.en2Size = r?.[2] ?? 4
      this.send('authorize', 'mining.authorize', [this.name, 'x'])
    } else if (p.kind === 'authorize') {
      this.authorized = m.result === true
      if (!this.authorized) this.run.count('authorize refused')
    } else {
      this.run.onAnswer(p.sentNs, m.result === true, m.error, this)
    }
  }
}

class Run {
  readonly clients: Client[] = []
  withJob = 0
  closedCount = 0
  watched = 0
  measuring = false
  stopAtMs = 0
  answered = 0
  accepted = 0
  rejected = 0
  latenciesMs: number[] = []
  lastAnswerNs = 0n
  readonly errors: Record<string, number> = {}
  private onJobWaiter: (() => void) | undefined
  private onWatchWaiter: (() => void) | undefined

  constructor(readonly a: Args) {}

  count(what: string): void {
    this.errors[what] = (this.errors[what] ?? 0) + 1
  }

  onClose(): void {
    this.closedCount++
  }

  onJob(): void {
    this.withJob++
    if (this.withJob >= this.a.clients) this.onJobWaiter?.()
  }

  onWatched(): void {
    this.watched++
    if (this.watched >= this.clients.length) this.onWatchWaiter?.()
  }

  onAnswer(sentNs: bigint, ok: boolean, error: unknown, c: Client): void {
    if (this.measuring) {
      this.answered++
      this.lastAnswerNs = process.hrtime.bigint()
      this.latenciesMs.push(Number(this.lastAnswerNs - sentNs) / 1e6)
      if (ok) this.accepted++
      else {
        this.rejected++
        const code = Array.isArray(error) ? String(error[0]) : 'other'
        this.errors[`reject ${code}`] = (this.errors[`reject ${code}`] ?? 0) + 1
      }
      if (Date.now() < this.stopAtMs) c.submit()
    }
  }

  async connectAll(): Promise<void> {
    const jobs = new Promise<void>((r) => {
      this.onJobWaiter = r
    })
    for (let i = 0; i < this.a.clients; i++) {
      const s = net.connect({ host: this.a.host, port: this.a.port })
      const c = new Client(s, `${this.a.user}.w${i}`, this)
      this.clients.push(c)
      s.once('connect', () => c.start())
      // Paced like a farm powering up, and to stay inside the listen backlog.
      if (i % 100 === 99) await sleep(20)
    }
    await Promise.race([jobs, sleep(60_000)])
  }

  async watchBroadcast(
    timeoutMs = 30_000,
  ): Promise<{ received: number; firstNs: string; lastNs: string; p50Ns: string }> {
    this.watched = 0
    const done = new Promise<void>((r) => {
      this.onWatchWaiter = r
    })
    for (const c of this.clients) c.armWatch()
    // Parent triggers the new block only after it reads this line.
    emit({ type: 'watching' })
    await Promise.race([done, sleep(timeoutMs)])
    const t = this.clients
      .map((c) => c.watchNs)
      .filter((x): x is bigint => x !== undefined)
      .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
    return {
      received: t.length,
      firstNs: String(t[0] ?? 0n),
      lastNs: String(t.at(-1) ?? 0n),
      p50Ns: String(t[Math.floor(t.length / 2)] ?? 0n),
    }
  }

  async load(): Promise<Record<string, unknown>> {
    this.answered = 0
    this.accepted = 0
    this.rejected = 0
    this.latenciesMs = []
    this.measuring = true
    this.stopAtMs = Date.now() + this.a.seconds * 1000
    const t0 = process.hrtime.bigint()
    for (const c of this.clients) for (let k = 0; k < this.a.depth; k++) c.submit()
    await sleep(this.a.seconds * 1000)
    // Answers still in flight are counted for one more second, then the window closes.
    await sleep(1000)
    this.measuring = false
    // The window ends with the last answer (the tail of submits sent just before the stop).
    const el = Number((this.lastAnswerNs > t0 ? this.lastAnswerNs : process.hrtime.bigint()) - t0) / 1e9
    const lat = this.latenciesMs.sort((x, y) => x - y)
    const q = (p: number): number | null =>
      lat.length === 0 ? null : Number(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2))
    return {
      clients: this.a.clients,
      connected: this.clients.filter((c) => !c.closed).length,
      withJob: this.withJob,
      seconds: Number(el.toFixed(2)),
      answered: this.answered,
      perSec: Math.round(this.answered / el),
      p50ms: q(0.5),
      p99ms: q(0.99),
      maxms: lat.length ? Number(lat.at(-1)!.toFixed(2)) : null,
      accepted: this.accepted,
      rejected: this.rejected,
      closed: this.closedCount,
      errors: this.errors,
    }
  }

  /**
   * Open-loop load: every client submits `perClientHz` times a second (spread evenly, not in
   * bursts) for `seconds`, as a farm does; the latency then measures the server, not a queue the
   * generator built itself.
   */
  async paced(perClientHz: number, seconds: number): Promise<Record<string, unknown>> {
    this.answered = 0
    this.accepted = 0
    this.rejected = 0
    this.latenciesMs = []
    this.measuring = true
    this.stopAtMs = 0 // answers do not trigger further submits
    const periodMs = 1000 / perClientHz
    const endMs = Date.now() + seconds * 1000
    const timers: NodeJS.Timeout[] = []
    this.clients.forEach((c, i) => {
      const start = setTimeout(
        () => {
          c.submit()
          const t = setInterval(() => {
            if (Date.now() < endMs) c.submit()
          }, periodMs)
          timers.push(t)
        },
        (i / this.clients.length) * periodMs,
      )
      timers.push(start)
    })
    await sleep(seconds * 1000 + 1000)
    for (const t of timers) clearTimeout(t)
    this.measuring = false
    const lat = this.latenciesMs.sort((x, y) => x - y)
    const q = (p: number): number | null =>
      lat.length === 0 ? null : Number(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2))
    return {
      clients: this.clients.length,
      perClientHz,
      answered: this.answered,
      perSec: Math.round(this.answered / seconds),
      p50ms: q(0.5),
      p99ms: q(0.99),
      maxms: lat.length ? Number(lat.at(-1)!.toFixed(2)) : null,
      errors: this.errors,
    }
  }

  close(): void {
    for (const c of this.clients) c.socket.destroy()
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`)
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2))
  const run = new Run(a)
  await run.connectAll()
  emit({
    type: 'ready',
    clients: a.clients,
    withJob: run.withJob,
    authorized: run.clients.filter((c) => c.authorized).length,
    errors: run.errors,
  })
  if (a.auto) {
    emit({ type: 'load', ...(await run.load()) })
    run.close()
    process.exit(0)
  }
  const rl = createInterface({ input: process.stdin })
  for await (const line of rl) {
    const cmd = line.trim()
    if (cmd === 'watch') emit({ type: 'broadcast', ...(await run.watchBroadcast()) })
    else if (cmd === 'load') emit({ type: 'load', ...(await run.load()) })
    else if (cmd.startsWith('paced ')) {
      const [, hz = '1', secs = '5'] = cmd.split(' ')
      emit({ type: 'paced', ...(await run.paced(Number(hz), Number(secs))) })
    } else if (cmd === 'exit') break
  }
  run.close()
  process.exit(0)
}

void main()
