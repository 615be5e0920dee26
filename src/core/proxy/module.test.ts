/**
 * The proxy end to end through the API: the real core (store, secrets, EventLog, RpcServer) over an
 * in-memory transport, validating upstream test pools on 127.0.0.1, real test miners that hash on
 * their own, and the local pool module (on a fake mainnet node) running beside the proxy in the
 * same core, also serving as one of its upstreams.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FakeBitcoind } from '../../../test/support/fake-bitcoind'
import { tempDir } from '../../../test/support/temp-dir'
import type { MethodInput, MethodName, MethodOutput } from '../../shared/contract'
import type { ProxySwitchFrame } from '../../shared/contract/proxy'
import { memoryTransportPair } from '../../shared/protocol'
import { RpcClient } from '../../shared/rpc-client'
import { createDevicesModule } from '../devices/module'
import { type Core, startCore } from '../entry'
import { memoryLogger } from '../logger'
import { createPoolModule } from '../pool/module'
import { TestMiner } from '../stratum/testing/miner'
import { createProxyModule } from './module'
import { connectMiner, type ProxyMiner, startUpstream, until } from './testing/harness'
import type { TestUpstreamPool } from './testing/upstream-pool'

const SECRET = 'pool-secret-do-not-leak-7f3a'
/** The test pools' difficulty: about 256 hashes a share; miners work at 2⁻³⁰ below it. */
const UP_DIFF = 2 ** -24
const MAINNET_ADDRESS = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((res) => srv.close(() => res()))
  return port
}

/** A pool that subscribes and authorizes but never sends a job. */
async function jobLessPool(): Promise<net.Server> {
  const srv = net.createServer((s) => {
    let buf = ''
    s.on('error', () => {})
    s.on('data', (d) => {
      buf += d.toString('utf8')
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const m = JSON.parse(buf.slice(0, nl)) as { id: number; method: string }
        buf = buf.slice(nl + 1)
        if (m.method === 'mining.subscribe')
          s.write(`${JSON.stringify({ id: m.id, result: [[['mining.notify', 'ab']], '01020304', 8], error: null })}\n`)
        else s.write(`${JSON.stringify({ id: m.id, result: true, error: null })}\n`)
      }
    })
  })
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  return srv
}

let core: Core
let client: RpcClient
let logger: ReturnType<typeof memoryLogger>
let data: { dir: string; cleanup(): void }
let fake: FakeBitcoind
let poolA: TestUpstreamPool
let poolB: TestUpstreamPool
let noJob: net.Server
let proxyPort = 0
const miners: ProxyMiner[] = []
/** Every API response, to check that the password never comes back. */
const responses: unknown[] = []
const switchFrames: ProxySwitchFrame[] = []
const ids = { a: 0, b: 0, local: 0 }

async function call<M extends MethodName>(m: M, p: MethodInput<M>): Promise<MethodOutput<M>> {
  const r = await client.call(m, p)
  responses.push(r)
  return r
}

beforeAll(async () => {
  fake = await FakeBitcoind.start({ chain: 'main' })
  poolA = await startUpstream({ extranonce2Size: 8, difficulty: UP_DIFF })
  poolB = await startUpstream({ extranonce2Size: 8, difficulty: UP_DIFF })
  noJob = await jobLessPool()
  data = tempDir()
  logger = memoryLogger('debug')
  core = await startCore({
    dataDir: data.dir,
    host: 'test',
    logger,
    validateOutputs: true,
    coalesceMs: 10,
    modules: [
      createDevicesModule({ poll: { enabled: false }, passive: { allowLoopback: true } }),
      createPoolModule({
        templateSource: { pollIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 200 },
        flushIntervalMs: 100,
        streamIntervalMs: 20,
        closeGraceMs: 100,
        vardiff: { startByUserAgent: [], retargetAfterShares: 1e9, retargetAfterS: 1e9 },
      }),
      createProxyModule({
        flushIntervalMs: 100,
        streamIntervalMs: 20,
        closeGraceMs: 100,
        poolTest: { timeoutMs: 1000, jobWaitMs: 300 },
        proxy: {
          vardiff: {
            minDifficulty: 2 ** -32,
            startDifficulty: 2 ** -30,
            startByUserAgent: [],
            retargetAfterShares: 1e9,
            retargetAfterS: 1e9,
          },
          limits: { tickMs: 20, reconnectGraceMs: 200 },
          upstream: { random: () => 0.5, timing: { backoffInitialMs: 20, backoffMaxMs: 100, tickMs: 20 } },
        },
      }),
    ],
  })
  const [s, c] = memoryTransportPair()
  core.rpc.attach(s, { transport: 'memory' })
  client = new RpcClient(c)
  client.listen('proxySwitches.stream', {}, { frame: (f) => switchFrames.push(f) })
  proxyPort = await freePort()
})

