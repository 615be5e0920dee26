/**
 * The local pool end to end: the real core (store, secrets, RpcServer) over an in-memory
 * transport, a validating fake bitcoind on regtest (it deserializes and checks every submitted
 * block on its own), and the real test miner on 127.0.0.1 hashing independently of src/core/pool.
 */
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import { bech32 } from '@scure/base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FakeBitcoind } from '../../../test/support/fake-bitcoind'
import { tempDir } from '../../../test/support/temp-dir'
import type { PoolStatus, ShareFrame } from '../../shared/contract/pool'
import { memoryTransportPair } from '../../shared/protocol'
import { RpcClient } from '../../shared/rpc-client'
import { type Core, startCore } from '../entry'
import { memoryLogger } from '../logger'
import { grind, hashInt, type NotifyJob, networkTarget, shareTarget, TestMiner } from '../stratum/testing/miner'
import { createPoolModule } from './module'

const RPC_PASSWORD = 'correct horse'
const MAINNET_ADDRESS = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'
/** A regtest P2WPKH address for a fixed 20-byte hash. */
const REGTEST_ADDRESS = bech32.encode('bcrt', [0, ...bech32.toWords(Buffer.alloc(20, 0x11))])
/** Below the regtest network difficulty (≈4.66e-10), so a share need not be a block. */
const SHARE_DIFF = 2 ** -32

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((res) => srv.close(() => res()))
  return port
}

const tick = () => new Promise((r) => setTimeout(r, 20))

/** Polls until `pred` holds (the test's own timeout bounds it). */
async function until<T>(get: () => Promise<T> | T, pred: (v: T) => boolean): Promise<T> {
  for (;;) {
    const v = await get()
    if (pred(v)) return v
    await tick()
  }
}

function moduleOptions() {
  return {
    templateSource: { pollIntervalMs: 50, retryInitialMs: 50, retryMaxMs: 200 },
    flushIntervalMs: 100,
    streamIntervalMs: 20,
    submitRetryMs: 50,
    closeGraceMs: 100,
    testNodeTimeoutMs: 2000,
    vardiff: { startByUserAgent: [] },
  }
}

let fake: FakeBitcoind
let core: Core
let client: RpcClient
let data: { dir: string; cleanup(): void }
let stratumPort = 0

async function boot(): Promise<void> {
  core = await startCore({
    dataDir: data.dir,
    host: 'test',
    logger: memoryLogger(),
    validateOutputs: true,
    coalesceMs: 10,
    modules: [createPoolModule(moduleOptions())],
  })
  const [s, c] = memoryTransportPair()
  core.rpc.attach(s, { transport: 'memory' })
  client = new RpcClient(c)
}

beforeAll(async () => {
  fake = await FakeBitcoind.start({ chain: 'regtest' })
  data = tempDir()
  stratumPort = await freePort()
  await boot()
})

afterAll(async () => {
  client.close()
  await core.close('test end')
  await fake.close()
  data.cleanup()
})

const status = () => client.call('pool.status', {})

interface Ready {
  miner: TestMiner
  en1: string
  en2Size: number
}

async function handshake(port: number, user = 'rig1'): Promise<Ready> {
  const miner = await TestMiner.connect(port)
  const [sub, auth] = await miner.pipeline([
    ['mining.subscribe', ['testminer/1.0']],
    ['mining.authorize', [user, 'x']],
  ])
  expect(auth!.result).toBe(true)
  const r = sub!.result as [unknown, string, number]
  await miner.notifyCount(1)
  return { miner, en1: r[1], en2Size: r[2] }
}

let en2Counter = 0
const nextEn2 = (size: number) => (++en2Counter).toString(16).padStart(size * 2, '0')

/** Submits a share on `job` that is accepted but is NOT a block (hash above the network target). */
async function submitShare(r: Ready, job: NotifyJob) {
  for (;;) {
    const en2 = nextEn2(r.en2Size)
    const g = grind(job, r.en1, en2, networkTarget(job.nbits), { want: 'above' })
    if (g.hashValue > shareTarget(SHARE_DIFF)) continue
    return r.miner.request('mining.submit', ['rig1', job.jobId, en2, g.ntimeHex, g.nonceHex])
  }
}

