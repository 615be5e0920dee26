import { afterEach, describe, expect, it } from 'vitest'
import { startPool as startLocalPool } from '../stratum/testing/harness'
import { grind, shareTarget } from '../stratum/testing/miner'
import type { ProxyOptions } from './proxy'
import { connectMiner, type ProxyHarness, startProxy, startUpstream, until } from './testing/harness'
import type { TestUpstreamPool } from './testing/upstream-pool'

/** The test pools' difficulty: about 256 hashes a share; miners work at 2⁻³⁰ below it. */
const UP_DIFF = 2 ** -24
const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

async function upstream(opts: Parameters<typeof startUpstream>[0] = {}): Promise<TestUpstreamPool> {
  const p = await startUpstream(opts)
  cleanups.push(() => p.close())
  return p
}

async function proxy(opts: Omit<ProxyOptions, 'logger'>): Promise<ProxyHarness> {
  const h = await startProxy(opts)
  cleanups.push(() => h.stop())
  return h
}

const pool = (id: string, p: TestUpstreamPool, extra: Partial<ProxyOptions['pools'][number]> = {}) => ({
  id,
  url: `stratum+tcp://127.0.0.1:${p.port}`,
  user: `${id}acct`,
  ...extra,
})

const single = (p: TestUpstreamPool, extra: Partial<ProxyOptions> = {}): Omit<ProxyOptions, 'logger'> => ({
  pools: [pool('a', p)],
  routes: [{ id: 'main', goals: [{ pools: ['a'] }] }],
  defaultRouteId: 'main',
  ...extra,
})