afterAll(async () => {
  for (const m of miners) m.miner.close()
  client.close()
  await core.close('test end')
  await poolA.close()
  await poolB.close()
  await new Promise<void>((r) => noJob.close(() => r()))
  await fake.close()
  data.cleanup()
})

const status = () => call('proxy.status', {})

describe('configuring the proxy over the API', () => {
  it('is off and refuses to start until a pool is added', async () => {
    const s = await status()
    expect(s).toMatchObject({ running: false, configured: false, listen: null })
    expect(s.message).toContain('add an upstream pool')
    await expect(client.call('proxy.start', {})).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('not configured'),
    })
    expect(await call('proxy.getSettings', {})).toMatchObject({
      port: 3334,
      maxMinersPerSession: 50,
      passThrough: false,
      enabled: false,
    })
  })

  it('normalises a pasted stratum+tcp:// URL, refuses a bad one with the reason, and keeps the password write-only', async () => {
    await expect(
      client.call('proxyPools.add', { url: `stratum2+tcp://127.0.0.1:${poolA.port}`, user: 'acct' }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('Stratum V2') })
    await expect(client.call('proxyPools.add', { url: '127.0.0.1', user: 'acct' })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('no port'),
    })
    const a = await call('proxyPools.add', {
      name: 'Pool A',
      url: `  STRATUM+TCP://127.0.0.1:${poolA.port}/ `,
      user: 'acctA',
      password: SECRET,
    })
    expect(a.pool).toMatchObject({
      name: 'Pool A',
      url: `stratum+tcp://127.0.0.1:${poolA.port}`,
      hostPort: `127.0.0.1:${poolA.port}`,
      tls: false,
      user: 'acctA',
      hasPassword: true,
    })
    ids.a = a.pool.id
    const b = await call('proxyPools.add', { name: 'Pool B', url: `127.0.0.1:${poolB.port}`, user: 'acctB' })
    ids.b = b.pool.id
    expect(b.pool).toMatchObject({ url: `stratum+tcp://127.0.0.1:${poolB.port}`, hasPassword: false })
    // The first pool made a default route with itself.
    const r = await call('proxyRoutes.list', {})
    expect(r.routes).toEqual([
      {
        id: r.defaultRouteId,
        name: 'Default',
        goals: [{ weight: 1, pools: [ids.a] }],
        workerTemplate: '{account}.{worker}',
        isDefault: true,
      },
    ])
    expect(JSON.stringify(await call('proxyPools.list', {}))).not.toContain(SECRET)
    expect((await call('proxy.getSettings', {})).configured).toBe(true)
  })

  it('tests a pool and says what happened in plain words', async () => {
    const good = await call('proxyPools.test', { id: ids.a })
    expect(good).toMatchObject({ ok: true, outcome: 'ok', extranonce2Size: 8 })
    expect(good.message).toContain('Works')
    expect(good.split).toEqual({ prefixBytes: 4, downstreamEn2Size: 4, minersPerSession: 50 })
    // The stored password was used.
    await until(() =>
      poolA.conns.some((c) => c.requests.some((q) => q.method === 'mining.authorize' && q.params[1] === SECRET)),
    )

    const refused = await call('proxyPools.test', { url: `127.0.0.1:${await freePort()}`, user: 'x' })
    expect(refused).toMatchObject({ ok: false, outcome: 'refused' })
    expect(refused.message).toMatch(/refused the connection/)

    const strict = await startUpstream({ authorize: () => 'unknown user' })
    try {
      const denied = await call('proxyPools.test', { url: `127.0.0.1:${strict.port}`, user: 'nobody' })
      expect(denied).toMatchObject({ ok: false, outcome: 'authorize-false' })
      expect(denied.message).toContain('refused the user "nobody"')
    } finally {
      await strict.close()
    }

    const silent = await call('proxyPools.test', {
      url: `127.0.0.1:${(noJob.address() as net.AddressInfo).port}`,
      user: 'x',
    })
    expect(silent).toMatchObject({ ok: false, outcome: 'no-job' })
    expect(silent.message).toContain('sent no job')

    await expect(client.call('proxyPools.test', {})).rejects.toMatchObject({ code: 'INVALID_PARAMS' })
  })

  it('refuses routes naming unknown pools or bad templates, and pools still in use', async () => {
    const { defaultRouteId } = await call('proxyRoutes.list', {})
    await expect(
      client.call('proxyRoutes.update', { id: defaultRouteId!, goals: [{ pools: [ids.a, 999] }] }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('999') })
    await expect(
      client.call('proxyRoutes.update', { id: defaultRouteId!, workerTemplate: '{account}.{nope}' }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('{nope}') })
    await expect(client.call('proxyPools.remove', { id: ids.a })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('"Default"'),
    })
    await expect(client.call('proxyRoutes.remove', { id: defaultRouteId! })).rejects.toMatchObject({
      code: 'CONFLICT',
    })
    // Failover list A → B.
    const r = await call('proxyRoutes.update', { id: defaultRouteId!, goals: [{ pools: [ids.a, ids.b] }] })
    expect(r.route.goals).toEqual([{ weight: 1, pools: [ids.a, ids.b] }])
  })

  it('says clearly when the proxy port is taken', async () => {
    const busy = net.createServer()
    await new Promise<void>((res) => busy.listen(0, '127.0.0.1', res))
    const port = (busy.address() as net.AddressInfo).port
    try {
      await call('proxy.setSettings', { host: '127.0.0.1', port })
      await expect(client.call('proxy.start', {})).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining(`Port ${port} (the proxy port) is already in use`),
      })
      expect((await status()).running).toBe(false)
    } finally {
      await new Promise<void>((r) => busy.close(() => r()))
    }
  })
})

