/**
 * The session state machine in simulated time (no sockets): what the server cannot show quickly —
 * vardiff retargets over minutes of shares, when a new difficulty takes effect, keepalive.
 */
import { describe, expect, it } from 'vitest'
import { memoryLogger } from '../logger'
import { JobBook } from './job-book'
import { DEFAULT_STORM_POLICY, Session, type SessionConfig, type SessionHost, type ShareEvent } from './session'
import { mainnetTemplate, POOL_ADDRESS, payoutScript } from './testing/harness'
import { grind, type NotifyJob, shareTarget } from './testing/miner'
import { vardiffConfig } from './vardiff'
import { WorkFeed } from './work-feed'

interface Rig {
  session: Session
  lines: string[]
  shares: ShareEvent[]
  feed: WorkFeed
  book: JobBook
  closed: string[]
}

function rig(opts: { reissue?: boolean; startDifficulty?: number } = {}): Rig {
  const feed = new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 't' })
  const book = new JobBook({ jobMaxAgeMs: 300_000, maxJobs: 1000 })
  const lines: string[] = []
  const shares: ShareEvent[] = []
  const closed: string[] = []
  const host: SessionHost = {
    logger: memoryLogger(),
    write: (l) => lines.push(l.toString()),
    close: (r) => closed.push(r),
    currentJob: () => feed.current(),
    lookupJob: (id) => book.get(id),
    isStale: (j) => book.isStale(j),
    hasShare: (j, k) => book.hasShare(j, k),
    addShare: (j, k) => book.addShare(j, k),
    reissue: (j) => {
      if (opts.reissue === false) return undefined
      const fresh = feed.reissue(j)
      book.add(fresh, 0)
      return fresh
    },
    onShare: (e) => shares.push(e),
    onBlock: () => {},
  }
  const cfg: SessionConfig = {
    network: 'mainnet',
    extranonce2Size: 4,
    versionRollingMask: 0x1fffe000,
    payoutMode: 'pool',
    vardiff: vardiffConfig({
      minDifficulty: 2 ** -40,
      startDifficulty: opts.startDifficulty ?? 2 ** -24,
      startByUserAgent: [],
    }),
    ntimeMaxAheadS: 7000,
    versionBitsWithoutConfigure: 'reject',
    storm: DEFAULT_STORM_POLICY,
    maxWorkersPerConnection: 8,
  }
  const session = new Session(cfg, host, {
    id: 1,
    remoteAddress: '127.0.0.1',
    extranonce1: Buffer.from('01020304', 'hex'),
    nowMs: 0,
  })
  const job = feed.publish(mainnetTemplate())
  book.addCurrent(job, 0)
  return { session, lines, shares, feed, book, closed }
}

const req = (id: number, method: string, params: unknown[]) => ({ kind: 'request' as const, id, method, params })