describe('aggregation by extranonce subdivision', () => {
  it('gives each miner en1_up ‖ a unique prefix on one upstream session, and the pool validates every forwarded share', async () => {
    const up = await upstream({ extranonce2Size: 8 })
    const h = await proxy(single(up))
    const miners = []
    for (let i = 1; i <= 3; i++)
      miners.push(await connectMiner(h, { user: `bc1qx.rig${i}`, configureMask: 'ffffffff' }))
    expect(up.live).toHaveLength(1)
    const en1Up = up.live[0]!.extranonce1.toString('hex')
    const en1s = miners.map((m) => m.current.en1)
    for (const en1 of en1s) {
      expect(en1.startsWith(en1Up)).toBe(true)
      expect(en1.length).toBe(en1Up.length + 8) // 4-byte prefix (N2 = 8 → P = 4, D = 4)
    }
    expect(new Set(en1s).size).toBe(3)
    expect(miners.map((m) => m.current.en2Size)).toEqual([4, 4, 4])
    // Notifies carry the pool's work verbatim under a short local job id.
    const upJob = up.currentJob.notifyParams(true)
    const j = miners[0]!.current.job
    expect([j.prevhash, j.coinb1, j.coinb2, j.branch]).toEqual([upJob[1], upJob[2], upJob[3], upJob[4]])
    expect(j.jobId).not.toBe(upJob[0])
    // The configure answer is the pool's mask ∩ the miner's.
    const conf = miners[0]!.miner.messages.find((m) => m.id === 1)
    expect(conf?.result).toEqual({ 'version-rolling': true, 'version-rolling.mask': '1fffe000' })

    for (const [i, m] of miners.entries()) {
      const { reply, en2 } = await m.share(UP_DIFF, true, { versionBits: 0x00002000 * (i + 1) })
      expect(reply.result).toBe(true)
      await until(() => up.shares.length === i + 1, 'forwarded share')
      const got = up.shares[i]!
      // The upstream extranonce2 is exactly 8 bytes: the miner's prefix then its own extranonce2.
      expect(got.extranonce2Hex).toBe(m.current.en1.slice(en1Up.length) + en2)
      expect(got.versionBits).toBe(0x00002000 * (i + 1))
      expect(got.worker).toBe(`aacct.rig${i + 1}`)
    }
    const prefixes = up.shares.map((s) => s.extranonce2Hex.slice(0, 8))
    expect(new Set(prefixes).size).toBe(3)
    expect(up.rejects).toEqual([])
    await until(() => h.shares.length === 3)
    expect(h.shares.every((s) => s.accepted && s.poolId === 'a')).toBe(true)
  })

  it('opens another upstream session when the per-session setting is exhausted', async () => {
    const up = await upstream({ extranonce2Size: 4 })
    const h = await proxy(single(up, { pools: [pool('a', up, { maxMinersPerSession: 2 })] }))
    const miners = []
    for (let i = 1; i <= 5; i++) miners.push(await connectMiner(h, { user: `w.r${i}` }))
    await until(() => up.live.length === 3, 'three upstream sessions')
    const ups = h.proxy.upstreams()
    expect(ups.map((u) => u.miners).sort()).toEqual([1, 2, 2])
    expect(ups.every((u) => u.prefixBytes === 1 && u.downstreamEn2Size === 3 && u.capacity === 2)).toBe(true)
    // No two miners share an extranonce1, across sessions.
    const en1s = miners.map((m) => m.current.en1)
    expect(new Set(en1s).size).toBe(5)
    for (const m of miners) expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => up.shares.length === 5)
    expect(new Set(up.shares.map((s) => s.extranonce1Hex + s.extranonce2Hex.slice(0, 2))).size).toBe(5)
    expect(up.rejects).toEqual([])
  })

  it('keeps each device’s identity upstream in pass-through mode (one session per device)', async () => {
    const up = await upstream({ extranonce2Size: 4 })
    const h = await proxy({
      pools: [pool('a', up, { maxMinersPerSession: 1 })],
      routes: [{ id: 'r', goals: [{ pools: ['a'] }], workerTemplate: 'pass-through' }],
      defaultRouteId: 'r',
    })
    const m1 = await connectMiner(h, { user: 'alice.rig1' })
    const m2 = await connectMiner(h, { user: 'bob.rig2' })
    expect(up.live).toHaveLength(2)
    // One miner per session: no prefix, the pool's full extranonce2.
    expect(m1.current.en2Size).toBe(4)
    expect(m1.current.en1).toBe(up.live.find((c) => c.workers.has('alice.rig1'))!.extranonce1.toString('hex'))
    await m1.share(UP_DIFF, true)
    await m2.share(UP_DIFF, true)
    await until(() => up.shares.length === 2)
    expect(up.shares.map((s) => s.worker).sort()).toEqual(['alice.rig1', 'bob.rig2'])
  })

  it('uses the project’s own local pool as a real upstream', async () => {
    const local = await startLocalPool({ server: { extranonce2Size: 8 }, feed: { extranonce2Size: 8 } })
    cleanups.push(() => local.stop())
    const h = await proxy({
      pools: [{ id: 'solo', url: `127.0.0.1:${local.port}`, user: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.proxy' }],
      routes: [{ id: 'r', goals: [{ pools: ['solo'] }], workerTemplate: '{account}' }],
      defaultRouteId: 'r',
    })
    const m = await connectMiner(h, { user: 'rig1' })
    // The local pool starts at 2^-20; the proxy hands the miner its own 2^-30 below that.
    expect(m.current.difficulty).toBe(2 ** -30)
    const { reply } = await m.share(2 ** -20, true)
    expect(reply.result).toBe(true)
    await until(() => local.shares.length === 1)
    expect(local.shares[0]).toMatchObject({
      accepted: true,
      worker: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.proxy',
    })
  })
})

describe('difficulty', () => {
  it('validates low shares locally and forwards only those meeting the upstream target', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    const m = await connectMiner(h)
    expect(m.current.difficulty).toBe(2 ** -30)
    for (let i = 0; i < 4; i++) expect((await m.share(UP_DIFF, false)).reply.result).toBe(true)
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => h.shares.length === 1)
    expect(up.shares).toHaveLength(1)
    const [d] = h.proxy.devices()
    expect(d!.local).toMatchObject({ accepted: 5, rejected: 0, diffAccepted: 5 * 2 ** -30 })
    expect(d!.upstream).toMatchObject({ forwarded: 1, accepted: 1, rejected: 0, diffAccepted: UP_DIFF })
    expect(d!.upstream.lastRttMs).toBeGreaterThanOrEqual(0)
    expect(d).toMatchObject({ poolId: 'a', routeId: 'main', upstreamWorker: 'aacct.rig1' })
    // A share below the miner's own difficulty is refused locally and never forwarded.
    const w = m.current
    const low = grind(w.job, w.en1, '00000099', shareTarget(w.difficulty), { want: 'above' })
    const bad = await m.miner.request('mining.submit', [m.user, w.job.jobId, '00000099', low.ntimeHex, low.nonceHex])
    expect(bad.error).toEqual([23, expect.stringMatching(/^Low difficulty share/), null])
    expect(up.shares).toHaveLength(1)
  })

  it('never sets a miner above the upstream difficulty', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    // The miner asks for 1024 in its handshake: it gets the upstream's difficulty instead.
    const m = await connectMiner(h, { suggest: 1024 })
    expect(m.miner.difficulties).toEqual([UP_DIFF])
    expect((await m.miner.request('mining.suggest_difficulty', [4096])).result).toBe(true)
    // A lower suggestion applies at once, with the same work under a fresh id and clean_jobs.
    expect((await m.miner.request('mining.suggest_difficulty', [2 ** -28])).result).toBe(true)
    await m.waitForWork(2)
    expect(m.miner.difficulties).toEqual([UP_DIFF, 2 ** -28])
    expect(m.current.job.clean).toBe(true)
    expect(m.current.job.coinb1).toBe(m.works()[0]!.job.coinb1)
    expect((await m.share(UP_DIFF, false)).reply.result).toBe(true)
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => up.shares.length === 1)
  })
})

