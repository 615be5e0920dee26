/**
 * Proxy benchmark (issue 3 "Performance"). Run: `npx tsx bench/proxy.ts` (or `npm run bench proxy`).
 *
 * Three processes on 127.0.0.1, so each is measured on its own event loop:
 * - upstream: the project's own StratumServer (WorkFeed on a real mainnet template), extranonce2
 *   of 8 bytes, a fixed difficulty of 2⁻³² so nearly every hash is a share (random nonces are
 *   accepted: the bench measures the stratum path, not hashing);
 * - proxy: a StratumProxy in front of it (50 miners per upstream session, miners at 2⁻³² too, so
 *   every share is validated locally AND forwarded);
 * - this process: the load generator (its own client code below).
 *
 * Phases, each run once without the proxy (clients straight on the upstream) and once through it:
 * 1. throughput: 1,000 clients keep `depth` submits in flight each for a few seconds; submits
 *    answered per second and the miner-visible reply time.
 * 2. hop latency: a fixed, moderate rate of submits whose hashes the generator computes, matched
 *    with the moment the upstream validated each one (CLOCK_MONOTONIC is machine-wide, so the two
 *    processes' `hrtime` compare): miner → upstream time with and without the proxy; the
 *    difference is what the proxy hop adds.
 * Then the proxy's RSS with 1,000 and with 5,000 connected miners (each subscribed, authorized and
 * holding a job). Load average is printed alongside: the machine is shared.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import net from 'node:net'
import { loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { createLogger } from '../src/core/logger'
import { StratumProxy } from '../src/core/proxy/proxy'
import { StratumServer, WorkFeed } from '../src/core/stratum'
import { mainnetTemplate, POOL_ADDRESS, payoutScript } from '../src/core/stratum/testing/harness'
import { grind, type NotifyJob } from '../src/core/stratum/testing/miner'

const here = fileURLToPath(import.meta.url)
const DIFF = 2 ** -32
const FIXED_VARDIFF = {
  minDifficulty: DIFF,
  maxDifficulty: DIFF,
  startDifficulty: DIFF,
  startByUserAgent: [],
  retargetAfterShares: 1e12,
  retargetAfterS: 1e9,
}
const quietLogger = () =>
  createLogger(
    (r) => console.error(`[${r.scope}] ${r.level} ${r.msg}`),
    'bench',
    process.env.BENCH_LOG === 'warn' ? 'warn' : 'error',
  )

// ---------------------------------------------------------------------------------------------
// Child roles

type ChildMsg = { cmd: 'record'; on: boolean } | { cmd: 'arrivals' } | { cmd: 'stats' } | { cmd: 'stop' }

function loopDelay() {
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  return {
    p99Ms: () => {
      const v = h.percentile(99) / 1e6
      h.reset()
      return v
    },
  }
}

async function runUpstreamChild(): Promise<void> {
  const feed = new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 'bench', extranonce2Size: 8 })
  feed.publish(mainnetTemplate())
  let recording = false
  const arrivals: Array<[string, string]> = []
  let accepted = 0
  let rejected = 0
  const server = new StratumServer({
    work: feed,
    network: 'mainnet',
    logger: quietLogger(),
    host: '127.0.0.1',
    port: 0,
    extranonce2Size: 8,
    vardiff: FIXED_VARDIFF,
    limits: { maxConnections: 20_000, maxConnectionsPerIp: 20_000, keepaliveMs: 600_000 },
    onShare: (e) => {
      if (e.accepted) accepted++
      else rejected++
      if (recording && e.accepted && e.hashHex) arrivals.push([e.hashHex, process.hrtime.bigint().toString()])
    },
  })
  const { port } = await server.listen()
  const lag = loopDelay()
  process.on('message', async (m: ChildMsg) => {
    if (m.cmd === 'record') {
      recording = m.on
      if (m.on) arrivals.length = 0
      process.send?.({ ok: true })
    } else if (m.cmd === 'arrivals') process.send?.({ arrivals })
    else if (m.cmd === 'stats') {
      process.send?.({ accepted, rejected, rssBytes: process.memoryUsage().rss, loopP99Ms: lag.p99Ms() })
    } else if (m.cmd === 'stop') {
      await server.close({ reconnect: false, graceMs: 0 })
      process.exit(0)
    }
  })
  process.send?.({ ready: true, port })
}

async function runProxyChild(upstreamPort: number): Promise<void> {
  const proxy = new StratumProxy({
    logger: quietLogger(),
    host: '127.0.0.1',
    port: 0,
    pools: [{ id: 'up', url: `127.0.0.1:${upstreamPort}`, user: 'bench', maxMinersPerSession: 50 }],
    routes: [{ id: 'r', goals: [{ pools: ['up'] }] }],
    defaultRouteId: 'r',
    vardiff: FIXED_VARDIFF,
    limits: { maxConnections: 20_000, keepaliveMs: 600_000 },
  })
  const { port } = await proxy.listen()
  const lag = loopDelay()
  process.on('message', async (m: ChildMsg) => {
    if (m.cmd === 'stats') {
      const up = proxy.poolStats()[0]
      process.send?.({
        rssBytes: process.memoryUsage().rss,
        heapUsedBytes: process.memoryUsage().heapUsed,
        miners: proxy.minerCounts(),
        sessions: proxy.upstreams().length,
        forwarded: up?.counters.forwarded ?? 0,
        upAccepted: up?.counters.accepted ?? 0,
        upRejected: up?.counters.rejected ?? 0,
        upAvgRttMs: up?.counters.avgRttMs,
        loopP99Ms: lag.p99Ms(),
      })
    } else if (m.cmd === 'stop') {
      await proxy.close({ graceMs: 0 })
      process.exit(0)
    }
  })
  process.send?.({ ready: true, port })
}

// ---------------------------------------------------------------------------------------------
// The load generator

interface Pending {
  t0: bigint
  kind: 'subscribe' | 'authorize' | 'submit'
}

/** One miner connection: subscribe, authorize, keep the latest job, submit random shares. */
class LoadClient {
  readonly socket: net.Socket
  private buf = ''
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  en1 = ''
  en2Size = 4
  job: NotifyJob | undefined
  closed = false
  error: string | undefined
  onReply: ((kind: Pending['kind'], result: boolean, rttMs: number) => void) | undefined
  private readyResolve: (() => void) | undefined
  readonly ready: Promise<void>