/** Submits a block on `job` (hash at or below the network target); returns its display hash. */
async function submitBlock(r: Ready, job: NotifyJob) {
  const en2 = nextEn2(r.en2Size)
  const g = grind(job, r.en1, en2, networkTarget(job.nbits))
  const reply = await r.miner.request('mining.submit', ['rig1', job.jobId, en2, g.ntimeHex, g.nonceHex])
  return { reply, hashHex: g.hashHex, hashValue: hashInt(Buffer.from(g.hashHex, 'hex').reverse()) }
}

describe('pool settings over the API', () => {
  it('is off and refuses to start until configured', async () => {
    const s = await status()
    expect(s.running).toBe(false)
    expect(s.configured).toBe(false)
    expect(s.node.state).toBe('off')
    await expect(client.call('pool.start', {})).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('not configured'),
    })
  })

  it('refuses a Lightning address, a typo and an address of another network, saying which', async () => {
    await expect(
      client.call('pool.setSettings', { network: 'regtest', payoutAddress: 'satoshi@getalby.com' }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('Lightning address') })
    const typo = `${REGTEST_ADDRESS.slice(0, -1)}${REGTEST_ADDRESS.endsWith('q') ? 'p' : 'q'}`
    await expect(client.call('pool.setSettings', { network: 'regtest', payoutAddress: typo })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringMatching(/typo|checksum/i),
    })
    await expect(
      client.call('pool.setSettings', { network: 'regtest', payoutAddress: MAINNET_ADDRESS }),
    ).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('mainnet address, but the pool runs on regtest'),
    })
    // Nothing was saved by the refused calls.
    expect((await client.call('pool.getSettings', {})).payoutAddress).toBeNull()
  })

  it('refuses a user without a password, and never returns the password', async () => {
    await expect(client.call('pool.setSettings', { node: { url: fake.url, user: 'hashyard' } })).rejects.toMatchObject({
      code: 'INVALID_PARAMS',
      message: expect.stringContaining('password'),
    })
    const r = await client.call('pool.setSettings', {
      node: { url: fake.url, user: 'hashyard', password: RPC_PASSWORD },
      network: 'regtest',
      payoutAddress: REGTEST_ADDRESS,
      coinbaseTag: '/hashyard-test/',
      host: '127.0.0.1',
      port: stratumPort,
      vardiff: { minDifficulty: 2 ** -40, startDifficulty: SHARE_DIFF },
    })
    expect(r.restartRequired).toBe(false)
    expect(r.settings).toMatchObject({
      configured: true,
      enabled: false,
      node: { url: fake.url, user: 'hashyard', hasPassword: true, cookieFile: null },
      payoutAddress: REGTEST_ADDRESS,
      port: stratumPort,
    })
    expect(JSON.stringify(await client.call('pool.getSettings', {}))).not.toContain(RPC_PASSWORD)
  })

  it('tests a node in plain words: wrong password, wrong network, then ok', async () => {
    const bad = await client.call('pool.testNode', { password: 'wrong' })
    expect(bad).toMatchObject({ ok: false, state: 'auth', templateOk: false })
    expect(bad.message).toMatch(/password|401/i)
    const down = await client.call('pool.testNode', { url: `http://127.0.0.1:${await freePort()}` })
    expect(down).toMatchObject({ ok: false, state: 'unreachable' })
    expect(down.message).toContain('refused')
    const good = await client.call('pool.testNode', {})
    expect(good).toMatchObject({
      ok: true,
      state: 'ok',
      chain: 'regtest',
      network: 'regtest',
      height: 0,
      templateOk: true,
    })
    expect(good.message).toContain('template for block 1')
  })
})