describe('upstream answers', () => {
  it('maps an upstream rejection back to the submitting device with its reason', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    const a = await connectMiner(h, { user: 'x.a' })
    const b = await connectMiner(h, { user: 'x.b' })
    up.rejectAll = { code: 21, message: 'Stale share' }
    expect((await a.share(UP_DIFF, true)).reply.result).toBe(true) // the miner hears the local verdict
    await until(() => h.shares.length === 1)
    expect(h.shares[0]).toMatchObject({ worker: 'x.a', accepted: false, kind: 'stale', message: 'Stale share' })
    up.rejectAll = undefined
    await b.share(UP_DIFF, true)
    await until(() => h.shares.length === 2)
    const byWorker = Object.fromEntries(h.proxy.devices().map((d) => [d.worker, d.upstream]))
    expect(byWorker['x.a']).toMatchObject({ rejected: 1, stale: 1, rejectedByKind: { stale: 1 }, accepted: 0 })
    expect(byWorker['x.a']!.lastReject).toMatchObject({ kind: 'stale', message: 'Stale share' })
    expect(byWorker['x.b']).toMatchObject({ rejected: 0, accepted: 1 })
    const [ps] = h.proxy.poolStats()
    expect(ps!.counters).toMatchObject({ forwarded: 2, accepted: 1, rejected: 1 })
  })

  it('leaves a pool that rejects everything', async () => {
    const a = await upstream()
    const b = await upstream()
    const h = await proxy({
      pools: [pool('a', a), pool('b', b)],
      routes: [{ id: 'r', goals: [{ pools: ['a', 'b'] }] }],
      defaultRouteId: 'r',
      failover: { rejectStreak: 3, rejectCooldownMs: 60_000 },
    })
    const m = await connectMiner(h)
    a.rejectAll = { code: 20, message: 'Invalid payout' }
    for (let i = 0; i < 3; i++) await m.share(UP_DIFF, true)
    await until(() => h.switches.length === 1, 'switch')
    expect(h.poolEvents.find((e) => e.state === 'down')).toMatchObject({ poolId: 'a', reason: 'rejecting' })
    expect(h.switches[0]).toMatchObject({
      fromPoolId: 'a',
      toPoolId: 'b',
      reason: 'failover',
      method: 'set_extranonce',
    })
    await until(() => m.current.en1.startsWith(b.live[0]!.extranonce1.toString('hex')))
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => b.shares.length === 1)
  })
})