  constructor(
    port: number,
    readonly user: string,
  ) {
    this.ready = new Promise((r) => {
      this.readyResolve = r
    })
    this.socket = net.connect({ host: '127.0.0.1', port }, () => {
      this.socket.setNoDelay(true)
      this.send('subscribe', 'mining.subscribe', ['benchminer/1.0'])
      this.send('authorize', 'mining.authorize', [user, 'x'])
    })
    this.socket.setEncoding('utf8')
    this.socket.on('data', (d: string) => this.onData(d))
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message
    })
    this.socket.on('close', () => {
      this.closed = true
      this.readyResolve?.()
    })
  }

  private send(kind: Pending['kind'], method: string, params: unknown[]): void {
    const id = this.nextId++
    this.pending.set(id, { t0: process.hrtime.bigint(), kind })
    this.socket.write(`{"id":${id},"method":"${method}","params":${JSON.stringify(params)}}\n`)
  }

  private onData(d: string): void {
    this.buf += d
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + 1)
      const m = JSON.parse(line) as { id?: number | null; method?: string; params?: unknown[]; result?: unknown }
      if (m.method === 'mining.notify') {
        const p = m.params as [string, string, string, string, string[], string, string, string, boolean]
        this.job = {
          jobId: p[0],
          prevhash: p[1],
          coinb1: p[2],
          coinb2: p[3],
          branch: p[4],
          version: p[5],
          nbits: p[6],
          ntime: p[7],
          clean: p[8],
        }
        this.readyResolve?.()
        this.readyResolve = undefined
        continue
      }
      if (m.method === 'mining.set_extranonce') {
        this.en1 = String(m.params?.[0])
        this.en2Size = Number(m.params?.[1])
        continue
      }
      if (m.method !== undefined || typeof m.id !== 'number') continue
      const p = this.pending.get(m.id)
      if (!p) continue
      this.pending.delete(m.id)
      if (p.kind === 'subscribe' && Array.isArray(m.result)) {
        this.en1 = String(m.result[1])
        this.en2Size = Number(m.result[2])
      }
      this.onReply?.(p.kind, m.result === true, Number(process.hrtime.bigint() - p.t0) / 1e6)
    }
  }

  /** A random share (random extranonce2 and nonce): accepted at difficulty 2⁻³² with odds 65535/65536. */
  submitRandom(): void {
    const j = this.job
    if (!j || this.closed) return
    this.send('submit', 'mining.submit', [
      this.user,
      j.jobId,
      randomBytes(this.en2Size).toString('hex'),
      j.ntime,
      randomBytes(4).toString('hex'),
    ])
  }

  /** A share whose hash we compute, to find it again at the upstream; returns its display hash. */
  submitTracked(): string | undefined {
    const j = this.job
    if (!j || this.closed) return undefined
    const en2 = randomBytes(this.en2Size).toString('hex')
    const g = grind(j, this.en1, en2, 2n ** 256n, { startNonce: randomBytes(4).readUInt32LE(0), mask: 0 })
    this.send('submit', 'mining.submit', [this.user, j.jobId, en2, g.ntimeHex, g.nonceHex])
    return g.hashHex
  }

  close(): void {
    this.socket.destroy()
  }
}

