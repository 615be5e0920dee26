/**
 * Proxy test harness: validating upstream pools, a real StratumProxy on 127.0.0.1:0, and miners
 * (the independent `stratum/testing/miner.ts` implementation) that follow set_extranonce and
 * grind real shares at tiny difficulties. Test support only.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { type LogRecord, memoryLogger } from '../../logger'
import { grind, type Json, type NotifyJob, shareTarget, TestMiner } from '../../stratum/testing/miner'
import {
  type DeviceEvent,
  type PoolHealthEvent,
  type ProxyOptions,
  StratumProxy,
  type SwitchEvent,
  type UpstreamShareEvent,
} from '../proxy'
import { type TestPoolOptions, TestUpstreamPool } from './upstream-pool'

/** Waits (by polling) until `pred` holds; the test's own timeout bounds it. */
export async function until(pred: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; !pred(); i++) {
    if (i > 20_000) throw new Error(`gave up waiting for ${what}`)
    await sleep(5)
  }
}

export async function startUpstream(opts: TestPoolOptions = {}): Promise<TestUpstreamPool> {
  const pool = new TestUpstreamPool(opts)
  await pool.listen()
  return pool
}

export interface ProxyHarness {
  proxy: StratumProxy
  port: number
  log: ReturnType<typeof memoryLogger>
  switches: SwitchEvent[]
  poolEvents: PoolHealthEvent[]
  shares: UpstreamShareEvent[]
  deviceEvents: DeviceEvent[]
  miners: TestMiner[]
  logged(pred: (r: LogRecord) => boolean): boolean
  stop(): Promise<void>
}

/** Test-friendly defaults: fast ticks, a fixed difficulty of 2⁻³⁰ (4 hashes a share; vardiff never retargets), short backoff. */
export async function startProxy(opts: Omit<ProxyOptions, 'logger'>): Promise<ProxyHarness> {
  const log = memoryLogger('debug')
  const proxy = new StratumProxy({
    host: '127.0.0.1',
    port: 0,
    ...opts,
    logger: log,
    vardiff: {
      minDifficulty: 2 ** -32,
      startDifficulty: 2 ** -30,
      startByUserAgent: [],
      retargetAfterShares: 1e9,
      retargetAfterS: 1e9,
      ...opts.vardiff,
    },
    limits: { tickMs: 20, reconnectGraceMs: 200, ...opts.limits },
    upstream: {
      random: () => 0.5,
      ...opts.upstream,
      timing: { backoffInitialMs: 20, backoffMaxMs: 100, tickMs: 20, ...opts.upstream?.timing },
    },
  })
  const h: ProxyHarness = {
    proxy,
    port: 0,
    log,
    switches: [],
    poolEvents: [],
    shares: [],
    deviceEvents: [],
    miners: [],
    logged: (pred) => log.records.some(pred),
    async stop() {
      for (const m of h.miners) m.close()
      await proxy.close({ graceMs: 100 })
    },
  }
  proxy.on('switch', (e) => h.switches.push(e))
  proxy.on('pool', (e) => h.poolEvents.push(e))
  proxy.on('share', (e) => h.shares.push(e))
  proxy.on('device', (e) => h.deviceEvents.push(e))
  h.port = (await proxy.listen()).port
  return h
}

/** What the miner currently works on, reconstructed from what it received, in order. */
export interface Work {
  job: NotifyJob
  en1: string
  en2Size: number
  difficulty: number
}

export class ProxyMiner {
  private en2Counter = 1
  constructor(
    readonly miner: TestMiner,
    readonly user: string,
  ) {}

  /** Every notify with the extranonce and difficulty in force when it arrived. */
  works(): Work[] {
    let en1 = ''
    let en2Size = 0
    let diff = 1
    const out: Work[] = []
    let n = 0
    for (const m of this.miner.messages) {
      if (isSubscribeResult(m)) {
        const r = m.result as [unknown, string, number]
        en1 = r[1]
        en2Size = r[2]
      } else if (m.method === 'mining.set_extranonce') {
        en1 = m.params![0] as string
        en2Size = m.params![1] as number
      } else if (m.method === 'mining.set_difficulty') {
        diff = m.params![0] as number
      } else if (m.method === 'mining.notify') {
        out.push({ job: this.miner.notifies[n++]!, en1, en2Size, difficulty: diff })
      }
    }
    return out
  }

  get current(): Work {
    const w = this.works().at(-1)
    if (!w) throw new Error('no work yet')
    return w
  }

  async waitForWork(n: number): Promise<Work> {
    await this.miner.notifyCount(n)
    return this.works()[n - 1]!
  }

  /**
   * Grinds and submits a share on the current work: `upstream: true` meets the upstream difficulty,
   * `false` meets only the miner's own (and not the upstream's).
   */
  async share(upstreamDifficulty: number, upstream: boolean, opts: { versionBits?: number } = {}) {
    const w = this.current
    const en2 = (this.en2Counter++).toString(16).padStart(w.en2Size * 2, '0')
    const upTarget = shareTarget(upstreamDifficulty)
    const g = upstream
      ? grind(w.job, w.en1, en2, upTarget, opts)
      : (() => {
          let start = 0
          for (;;) {
            const x = grind(w.job, w.en1, en2, shareTarget(w.difficulty), { ...opts, startNonce: start })
            if (x.hashValue > upTarget) return x
            start = x.nonce + 1
          }
        })()
    const params: unknown[] = [this.user, w.job.jobId, en2, g.ntimeHex, g.nonceHex]
    if (opts.versionBits !== undefined) params.push(opts.versionBits.toString(16).padStart(8, '0'))
    const reply = await this.miner.request('mining.submit', params)
    return { reply, en2, work: w, ground: g }
  }
}

function isSubscribeResult(m: Json): boolean {
  return (
    m.method === undefined &&
    Array.isArray(m.result) &&
    m.result.length === 3 &&
    typeof m.result[1] === 'string' &&
    typeof m.result[2] === 'number'
  )
}

/**
 * Connects a miner and handshakes in one pipelined burst (NerdQAxe-style), optionally with
 * configure and extranonce.subscribe; resolves after the first job.
 */
export async function connectMiner(
  h: Pick<ProxyHarness, 'port' | 'miners'>,
  opts: { user?: string; extranonce?: boolean; configureMask?: string; ua?: string; suggest?: number } = {},
): Promise<ProxyMiner> {
  const miner = await TestMiner.connect(h.port)
  h.miners.push(miner)
  const user = opts.user ?? 'bc1qminer.rig1'
  const reqs: Array<[string, unknown[]]> = []
  if (opts.configureMask !== undefined)
    reqs.push(['mining.configure', [['version-rolling'], { 'version-rolling.mask': opts.configureMask }]])
  reqs.push(['mining.subscribe', [opts.ua ?? 'testminer/1.0']])
  reqs.push(['mining.authorize', [user, 'x']])
  if (opts.extranonce !== false) reqs.push(['mining.extranonce.subscribe', []])
  if (opts.suggest !== undefined) reqs.push(['mining.suggest_difficulty', [opts.suggest]])
  const replies = await miner.pipeline(reqs)
  for (const r of replies) if (r.error !== null) throw new Error(`handshake failed: ${JSON.stringify(r)}`)
  await miner.notifyCount(1)
  return new ProxyMiner(miner, user)
}