describe('failover', () => {
  const twoPools = (a: TestUpstreamPool, b: TestUpstreamPool, failover: ProxyOptions['failover'] = {}) => ({
    pools: [pool('a', a), pool('b', b)],
    routes: [{ id: 'r', goals: [{ pools: ['a', 'b'] }] }],
    defaultRouteId: 'r',
    failover,
  })

  it('moves miners to the next pool when the upstream disconnects, without dropping them, and returns to the primary', async () => {
    const a = await upstream()
    const b = await upstream()
    const h = await proxy(twoPools(a, b, { returnToPrimaryAfterMs: 100 }))
    const sub = await connectMiner(h, { user: 'x.sub' })
    const plain = await connectMiner(h, { user: 'x.plain', extranonce: false })
    expect(b.conns).toHaveLength(0) // the backup is connected only when needed
    a.refuseConnections = true
    a.dropAll()
    await until(() => h.switches.length >= 2, 'two switches')
    const byWorker = Object.fromEntries(h.switches.map((s) => [s.worker, s]))
    expect(byWorker['x.sub']).toMatchObject({
      fromPoolId: 'a',
      toPoolId: 'b',
      reason: 'failover',
      method: 'set_extranonce',
    })
    expect(byWorker['x.sub']!.detail).toMatch(/^a: /)
    expect(byWorker['x.plain']).toMatchObject({ toPoolId: 'b', method: 'reconnect' })
    // The subscribed miner kept its connection and mines on b.
    const bEn1 = b.live[0]!.extranonce1.toString('hex')
    await until(() => sub.current.en1.startsWith(bEn1))
    expect(sub.current.job.clean).toBe(true)
    expect((await sub.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => b.shares.length === 1)
    expect(sub.miner.closed).toBe(false)
    // The other was asked to reconnect and closed; reconnecting lands it on b.
    await plain.miner.closedPromise
    expect(plain.miner.messages.some((m) => m.method === 'client.reconnect')).toBe(true)
    const again = await connectMiner(h, { user: 'x.plain', extranonce: false })
    expect(again.current.en1.startsWith(bEn1)).toBe(true)

    // The primary recovers: after it has been healthy for the hold time, miners go back.
    a.refuseConnections = false
    await until(() => h.switches.some((s) => s.reason === 'return-to-primary'), 'return to primary')
    const back = h.switches.find((s) => s.reason === 'return-to-primary' && s.worker === 'x.sub')!
    expect(back).toMatchObject({ fromPoolId: 'b', toPoolId: 'a', method: 'set_extranonce' })
    const aEn1 = a.live[0]!.extranonce1.toString('hex')
    await until(() => sub.current.en1.startsWith(aEn1))
    expect((await sub.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => a.shares.length === 1)
    expect(h.poolEvents.map((e) => [e.poolId, e.state])).toEqual(
      expect.arrayContaining([
        ['a', 'up'],
        ['a', 'down'],
        ['b', 'up'],
      ]),
    )
  })

  it('moves miners when a connected pool stops sending new jobs', async () => {
    const a = await upstream()
    const b = await upstream()
    // Generous against the test's own hashing, which blocks this one event loop for a while.
    const h = await proxy(twoPools(a, b, { noJobTimeoutMs: 1500 }))
    const m = await connectMiner(h)
    // b keeps sending work; a goes silent.
    const timer = setInterval(() => b.newJob(), 100)
    cleanups.push(() => clearInterval(timer))
    await until(() => h.switches.length === 1, 'switch')
    expect(h.poolEvents.find((e) => e.state === 'down')).toMatchObject({ poolId: 'a', reason: 'silent' })
    expect(h.switches[0]).toMatchObject({ fromPoolId: 'a', toPoolId: 'b', reason: 'failover' })
    expect(a.live).toHaveLength(1) // still connected, kept to notice recovery
    await until(() => m.current.en1.startsWith(b.live[0]!.extranonce1.toString('hex')))
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => b.shares.length === 1)
  })
})

describe('routing', () => {
  it('re-points a live miner when its route changes, without a reconnect', async () => {
    const a = await upstream()
    const b = await upstream()
    const h = await proxy({
      pools: [pool('a', a), pool('b', b)],
      routes: [
        { id: 'ra', goals: [{ pools: ['a'] }] },
        { id: 'rb', goals: [{ pools: ['b'] }], workerTemplate: '{account}.{ip_x}' },
      ],
      defaultRouteId: 'ra',
    })
    const m = await connectMiner(h, { user: 'bc1q.rig2' })
    const other = await connectMiner(h, { user: 'bc1q.rig3' })
    await until(() => b.live.length === 1, 'b session')
    const r = h.proxy.configure({ rules: [{ worker: 'rig2', routeId: 'rb' }] })
    expect(r).toEqual({ ok: true })
    await until(() => h.switches.length === 1)
    expect(h.switches[0]).toMatchObject({
      worker: 'bc1q.rig2',
      fromPoolId: 'a',
      toPoolId: 'b',
      reason: 'route-change',
      method: 'set_extranonce',
    })
    await until(() => m.current.en1.startsWith(b.live[0]!.extranonce1.toString('hex')))
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => b.shares.length === 1)
    expect(b.shares[0]!.worker).toBe('bacct.127x0x0x1')
    expect(m.miner.closed).toBe(false)
    expect(h.proxy.devices().find((d) => d.worker === 'bc1q.rig3')).toMatchObject({ poolId: 'a', routeId: 'ra' })
    expect(other.miner.closed).toBe(false)
    // Bad routing is refused with a reason and changes nothing.
    expect(h.proxy.configure({ rules: [{ worker: 'x', routeId: 'nope' }] })).toEqual({
      ok: false,
      message: 'A device rule names unknown route "nope"',
    })
  })

  it('splits devices across weighted goals by moving whole devices', async () => {
    const a = await upstream()
    const b = await upstream()
    const h = await proxy({
      pools: [pool('a', a), pool('b', b)],
      routes: [
        {
          id: 'r',
          goals: [
            { weight: 3, pools: ['a'] },
            { weight: 1, pools: ['b'] },
          ],
        },
      ],
      defaultRouteId: 'r',
    })
    for (let i = 0; i < 4; i++) await connectMiner(h, { user: `w.${i}` })
    const pools = h.proxy.devices().map((d) => d.poolId)
    expect(pools.filter((p) => p === 'a')).toHaveLength(3)
    expect(pools.filter((p) => p === 'b')).toHaveLength(1)
  })
})