async function connectClients(port: number, n: number, first = 0): Promise<LoadClient[]> {
  const clients: LoadClient[] = []
  for (let i = 0; i < n; i++) {
    clients.push(new LoadClient(port, `bench.w${first + i}`))
    // Batches, so the listen backlog never overflows into SYN retries.
    if (i % 100 === 99) await sleep(20)
  }
  await Promise.race([Promise.all(clients.map((c) => c.ready)), sleep(60_000)])
  const ready = clients.filter((c) => c.job !== undefined && !c.closed).length
  if (ready < n) {
    const why = new Map<string, number>()
    for (const c of clients) {
      if (c.job !== undefined && !c.closed) continue
      const k = c.error ?? (c.closed ? 'closed by the server' : 'no job yet')
      why.set(k, (why.get(k) ?? 0) + 1)
    }
    console.error(`  only ${ready} of ${n} clients got a job (${[...why].map(([k, v]) => `${k}: ${v}`).join(', ')})`)
  }
  return clients
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Closed loop: every client keeps `depth` submits in flight for `seconds`. */
async function throughput(clients: LoadClient[], seconds: number, depth: number) {
  let answered = 0
  let accepted = 0
  const rtts: number[] = []
  let running = true
  for (const c of clients) {
    c.onReply = (kind, ok, rttMs) => {
      if (kind !== 'submit') return
      answered++
      if (ok) accepted++
      if (answered % 4 === 0) rtts.push(rttMs)
      if (running) c.submitRandom()
    }
  }
  const t0 = process.hrtime.bigint()
  for (const c of clients) for (let k = 0; k < depth; k++) c.submitRandom()
  await sleep(seconds * 1000)
  running = false
  const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9
  await sleep(300)
  for (const c of clients) c.onReply = undefined
  rtts.sort((a, b) => a - b)
  return {
    perS: answered / elapsedS,
    acceptedPct: (100 * accepted) / Math.max(1, answered),
    p50: pct(rtts, 50),
    p99: pct(rtts, 99),
  }
}

/** Open loop at `ratePerS`: tracked shares, matched with their arrival at the upstream. */
async function hopLatency(clients: LoadClient[], upstream: Child, seconds: number, ratePerS: number) {
  await upstream.ask({ cmd: 'record', on: true })
  const sent = new Map<string, bigint>()
  const replies: number[] = []
  for (const c of clients) {
    c.onReply = (kind, _ok, rttMs) => {
      if (kind === 'submit') replies.push(rttMs)
    }
  }
  const tickMs = 10
  const perTick = Math.max(1, Math.round((ratePerS * tickMs) / 1000))
  let next = 0
  const end = Date.now() + seconds * 1000
  while (Date.now() < end) {
    for (let k = 0; k < perTick; k++) {
      const c = clients[next++ % clients.length]!
      const t = process.hrtime.bigint()
      const h = c.submitTracked()
      if (h) sent.set(h, t)
    }
    await sleep(tickMs)
  }
  await sleep(500)
  await upstream.ask({ cmd: 'record', on: false })
  const { arrivals } = (await upstream.ask({ cmd: 'arrivals' })) as { arrivals: Array<[string, string]> }
  for (const c of clients) c.onReply = undefined
  const oneWay: number[] = []
  for (const [hash, at] of arrivals) {
    const t0 = sent.get(hash)
    if (t0 !== undefined) oneWay.push(Number(BigInt(at) - t0) / 1e6)
  }
  oneWay.sort((a, b) => a - b)
  replies.sort((a, b) => a - b)
  return {
    sent: sent.size,
    matched: oneWay.length,
    p50: pct(oneWay, 50),
    p99: pct(oneWay, 99),
    replyP50: pct(replies, 50),
    replyP99: pct(replies, 99),
  }
}

interface Child {
  proc: ChildProcess
  port: number
  ask(m: ChildMsg): Promise<Record<string, unknown>>
  stop(): Promise<void>
}

function startChild(role: string, args: string[] = []): Promise<Child> {
  const proc = fork(here, [`--role=${role}`, ...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  return new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('message', (m: { ready?: boolean; port?: number }) => {
      if (!m.ready) return reject(new Error(`${role} did not start`))
      const ask = (q: ChildMsg) =>
        new Promise<Record<string, unknown>>((res) => {
          proc.once('message', (a: Record<string, unknown>) => res(a))
          proc.send(q)
        })
      resolve({
        proc,
        port: m.port ?? 0,
        ask,
        stop: () =>
          new Promise<void>((res) => {
            proc.once('exit', () => res())
            proc.send({ cmd: 'stop' })
          }),
      })
    })
  })
}

const mb = (b: unknown) => `${Math.round(Number(b) / 2 ** 20)} MiB`
const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : 'n/a')
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')

export interface ProxyBenchOptions {
  clients?: number
  manyClients?: number
  throughputS?: number
  latencyS?: number
  ratePerS?: number
  depth?: number
}

