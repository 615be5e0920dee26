// Local pool benchmark: the real core with the pool module, configured and started over its API,
// on a live template from the fake bitcoind in 'main' mode (a real mainnet template: random
// submits are never blocks), loaded by bench/stratum-load.ts in a child process that shares the
// machine's cores, as the workplace's yardstick does.
//
// Per stage (50, 1,000, 5,000 clients): submits answered per second and p50/p99 latency with 4
// submits in flight per client, the server's event-loop delay p99 and CPU while loaded, RSS, and
// memory per idle connection (RSS and heap growth after GC, divided by the clients). At 5,000
// clients also the time to broadcast a new block's job to every connection.
//
// Run: npm run bench -- pool          (part of npm run bench)
//      npx tsx bench/pool.ts --serve   (just the pool on a free port, for running a load generator by hand)
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import net from 'node:net'
import { loadavg } from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createInterface, type Interface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import vm from 'node:vm'
import { type Core, startCore } from '../src/core/entry'
import { createLogger, stderrSink } from '../src/core/logger'
import { createPoolModule, poolService } from '../src/core/pool/module'
import { FakeBitcoind } from '../test/support/fake-bitcoind'
import { tempDir } from '../test/support/temp-dir'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PAYOUT = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'
/** Clean-job broadcasts timed at the last stage (median reported), before the new-block one. */
const BROADCAST_ROUNDS = 5

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

export interface PoolBenchRow {
  clients: number
  'submits/s': number
  'p50 ms': number | null
  'p99 ms': number | null
  'paced 1/s p50/p99 ms': string
  'loop p99 ms': number
  'server CPU %': number
  'server µs/submit': number
  'RSS MB': number
  'KB/idle conn (RSS)': number
  'KB/idle conn (heap)': number
  'broadcast ms': string
  'load avg': string
}

interface Pool {
  core: Core
  fake: FakeBitcoind
  port: number
  close(): Promise<void>
}

async function call(core: Core, m: string, p: unknown): Promise<unknown> {
  const r = await core.rpc.invoke(m, p, { transport: 'memory' })
  if (!r.ok) throw new Error(`${m}: ${r.error.message}`)
  return r.value
}

async function startPool(): Promise<Pool> {
  const fake = await FakeBitcoind.start({ chain: 'main' })
  const dir = tempDir('hashyard-bench-')
  const core = await startCore({
    dataDir: dir.dir,
    host: 'test',
    logger: createLogger(stderrSink, 'bench', 'warn'),
    modules: [
      createPoolModule({
        autoStart: false,
        // Every client comes from 127.0.0.1.
        limits: { maxConnectionsPerIp: 20_000, maxConnections: 20_000 },
      }),
    ],
  })
  const port = await freePort()
  await call(core, 'pool.setSettings', {
    node: { url: fake.url, user: 'hashyard', password: 'correct horse' },
    network: 'mainnet',
    payoutAddress: PAYOUT,
    host: '127.0.0.1',
    port,
  })
  await call(core, 'pool.start', {})
  for (;;) {
    const s = (await call(core, 'pool.status', {})) as { job: unknown; node: { state: string; message: string } }
    if (s.job !== null) break
    if (s.node.state !== 'starting' && s.node.state !== 'connected') throw new Error(s.node.message)
    await sleep(50)
  }
  return {
    core,
    fake,
    port,
    async close() {
      await core.close('bench end')
      await fake.close()
      dir.cleanup()
    },
  }
}

class Loader {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>
  private readonly lines: Interface
  private readonly queue: Array<Record<string, unknown>> = []
  private wake: (() => void) | undefined
  readonly exited: Promise<number | null>

  constructor(port: number, clients: number, seconds: number) {
    this.child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/stratum-load.ts',
        '--port',
        String(port),
        '--clients',
        String(clients),
        '--seconds',
        String(seconds),
        '--depth',
        '4',
      ],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
    )
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)))
    this.lines = createInterface({ input: this.child.stdout })
    this.lines.on('line', (l) => {
      try {
        this.queue.push(JSON.parse(l) as Record<string, unknown>)
      } catch {
        process.stderr.write(`loader: ${l}\n`)
      }
      this.wake?.()
    })
  }

  async next(type: string): Promise<Record<string, unknown>> {
    for (;;) {
      const i = this.queue.findIndex((m) => m.type === type)
      if (i >= 0) return this.queue.splice(i, 1)[0]!
      const exited = await Promise.race([
        new Promise<false>((r) => {
          this.wake = () => r(false)
        }),
        this.exited.then(() => true),
      ])
      if (exited && !this.queue.some((m) => m.type === type)) throw new Error(`load generator exited before "${type}"`)
    }
  }

  send(cmd: string): void {
    this.child.stdin.write(`${cmd}\n`)
  }

  async close(): Promise<void> {
    this.send('exit')
    await this.exited
  }
}

function memory(): { rss: number; heap: number } {
  gc()
  gc()
  const m = process.memoryUsage()
  return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers }
}