describe('mining through the proxy', () => {
  it('starts, takes real miners and forwards their shares, which the upstream pool validates', async () => {
    const set = await call('proxy.setSettings', {
      port: proxyPort,
      failover: { returnToPrimaryAfterS: 0 },
    })
    expect(set).toMatchObject({ restartRequired: false, settings: { port: proxyPort } })
    const s = await call('proxy.start', {})
    expect(s).toMatchObject({ running: true, listen: { host: '127.0.0.1', port: proxyPort } })
    expect((await call('system.status', {})).ports).toContainEqual({
      name: 'proxy',
      protocol: 'stratum',
      host: '127.0.0.1',
      port: proxyPort,
    })
    const h = { port: proxyPort, miners: [] as TestMiner[] }
    miners.push(await connectMiner(h, { user: 'bc1qowner.rig1', configureMask: 'ffffffff' }))
    miners.push(await connectMiner(h, { user: 'bc1qowner.rig2' }))
    expect(poolA.live).toHaveLength(1) // two miners, one upstream session
    for (const m of miners) expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    // A share that meets only the miner's own difficulty is answered locally, never forwarded.
    expect((await miners[0]!.share(UP_DIFF, false)).reply.result).toBe(true)
    await until(() => poolA.shares.length === 2, 'two shares upstream')
    expect(poolA.rejects).toEqual([])
    expect(poolA.shares.map((x) => x.worker).sort()).toEqual(['acctA.rig1', 'acctA.rig2'])

    const devs = await until2(
      () => call('proxy.devices', {}),
      (d) => d.devices.length === 2 && d.devices.every((x) => x.upstream.accepted === 1),
    )
    const rig1 = devs.devices.find((d) => d.worker === 'bc1qowner.rig1')!
    expect(rig1).toMatchObject({
      poolId: ids.a,
      accepted: 2,
      rejected: 0,
      extranonce2Size: 4,
      upstreamWorker: 'acctA.rig1',
      upstream: { forwarded: 1, accepted: 1, rejected: 0 },
    })
    expect(rig1.hashrateHs.h1m).toBeGreaterThan(0)
    // Matched to a Fleet device record (passive discovery), so the Fleet screen shows it.
    expect(rig1.deviceRecordId).not.toBeNull()
    const record = await call('devices.get', { id: rig1.deviceRecordId! })
    expect(record.worker).toMatch(/^bc1qowner\.rig[12]$/)
    // The first locally accepted share confirms the device mines (Fleet "first share").
    expect(record.firstShare).toMatchObject({ difficulty: 2 ** -30 })

    const st = await status()
    const a = st.pools.find((p) => p.id === ids.a)!
    expect(a).toMatchObject({ health: 'up', accepted: 2, sessions: 1, miners: 2 })
    expect(a.hashrateHs.h1m).toBeGreaterThan(0)
    expect(st.routes[0]!.goals[0]!.activePoolId).toBe(ids.a)
    expect(st.routes[0]!.devices).toBe(2)
    expect(st.miners).toEqual({ connections: 2, ready: 2 })
  })

  it('fails over when the pool disconnects, without dropping miners, and says so in status, stream and events', async () => {
    const before = core.events.lastSeq
    poolA.refuseConnections = true
    poolA.dropAll()
    const st = await until2(status, (s) => s.routes[0]!.goals[0]!.activePoolId === ids.b && s.switches.length > 0)
    const a = st.pools.find((p) => p.id === ids.a)!
    expect(a.health).toBe('down')
    const sw = st.switches.at(-1)!
    expect(sw).toMatchObject({ fromPoolId: ids.a, toPoolId: ids.b, reason: 'failover', devices: 2 })
    expect(sw.detail).toContain('Pool A')
    await until(() => switchFrames.some((f) => f.seq === sw.seq))
    const events = core.events.list(before, 1000)
    expect(events.some((e) => e.level === 'warn' && e.message.startsWith('Pool "Pool A" is down'))).toBe(true)
    expect(
      events.some(
        (e) => e.message.startsWith('Failover: 2 devices moved from "Pool A" to "Pool B"') && e.level === 'warn',
      ),
    ).toBe(true)
    // The miners kept their connections and now mine on B.
    for (const m of miners) {
      expect(m.miner.closed).toBe(false)
      await until(() => m.current.en1.startsWith(poolB.live[0]?.extranonce1.toString('hex') ?? '-'), 'work from B')
      expect((await m.share(UP_DIFF, true)).reply.result).toBe(true)
    }
    await until(() => poolB.shares.length === 2)
    expect(poolB.rejects).toEqual([])
  })

  it('returns to the primary pool when it is healthy again', async () => {
    poolA.refuseConnections = false
    const st = await until2(status, (s) => s.routes[0]!.goals[0]!.activePoolId === ids.a)
    expect(st.switches.at(-1)).toMatchObject({ fromPoolId: ids.b, toPoolId: ids.a, reason: 'return-to-primary' })
    for (const m of miners) expect(m.miner.closed).toBe(false)
  })

  it('keeps the per-minute history in the store', async () => {
    const dev = await call('proxy.history', { kind: 'device', key: 'bc1qowner.rig1' })
    const sum = (k: 'accepted' | 'upstreamAccepted') => dev.rows.reduce((n, r) => n + r[k], 0)
    expect(sum('accepted')).toBeGreaterThanOrEqual(3)
    expect(sum('upstreamAccepted')).toBeGreaterThanOrEqual(2)
    const pools = await call('proxy.history', { kind: 'pool' })
    expect(pools.rows.find((r) => r.key === String(ids.a))?.accepted).toBe(2)
    expect(pools.rows.find((r) => r.key === String(ids.b))?.accepted).toBe(2)
    expect(pools.rows.every((r) => r.hashrateHs > 0)).toBe(true)
  })
})