/** Runs the benchmark; returns rows for `console.table`. */
export async function runProxyBench(o: ProxyBenchOptions = {}): Promise<Array<Record<string, string>>> {
  const n = o.clients ?? 1000
  const many = o.manyClients ?? 5000
  const tS = o.throughputS ?? 10
  const lS = o.latencyS ?? 10
  const rate = o.ratePerS ?? 500
  const depth = o.depth ?? 2
  const rows: Array<Record<string, string>> = []
  const row = (measure: string, direct: string, viaProxy: string, note = '') =>
    rows.push({ measure, 'no proxy': direct, 'through the proxy': viaProxy, note })
  console.log(`load average before: ${load()}`)

  const upstream = await startChild('upstream')
  const proxy = await startChild('proxy', [String(upstream.port)])
  try {
    const idle = await proxy.ask({ cmd: 'stats' })

    // Without the proxy.
    let clients = await connectClients(upstream.port, n)
    const dT = await throughput(clients, tS, depth)
    const dL = await hopLatency(clients, upstream, lS, rate)
    for (const c of clients) c.close()
    await sleep(500)

    // Through the proxy.
    clients = await connectClients(proxy.port, n)
    const before = await proxy.ask({ cmd: 'stats' })
    const pT = await throughput(clients, tS, depth)
    const pL = await hopLatency(clients, upstream, lS, rate)
    await sleep(300)
    const at1k = await proxy.ask({ cmd: 'stats' })
    const upStats = await upstream.ask({ cmd: 'stats' })

    const more = await connectClients(proxy.port, many - n, n)
    await sleep(1000)
    const at5k = await proxy.ask({ cmd: 'stats' })
    const manyT = await throughput([...clients, ...more], 5, 1)
    const at5kLoad = await proxy.ask({ cmd: 'stats' })
    for (const c of [...clients, ...more]) c.close()

    row(
      `submits/s, ${n} clients × ${depth} in flight`,
      dT.perS.toFixed(0),
      pT.perS.toFixed(0),
      `accepted ${pT.acceptedPct.toFixed(2)} %`,
    )
    row(
      'reply time p50 / p99 at that load',
      `${ms(dT.p50)} / ${ms(dT.p99)}`,
      `${ms(pT.p50)} / ${ms(pT.p99)}`,
      'the proxy answers from local validation',
    )
    row(
      `miner → upstream p50 at ${rate}/s`,
      ms(dL.p50),
      ms(pL.p50),
      `proxy hop adds ${ms(pL.p50 - dL.p50)} (matched ${pL.matched}/${pL.sent})`,
    )
    row(`miner → upstream p99 at ${rate}/s`, ms(dL.p99), ms(pL.p99), `proxy hop adds ${ms(pL.p99 - dL.p99)}`)
    row(
      'reply time p50 / p99 at that rate',
      `${ms(dL.replyP50)} / ${ms(dL.replyP99)}`,
      `${ms(pL.replyP50)} / ${ms(pL.replyP99)}`,
    )
    row(
      'shares forwarded / accepted upstream',
      '',
      `${Number(at1k.forwarded) - Number(before.forwarded)} / ${Number(at1k.upAccepted) - Number(before.upAccepted)}`,
      `upstream rejected ${Number(at1k.upRejected)}; proxy→pool RTT avg ${ms(Number(at1k.upAvgRttMs))}`,
    )
    row('proxy RSS, idle', '', mb(idle.rssBytes))
    row(`proxy RSS, ${n} miners`, '', mb(at1k.rssBytes), `${at1k.sessions} upstream sessions`)
    row(
      `proxy RSS, ${(at5k.miners as { connections: number }).connections} miners`,
      '',
      mb(at5k.rssBytes),
      `${at5k.sessions} upstream sessions; ${mb(at5kLoad.rssBytes)} after 5 s of load`,
    )
    row(
      `submits/s, ${many} clients × 1 in flight`,
      '',
      manyT.perS.toFixed(0),
      `reply p50 ${ms(manyT.p50)} / p99 ${ms(manyT.p99)}`,
    )
    row(
      'event-loop delay p99 (proxy / upstream)',
      '',
      `${ms(Number(at5kLoad.loopP99Ms))} / ${ms(Number(upStats.loopP99Ms))}`,
    )
  } finally {
    await proxy.stop()
    await upstream.stop()
  }
  console.log(`load average after: ${load()}`)
  return rows
}

const role = process.argv.find((a) => a.startsWith('--role='))?.slice(7)
if (role === 'upstream') await runUpstreamChild()
else if (role === 'proxy') await runProxyChild(Number(process.argv[3]))
else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log('== proxy: 1,000 downstream clients through the proxy into a local StratumServer ==')
  console.table(await runProxyBench())
}