function notifyOf(line: string): NotifyJob {
  const p = JSON.parse(line).params
  return {
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
}

const lastNotify = (r: Rig): NotifyJob =>
  notifyOf(r.lines.filter((l) => l.includes('"method":"mining.notify"')).at(-1)!)
const difficulties = (r: Rig): number[] =>
  r.lines.filter((l) => l.includes('"method":"mining.set_difficulty"')).map((l) => JSON.parse(l).params[0] as number)

function start(r: Rig): void {
  r.session.handle(req(1, 'mining.subscribe', ['sim/1']), 0)
  r.session.handle(req(2, 'mining.authorize', ['w', 'x']), 0)
}

/** Grinds and submits a share meeting the current difficulty at simulated time `tsMs`. */
function submitShare(r: Rig, en2: number, tsMs: number, job = lastNotify(r)): string {
  const diff = difficulties(r).at(-1)!
  const g = grind(job, '01020304', en2.toString(16).padStart(8, '0'), shareTarget(diff))
  r.session.handle(
    req(100 + en2, 'mining.submit', ['w', job.jobId, en2.toString(16).padStart(8, '0'), g.ntimeHex, g.nonceHex]),
    tsMs,
  )
  return r.lines.at(-1)!
}

describe('session vardiff in simulated time', () => {
  it('raises the difficulty of a miner that is far too fast and sends it at once with a fresh clean job', () => {
    const r = rig()
    start(r)
    const first = lastNotify(r)
    // 8 shares in 4 simulated seconds at 2^-24: ~2 shares/s against a 7.5 s target.
    for (let i = 1; i <= 8; i++) submitShare(r, i, i * 500, first)
    const diffs = difficulties(r)
    expect(diffs.length).toBe(2)
    expect(diffs[1]!).toBeGreaterThan(diffs[0]!)
    const second = lastNotify(r)
    expect(second.jobId).not.toBe(first.jobId)
    expect(second.clean).toBe(true)
    // An in-flight share on the first job, too weak for the new difficulty, still counts at the old one.
    let g = grind(first, '01020304', '00000014', shareTarget(diffs[0]!))
    while (g.hashValue <= shareTarget(diffs[1]!)) {
      g = grind(first, '01020304', '00000014', shareTarget(diffs[0]!), { startNonce: g.nonce + 1 })
    }
    r.session.handle(req(120, 'mining.submit', ['w', first.jobId, '00000014', g.ntimeHex, g.nonceHex]), 4100)
    expect(r.lines.at(-1)).toBe('{"id":120,"result":true,"error":null}\n')
    expect(r.shares.filter((s) => s.accepted).every((s) => s.difficulty === diffs[0])).toBe(true)
    expect(r.shares).toHaveLength(9)
  })

  it('without re-issue support, applies a new difficulty with the next regular job', () => {
    const r = rig({ reissue: false })
    start(r)
    r.session.handle(req(3, 'mining.suggest_difficulty', [2 ** -10]), 1000)
    expect(r.lines.at(-1)).toBe('{"id":3,"result":true,"error":null}\n')
    expect(difficulties(r)).toEqual([2 ** -24])
    const next = r.feed.publish(mainnetTemplate(), { clean: false })
    r.book.addCurrent(next, 2000)
    r.session.sendJob(next, false, 2000)
    expect(difficulties(r)).toEqual([2 ** -24, 2 ** -10])
    expect(r.lines.at(-2)).toBe('{"id":null,"method":"mining.set_difficulty","params":[0.0009765625]}\n')
  })

  it('keepalive repeats the job without changing the difficulty recorded for it', () => {
    const r = rig({ reissue: false })
    start(r)
    const job = r.feed.current()!
    const before = r.lines.length
    r.session.keepalive(job, 60_000)
    expect(r.lines.slice(before)).toEqual([job.notifyLine(false)])
    r.session.handle(req(3, 'mining.suggest_difficulty', [1]), 60_001)
    r.session.keepalive(job, 120_000)
    expect(r.lines.at(-1)).toBe(job.notifyLine(false))
    // A share still counts at the difficulty the job was sent with.
    const g = grind(notifyOf(job.notifyLine(false)), '01020304', '00000009', shareTarget(2 ** -24))
    r.session.handle(req(4, 'mining.submit', ['w', job.id, '00000009', g.ntimeHex, g.nonceHex]), 120_001)
    expect(r.shares.at(-1)).toMatchObject({ accepted: true, difficulty: 2 ** -24 })
  })

  it('credits an unknown worker name to the connection and counts notify-to-submit latency', () => {
    const r = rig()
    start(r)
    submitShare(r, 1, 2500)
    expect(r.shares[0]).toMatchObject({ worker: 'w', latencyMs: 2500, accepted: true })
    const stats = r.session.snapshot(2500)
    expect(stats).toMatchObject({
      accepted: 1,
      lastShareTsMs: 2500,
      lastSubmitLatencyMs: 2500,
      avgSubmitLatencyMs: 2500,
    })
  })
})

describe('session refusals', () => {
  it('answers a 6th parameter of zero (or the job version) without configure, but not other bits', () => {
    const r = rig()
    start(r)
    const n = lastNotify(r)
    const g = grind(n, '01020304', '00000001', shareTarget(2 ** -24))
    r.session.handle(req(5, 'mining.submit', ['w', n.jobId, '00000001', g.ntimeHex, g.nonceHex, '00000000']), 10)
    expect(r.lines.at(-1)).toBe('{"id":5,"result":true,"error":null}\n')
    const h = grind(n, '01020304', '00000002', shareTarget(2 ** -24))
    r.session.handle(req(6, 'mining.submit', ['w', n.jobId, '00000002', h.ntimeHex, h.nonceHex, n.version]), 10)
    expect(r.lines.at(-1)).toBe('{"id":6,"result":true,"error":null}\n')
    r.session.handle(req(7, 'mining.submit', ['w', n.jobId, '00000003', h.ntimeHex, h.nonceHex, '00002000']), 10)
    expect(JSON.parse(r.lines.at(-1)!)['reject-reason']).toBe('version-not-negotiated')
  })

  it('answers configure with version-rolling false when the masks do not intersect', () => {
    const r = rig()
    r.session.handle(req(1, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': 'e0001fff' }]), 0)
    expect(r.lines).toEqual(['{"id":1,"result":{"version-rolling":false},"error":null}\n'])
    expect(r.session.versionMask).toBeUndefined()
  })

  it('handles the legacy suggest_difficulty(N) method form and suggest_target', () => {
    const r = rig()
    start(r)
    r.session.handle(req(3, 'mining.suggest_difficulty(0.25)', []), 1)
    expect(difficulties(r).at(-1)).toBe(0.25)
    // diff1 / target = 2
    const half = (0x00000000ffff0000000000000000000000000000000000000000000000000000n / 2n)
      .toString(16)
      .padStart(64, '0')
    r.session.handle(req(4, 'mining.suggest_target', [half]), 2)
    expect(difficulties(r).at(-1)).toBe(2)
  })
})