async function stage(pool: Pool, clients: number, seconds: number, broadcast: boolean): Promise<PoolBenchRow> {
  const before = memory()
  const loader = new Loader(pool.port, clients, seconds)
  const ready = await loader.next('ready')
  if (ready.withJob !== clients) throw new Error(`only ${String(ready.withJob)} of ${clients} clients got a job`)
  await sleep(500)
  const idle = memory()

  let broadcastMs = '–'
  if (broadcast) {
    const ms = (ns: bigint) => Number(ns) / 1e6
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    // A new job for everyone through the real API path (a coinbase tag change rebuilds the job
    // and sends it clean to every connection), several times; then a real new block from the node.
    const fanOut: number[] = []
    const fanOutCpu: number[] = []
    const toLast: number[] = []
    const sliceMax: number[] = []
    const fanOutTotal: number[] = []
    for (let round = 0; round <= BROADCAST_ROUNDS; round++) {
      const newBlock = round === BROADCAST_ROUNDS
      loader.send('watch')
      await loader.next('watching')
      const t0 = process.hrtime.bigint()
      if (newBlock) pool.fake.advanceBlock()
      else await call(pool.core, 'pool.setSettings', { coinbaseTag: `/bench-${round}/` })
      const b = await loader.next('broadcast')
      const sent = poolService()?.lastBroadcast
      if (b.received !== clients || !sent?.clean) {
        throw new Error(`broadcast ${round} reached ${String(b.received)} of ${clients} clients`)
      }
      const last = BigInt(b.lastNs as string)
      // The server writes the job in slices across event-loop turns: `build+1st slice` is what the
      // publish call held the loop for, `all written` the whole fan-out, `longest slice` the
      // longest single hold.
      const whole = poolService()?.lastFanOut
      if (newBlock) {
        broadcastMs = `build+1st slice ${median(fanOut).toFixed(1)} (CPU ${median(fanOutCpu).toFixed(1)}), all written ${fanOutTotal.length ? median(fanOutTotal).toFixed(1) : 'n/a'}, longest slice ${sliceMax.length ? median(sliceMax).toFixed(1) : 'n/a'}, last client ${median(toLast).toFixed(1)}; new block: node→last client ${ms(last - t0).toFixed(0)}`
      } else {
        fanOut.push(sent.fanOutMs)
        fanOutCpu.push(sent.fanOutCpuMs)
        toLast.push(ms(last - sent.startNs))
        if (whole?.jobId === sent.jobId) {
          fanOutTotal.push(whole.totalMs)
          sliceMax.push(whole.maxSliceMs)
        }
      }
    }
  }

  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  const cpu0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  loader.send('load')
  const r = await loader.next('load')
  const elapsedUs = Number(process.hrtime.bigint() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  loop.disable()
  const after = process.memoryUsage()
  // Then the farm-like load: one share per second per client, spread out (latency without a queue).
  loader.send(`paced 1 ${Math.max(3, Math.round(seconds / 2))}`)
  const paced = await loader.next('paced')
  await loader.close()
  const errors = r.errors as Record<string, number>
  const unexpected = Object.keys(errors).filter((k) => !k.startsWith('reject '))
  if (unexpected.length) process.stderr.write(`stage ${clients}: ${JSON.stringify(errors)}\n`)
  return {
    clients,
    'submits/s': r.perSec as number,
    'p50 ms': r.p50ms as number | null,
    'p99 ms': r.p99ms as number | null,
    'paced 1/s p50/p99 ms': `${String(paced.p50ms)} / ${String(paced.p99ms)}`,
    'loop p99 ms': Number((loop.percentile(99) / 1e6).toFixed(1)),
    'server CPU %': Math.round(((cpu.user + cpu.system) / elapsedUs) * 100),
    // CPU the server process spent per answered submit: the figure least moved by other load on the machine.
    'server µs/submit': Math.round((cpu.user + cpu.system) / Math.max(1, r.answered as number)),
    'RSS MB': Math.round(Math.max(idle.rss, after.rss) / 2 ** 20),
    'KB/idle conn (RSS)': Number(((idle.rss - before.rss) / clients / 1024).toFixed(1)),
    'KB/idle conn (heap)': Number(((idle.heap - before.heap) / clients / 1024).toFixed(1)),
    'broadcast ms': broadcastMs,
    'load avg': loadavg()
      .map((x) => x.toFixed(1))
      .join(' '),
  }
}

/**
 * Each stage runs in a fresh server process (this file with `--stage N`), so its RSS baseline is
 * clean; the load generator is that process's own child.
 */
export async function runPoolBench(opts: { stages?: number[]; seconds?: number } = {}): Promise<PoolBenchRow[]> {
  const stages = opts.stages ?? [50, 1000, 5000]
  const seconds = opts.seconds ?? Number(process.env.POOL_BENCH_SECONDS ?? 10)
  const rows: PoolBenchRow[] = []
  for (const n of stages) {
    const args = [
      '--import',
      'tsx',
      '--no-warnings',
      'bench/pool.ts',
      '--stage',
      String(n),
      '--seconds',
      String(seconds),
    ]
    if (n === stages.at(-1)) args.push('--broadcast')
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => {
      out += d
    })
    const code = await new Promise<number | null>((r) => child.once('exit', r))
    const line = out.split('\n').find((l) => l.startsWith('{"row"'))
    if (code !== 0 || line === undefined) throw new Error(`pool bench stage ${n} failed (exit ${String(code)}): ${out}`)
    rows.push((JSON.parse(line) as { row: PoolBenchRow }).row)
  }
  return rows
}

async function runStage(clients: number, seconds: number, broadcast: boolean): Promise<PoolBenchRow> {
  const pool = await startPool()
  try {
    return await stage(pool, clients, seconds, broadcast)
  } finally {
    await pool.close()
  }
}

/** A port the OS just handed out (the pool settings take a real port, not 0). */
async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

const argv = process.argv.slice(2)
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (argv.includes('--serve')) {
    const pool = await startPool()
    console.log(`pool listening on 127.0.0.1:${pool.port} (Ctrl+C to stop)`)
    process.once('SIGINT', () => void pool.close().then(() => process.exit(0)))
  } else if (arg('--stage') !== undefined) {
    const row = await runStage(Number(arg('--stage')), Number(arg('--seconds') ?? 10), argv.includes('--broadcast'))
    console.log(JSON.stringify({ row }))
    process.exit(0)
  } else {
    console.table(await runPoolBench())
  }
}