describe('upstream-initiated changes', () => {
  it('passes an upstream set_extranonce on to the miners, keeping their prefixes', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    const sub = await connectMiner(h, { user: 'x.sub' })
    const plain = await connectMiner(h, { user: 'x.plain', extranonce: false })
    const prefix = sub.current.en1.slice(8)
    const en1 = up.setExtranonce(up.live[0]!).toString('hex')
    await until(() => sub.current.en1 === en1 + prefix, 'new extranonce1')
    expect(sub.current.job.clean).toBe(true)
    expect((await sub.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => up.shares.length === 1)
    expect(up.shares[0]!.extranonce1Hex).toBe(en1)
    // The miner without extranonce.subscribe is asked to reconnect instead.
    await plain.miner.closedPromise
    expect(h.switches.find((s) => s.worker === 'x.plain')).toMatchObject({
      reason: 'upstream-extranonce',
      method: 'reconnect',
    })
  })

  it('follows client.reconnect from the pool; a resumed session leaves the miners untouched', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    const m = await connectMiner(h)
    const en1 = m.current.en1
    up.reconnect(up.live[0]!)
    await until(() => up.conns.length === 2 && up.live.length === 1, 'reconnected')
    await m.waitForWork(2)
    expect(m.current.en1).toBe(en1)
    expect(m.miner.messages.some((x) => x.method === 'mining.set_extranonce')).toBe(false)
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => up.shares.length === 1)
    expect(h.poolEvents.some((e) => e.state === 'down')).toBe(false)
  })

  it('gives miners the new extranonce when the pool does not resume the session', async () => {
    const up = await upstream({ resume: false })
    const h = await proxy(single(up))
    const m = await connectMiner(h)
    up.reconnect(up.live[0]!)
    await until(() => up.conns.length === 2 && up.live.length === 1, 'reconnected')
    const en1 = up.live[0]!.extranonce1.toString('hex')
    await until(() => m.current.en1.startsWith(en1), 'set_extranonce')
    expect(h.switches[0]).toMatchObject({
      reason: 'upstream-reconnect',
      method: 'set_extranonce',
      fromPoolId: 'a',
      toPoolId: 'a',
    })
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => up.shares.length === 1)
  })

  it('logs a malformed upstream line and reconnects while the miners keep their connections', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    const m = await connectMiner(h)
    up.sendRaw(up.live[0]!, '\u0000\u0001 garbage {{{\n')
    await until(() => up.conns.length === 2 && up.live.length === 1, 'reconnected')
    expect(h.logged((r) => r.level === 'warn' && /malformed line from the pool/.test(r.msg))).toBe(true)
    await m.waitForWork(2)
    expect(m.miner.closed).toBe(false)
    expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => up.shares.length === 1)
  })
})