describe('mining on the pool', () => {
  let ready: Ready
  const frames: ShareFrame[] = []
  const streamed: PoolStatus[] = []
  let offShares: () => void = () => {}
  let offStream: () => void = () => {}

  afterAll(() => {
    offShares()
    offStream()
    ready?.miner.close()
  })

  it('starts: listening, connected to the node, with a job for block 1', async () => {
    offShares = client.listen('poolShares.stream', {}, { frame: (f) => frames.push(f) })
    offStream = client.listen('pool.stream', {}, { frame: (f) => streamed.push(f.status) })
    const started = await client.call('pool.start', {})
    expect(started.running).toBe(true)
    expect(started.ports).toEqual([{ protocol: 'stratum', host: '127.0.0.1', port: stratumPort }])
    const s = await until(status, (x) => x.node.state === 'connected' && x.job !== null)
    expect(s.node).toMatchObject({ chain: 'regtest', height: 0, templateHeight: 1 })
    expect(s.job).toMatchObject({ height: 1, transactions: 11 })
    expect((await client.call('system.status', {})).ports).toContainEqual({
      name: 'pool',
      protocol: 'stratum',
      host: '127.0.0.1',
      port: stratumPort,
    })
    expect((await client.call('pool.getSettings', {})).enabled).toBe(true)
  })

  it('gives a miner work and accepts its shares', async () => {
    ready = await handshake(stratumPort)
    expect(ready.miner.difficulties.at(-1)).toBe(SHARE_DIFF)
    const job = ready.miner.notifies.at(-1)!
    for (let i = 0; i < 2; i++) {
      const reply = await submitShare(ready, job)
      expect(reply.error).toBeNull()
      expect(reply.result).toBe(true)
    }
    const conns = await until(
      () => client.call('pool.connections', {}),
      (c) => c.connections[0]?.accepted === 2,
    )
    expect(conns.connections).toHaveLength(1)
    expect(conns.connections[0]).toMatchObject({
      transport: 'tcp',
      remoteAddress: '127.0.0.1',
      userAgent: 'testminer/1.0',
      worker: 'rig1',
      accepted: 2,
      rejected: 0,
    })
    expect(conns.connections[0]!.hashrateHs.h1m).toBeGreaterThan(0)
    expect(fake.submissions).toHaveLength(0)
  })

  it('finds a block that the node accepts, records it confirmed, logs it, and moves to the next block', async () => {
    const job = ready.miner.notifies.at(-1)!
    const notifiesBefore = ready.miner.notifies.length
    const found = await submitBlock(ready, job)
    expect(found.reply.result).toBe(true)
    // The fake node deserialized and validated the block on its own and made it its tip.
    await until(
      () => fake.acceptedBlocks.length,
      (n) => n === 1,
    )
    expect(fake.acceptedBlocks[0]).toMatchObject({ hash: found.hashHex, height: 1 })
    expect(fake.tip).toEqual({ hash: found.hashHex, height: 1 })

    const blocks = await until(
      () => client.call('pool.blocks', {}),
      (b) => b.blocks[0]?.confirmation.state === 'in-chain',
    )
    expect(blocks.blocks).toHaveLength(1)
    expect(blocks.blocks[0]).toMatchObject({
      height: 1,
      hashHex: found.hashHex,
      worker: 'rig1',
      staleShare: false,
      submit: { status: 'accepted', reason: null, attempts: 1 },
      confirmation: { state: 'in-chain', confirmations: 1 },
    })
    const events = await client.call('events.list', {})
    expect(
      events.events.some((e) => e.source === 'pool' && e.message.startsWith('Block found at height 1 by rig1')),
    ).toBe(true)

    // The pool fetched the next template at once: a clean job for block 2.
    const next = await ready.miner.notifyCount(notifiesBefore + 1)
    expect(next.clean).toBe(true)
    expect(next.prevhash).not.toBe(job.prevhash)
    const s = await until(status, (x) => x.job?.height === 2)
    expect(s.blocksFound).toBe(1)
    expect(s.lastBlock).toMatchObject({ height: 1, hashHex: found.hashHex })

    const second = await submitBlock(ready, next)
    expect(second.reply.result).toBe(true)
    await until(
      () => fake.acceptedBlocks.length,
      (n) => n === 2,
    )
    expect(fake.tip.height).toBe(2)
  })

  it('rejects a share on the replaced block as stale, with the standard error', async () => {
    const old = ready.miner.notifies[0]!
    const en2 = nextEn2(ready.en2Size)
    const g = grind(old, ready.en1, en2, networkTarget(old.nbits), { want: 'above' })
    const reply = await ready.miner.request('mining.submit', ['rig1', old.jobId, en2, g.ntimeHex, g.nonceHex])
    expect(reply.result).toBeNull()
    expect(reply.error).toEqual([21, 'Stale share', null])
    expect(reply['reject-reason']).toBe('stale')
  })

  it('accounts per worker, persists per-minute rows, and streams shares and status', async () => {
    const w = await until(
      () => client.call('pool.workers', {}),
      (x) => x.workers[0]?.blocks === 2 && x.workers[0].rejected === 1,
    )
    expect(w.workers[0]).toMatchObject({
      worker: 'rig1',
      connections: 1,
      accepted: 4,
      rejected: 1,
      rejectedByReason: { stale: 1 },
      stale: 1,
      blocks: 2,
      userAgent: 'testminer/1.0',
      remoteAddress: '127.0.0.1',
    })
    expect(w.workers[0]!.diffAccepted).toBeCloseTo(4 * SHARE_DIFF, 20)
    expect(w.workers[0]!.hashrateHs.h10m).toBeGreaterThan(0)
    const h = await client.call('pool.history', { worker: 'rig1' })
    expect(h.rows.reduce((a, r) => a + r.accepted, 0)).toBe(4)
    expect(h.rows.reduce((a, r) => a + r.stale, 0)).toBe(1)

    await until(
      () => frames.length,
      (n) => n >= 5,
    )
    expect(frames.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5])
    expect(frames.filter((f) => f.isBlock)).toHaveLength(2)
    expect(frames.at(-1)).toMatchObject({ accepted: false, reason: 'stale', worker: 'rig1' })
    const last = await until(
      () => streamed.at(-1),
      (x) => x?.shares.accepted === 4,
    )
    expect(last).toMatchObject({ running: true, miners: { connections: 1, ready: 1, workers: 1 } })
  })

  it('keeps the miner connected while the node is down, and sends new work when it is back', async () => {
    await fake.goDown()
    const down = await until(status, (x) => x.node.state === 'unreachable')
    expect(down.node.message).toContain('refused')
    expect(down.running).toBe(true)
    const events = await client.call('events.list', {})
    expect(events.events.some((e) => e.level === 'warn' && e.message.includes('Miners stay connected'))).toBe(true)
    // Still mining the last job: shares are answered and accepted.
    const job = ready.miner.notifies.at(-1)!
    expect((await submitShare(ready, job)).result).toBe(true)
    expect(ready.miner.closed).toBe(false)

    const before = ready.miner.notifies.length
    await fake.comeUp()
    await ready.miner.notifyCount(before + 1)
    const up = await until(status, (x) => x.node.state === 'connected')
    expect(up.node.height).toBe(2)
    expect(ready.miner.closed).toBe(false)
  })

  it('says so when the node refuses the password, and recovers when it is fixed', async () => {
    const r = await client.call('pool.setSettings', { node: { password: 'wrong' } })
    expect(r.restartRequired).toBe(false)
    const bad = await until(status, (x) => x.node.state === 'auth')
    expect(bad.node.message).toMatch(/password|401/i)
    expect(bad.node.errorCode).toBe('NODE_AUTH')
    await client.call('pool.setSettings', { node: { password: RPC_PASSWORD } })
    await until(status, (x) => x.node.state === 'connected')
    expect(ready.miner.closed).toBe(false)
  })

  it('stops mining when the payout address does not belong to the node network', async () => {
    // Valid mainnet settings, but the node runs regtest: refused as a status, not a crash.
    await client.call('pool.setSettings', { network: 'mainnet', payoutAddress: MAINNET_ADDRESS })
    const wrong = await until(status, (x) => x.node.state === 'wrong-network')
    expect(wrong.node.message).toContain('The node runs regtest but the payout address')
    // While the node's network is known, an address it cannot pay is refused outright.
    await expect(
      client.call('pool.setSettings', { payoutAddress: '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2' }),
    ).rejects.toMatchObject({ code: 'INVALID_PARAMS', message: expect.stringContaining('The node runs regtest') })
    await client.call('pool.setSettings', { network: 'regtest', payoutAddress: REGTEST_ADDRESS })
    await until(status, (x) => x.node.state === 'connected')
  })

  it('kicks a connection by id', async () => {
    const { connections } = await client.call('pool.connections', {})
    const id = connections[0]!.id
    expect(await client.call('pool.kick', { id: 999_999 })).toEqual({ kicked: false })
    expect(await client.call('pool.kick', { id })).toEqual({ kicked: true })
    await ready.miner.closedPromise
    await until(
      () => client.call('pool.connections', {}),
      (c) => c.connections.length === 0,
    )
  })
})