describe('beside the local pool', () => {
  it('runs the local pool and the proxy at once on their own ports, the proxy mining into the local pool', async () => {
    const poolPort = await freePort()
    await call('pool.setSettings', {
      node: { url: fake.url, user: 'hashyard', password: 'correct horse' },
      network: 'mainnet',
      payoutAddress: MAINNET_ADDRESS,
      host: '127.0.0.1',
      port: poolPort,
      vardiff: { minDifficulty: 2 ** -40, startDifficulty: UP_DIFF },
    })
    await call('pool.start', {})
    await until2(
      () => call('pool.status', {}),
      (s) => s.job !== null,
    )
    // A miner straight on the local pool…
    const direct = await TestMiner.connect(poolPort)
    const [sub] = await direct.pipeline([
      ['mining.subscribe', ['testminer/1.0']],
      ['mining.authorize', ['direct.rig', 'x']],
    ])
    expect(Array.isArray(sub!.result)).toBe(true)
    await direct.notifyCount(1)
    // …and the proxy routing rig3 into the local pool.
    const local = await call('proxyPools.add', { name: 'Local pool', url: `127.0.0.1:${poolPort}`, user: 'bc1qlocal' })
    ids.local = local.pool.id
    const route = await call('proxyRoutes.add', { name: 'Solo', goals: [{ pools: [ids.local] }] })
    await call('proxyRoutes.setRules', { rules: [{ routeId: route.route.id, worker: 'rig3' }] })
    const rig3 = await connectMiner({ port: proxyPort, miners: [] }, { user: 'bc1qowner.rig3' })
    miners.push(rig3)
    const { reply } = await rig3.share(UP_DIFF, true)
    expect(reply.result).toBe(true)
    const devs = await until2(
      () => call('proxy.devices', {}),
      (d) => d.devices.some((x) => x.worker === 'bc1qowner.rig3' && x.upstream.accepted === 1),
    )
    expect(devs.devices.find((x) => x.worker === 'bc1qowner.rig3')).toMatchObject({
      routeId: route.route.id,
      poolId: ids.local,
      upstreamWorker: 'bc1qlocal.rig3',
    })
    // The local pool validated it and credits the proxy's upstream worker.
    const workers = await call('pool.workers', {})
    expect(workers.workers.find((w) => w.worker === 'bc1qlocal.rig3')?.accepted).toBe(1)
    const ports = (await call('system.status', {})).ports
    expect(ports.map((p) => p.name).sort()).toEqual(expect.arrayContaining(['pool', 'proxy']))
    expect((await call('pool.status', {})).running).toBe(true)
    expect((await status()).running).toBe(true)
    direct.close()
  })

  it('re-points a live miner when its rule changes, without a reconnect', async () => {
    await expect(
      client.call('proxyRoutes.setRules', { rules: [{ routeId: 1, deviceId: 'no-such-device' }] }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('not in the Fleet') })
    const rig3 = miners.at(-1)!
    await call('proxyRoutes.setRules', { rules: [] })
    const st = await until2(status, (s) => s.switches.at(-1)?.reason === 'route-change')
    expect(st.switches.at(-1)).toMatchObject({
      fromPoolId: ids.local,
      toPoolId: ids.a,
      method: 'set_extranonce',
      devices: 1,
      workers: ['bc1qowner.rig3'],
    })
    await until(() => rig3.current.en1.startsWith(poolA.live[0]!.extranonce1.toString('hex')), 'work from A')
    expect(rig3.miner.closed).toBe(false)
    expect((await rig3.share(UP_DIFF, true)).reply.result).toBe(true)
    await until(() => poolA.shares.some((x) => x.worker === 'acctA.rig3'))
  })

  it('stops on request: miners are asked to reconnect and the proxy stays off', async () => {
    const s = await call('proxy.stop', {})
    expect(s.running).toBe(false)
    expect((await call('proxy.getSettings', {})).enabled).toBe(false)
    for (const m of miners) await m.miner.waitFor((x) => x.method === 'client.reconnect')
  })
})

describe('secrets', () => {
  it('never puts the pool password in a response, an event or a log record', async () => {
    expect(responses.length).toBeGreaterThan(10)
    expect(JSON.stringify(responses)).not.toContain(SECRET)
    expect(JSON.stringify(core.events.list(0, 100_000))).not.toContain(SECRET)
    expect(logger.records.length).toBeGreaterThan(0)
    expect(JSON.stringify(logger.records)).not.toContain(SECRET)
    expect(JSON.stringify(switchFrames)).not.toContain(SECRET)
  })
})

/** Polls an async getter until `pred` holds (the test's own timeout bounds it). */
async function until2<T>(get: () => Promise<T>, pred: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get()
    if (pred(v)) return v
    await new Promise((r) => setTimeout(r, 20))
  }
}