describe('accounting and misbehaving miners', () => {
  it('estimates hashrate over 1 m / 10 m / 1 h windows from accepted difficulty, per device and per pool', async () => {
    const up = await upstream()
    const h = await proxy(single(up))
    const m = await connectMiner(h, { user: 'w.rate' })
    expect(h.proxy.devices()[0]!.hashrates).toEqual({ h1m: 0, h10m: 0, h1h: 0 })
    for (let i = 0; i < 3; i++) expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => h.shares.length === 3)
    const d = h.proxy.devices()[0]!.hashrates
    expect(d.h1m).toBeGreaterThan(0)
    // Younger than a minute: every window covers the same span, so all three agree.
    expect(d.h10m).toBeCloseTo(d.h1m, 6)
    expect(d.h1h).toBeCloseTo(d.h1m, 6)
    expect(h.proxy.poolStats()[0]!.hashrates.h1m).toBeGreaterThan(0)
    expect(h.proxy.hashrates().h1m).toBeCloseTo(h.proxy.devices()[0]!.hashrates.h1m, 6)
  })

  it('answers a storm of invalid shares like the local pool: fresh work, then client.reconnect, then drop', async () => {
    const up = await upstream()
    const h = await proxy({ ...single(up), storm: { resendAfterMs: 40, reconnectAfterMs: 80, dropAfterMs: 120 } })
    const m = await connectMiner(h, { user: 'w.broken' })
    const from = m.miner.messages.length
    const ntime = m.current.job.ntime
    for (let i = 0; i < 2000 && !m.miner.closed; i++) {
      const r = await m.miner
        .request('mining.submit', ['w.broken', 'no-such-job', '00000000', ntime, '00000000'])
        .catch(() => undefined)
      if (r) expect(r.result).not.toBe(true)
      await new Promise((res) => setTimeout(res, 10))
    }
    expect(m.miner.closed).toBe(true)
    const after = m.miner.messages.slice(from)
    const resend = after.findIndex((x) => x.method === 'mining.notify' && x.params?.[8] === true)
    const reconnect = after.findIndex((x) => x.method === 'client.reconnect')
    expect(resend).toBeGreaterThanOrEqual(0)
    expect(after[resend - 1]?.method).toBe('mining.set_difficulty')
    expect(reconnect).toBeGreaterThan(resend)
    expect(h.logged((r) => r.msg.includes('only invalid shares'))).toBe(true)
    // The pool never saw any of it.
    expect(up.shares).toEqual([])
    expect(up.rejects).toEqual([])
  })
})