describe('ports and TLS', () => {
  it('refuses to start on a busy port with a clear message', async () => {
    await client.call('pool.stop', {})
    expect((await status()).running).toBe(false)
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const busy = (blocker.address() as net.AddressInfo).port
    try {
      await client.call('pool.setSettings', { port: busy })
      await expect(client.call('pool.start', {})).rejects.toMatchObject({
        code: 'CONFLICT',
        message: expect.stringContaining(`Port ${busy} (the stratum port) is already in use`),
      })
      expect((await status()).running).toBe(false)
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()))
    }
    await client.call('pool.setSettings', { port: stratumPort })
  })

  it('serves stratum+ssl with a generated certificate whose fingerprint it shows', async () => {
    const tlsPort = await freePort()
    await client.call('pool.setSettings', { tls: { enabled: true, port: tlsPort } })
    const s = await client.call('pool.start', {})
    expect(s.ports).toContainEqual({ protocol: 'stratum+ssl', host: '127.0.0.1', port: tlsPort })
    expect(s.tls.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    await until(status, (x) => x.job !== null)

    const ca = readFileSync(join(data.dir, 'pool-tls', 'cert.pem'), 'utf8')
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const t = tls.connect({ host: '127.0.0.1', port: tlsPort, ca }, () => resolve(t))
      t.once('error', reject)
    })
    try {
      expect(socket.authorized).toBe(true)
      expect(socket.getPeerCertificate().fingerprint256).toBe(s.tls.fingerprintSha256)
      socket.setEncoding('utf8')
      let got = ''
      const notified = new Promise<void>((resolve) => {
        socket.on('data', (d: string) => {
          got += d
          if (got.includes('mining.notify')) resolve()
        })
      })
      socket.write(
        `${JSON.stringify({ id: 1, method: 'mining.subscribe', params: ['tlsminer/1'] })}\n${JSON.stringify({ id: 2, method: 'mining.authorize', params: ['rig-tls', 'x'] })}\n`,
      )
      await notified
      const c = await client.call('pool.connections', {})
      expect(c.connections.find((x) => x.worker === 'rig-tls')?.transport).toBe('tls')
      // Known from its authorize alone (no share yet): the server's onAuthorize hook reached the pool.
      const w = await client.call('pool.workers', {})
      expect(w.workers.find((x) => x.worker === 'rig-tls')).toMatchObject({
        accepted: 0,
        connections: 1,
        userAgent: 'tlsminer/1',
      })
    } finally {
      socket.destroy()
    }
  })

  it('starts again with the app, with its totals and blocks kept', async () => {
    // Left running: a restart of the core brings it back.
    client.close()
    await core.close('restart')
    await boot()
    const s = await until(status, (x) => x.running && x.node.state === 'connected')
    expect(s.tls.fingerprintSha256).not.toBeNull()
    const w = await client.call('pool.workers', {})
    expect(w.workers.find((x) => x.worker === 'rig1')).toMatchObject({ accepted: 5, blocks: 2, connections: 0 })
    expect((await client.call('pool.blocks', {})).blocks.map((b) => b.height)).toEqual([2, 1])
    // Stopped by the owner: it stays off after the next restart.
    await client.call('pool.stop', {})
    client.close()
    await core.close('restart')
    await boot()
    expect((await status()).running).toBe(false)
    expect((await client.call('pool.getSettings', {})).enabled).toBe(false)
  })
})
