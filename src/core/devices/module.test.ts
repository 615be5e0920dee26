/**
 * The devices API end to end: the real core (store, secrets, RpcServer) over an in-memory
 * transport, simulated devices on 127.0.3.x replaying real captures.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AntminerSim, startAntminerSim } from '../../../test/support/sim-devices/antminer-sim'
import { type AxeosSim, startAxeosSim } from '../../../test/support/sim-devices/axeos-sim'
import { fixtureText } from '../../../test/support/sim-devices/fixtures'
import { type LuxosSim, startLuxosSim } from '../../../test/support/sim-devices/luxos-sim'
import { tempDir } from '../../../test/support/temp-dir'
import type { Device, ScanFrame } from '../../shared/contract/devices'
import type { AppFailure } from '../../shared/errors'
import { memoryTransportPair } from '../../shared/protocol'
import { RpcClient } from '../../shared/rpc-client'
import { type Core, startCore } from '../entry'
import { memoryLogger } from '../logger'
import { createDevicesModule, noteMinerConnected, noteShareAccepted } from './module'
import { hasUnsafeChars } from './untrusted-text'

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  const addr = srv.address()
  await new Promise<void>((res) => srv.close(() => res()))
  return typeof addr === 'object' && addr ? addr.port : 0
}

const HOSTILE = `<img src=x onerror=alert(1)>\u001b[2J\r\n2026-01-01 error [core] forged${'X'.repeat(10_000)}`
const POOL_PASSWORD = 'pool-secret-do-not-leak'
const DEVICE_PASSWORD = 'device-secret-do-not-leak'

let core: Core
let client: RpcClient
let logger: ReturnType<typeof memoryLogger>
let cleanupDir: () => void
let httpPort = 0
let rpcPort = 0
let axeos: AxeosSim
let hostile: AxeosSim
let broken: AxeosSim
let antminer: AntminerSim
let lux: LuxosSim
const ip = { axeos: '127.0.3.2', hostile: '127.0.3.3', antminer: '127.0.3.4', broken: '127.0.3.5', lux: '127.0.3.6' }

beforeAll(async () => {
  ;[httpPort, rpcPort] = [await freePort(), await freePort()]
  const info = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')
  const asic = fixtureText('bitaxe/axeos_system_asic_gamma.json')
  axeos = await startAxeosSim({ info, asic, listen: { host: ip.axeos, port: httpPort } })
  hostile = await startAxeosSim({
    info,
    asic,
    listen: { host: ip.hostile, port: httpPort },
    patchInfo: { hostname: HOSTILE, macAddr: '10:F5:12:33:BB:F1' },
  })
  broken = await startAxeosSim({
    info,
    asic,
    failWrites: 500,
    listen: { host: ip.broken, port: httpPort },
    patchInfo: { macAddr: '10:F5:12:33:BB:F2', hostname: 'shed-2' },
  })
  antminer = await startAntminerSim({ listen: { host: ip.antminer, httpPort, rpcPort } })
  lux = await startLuxosSim({ listen: { host: ip.lux, port: rpcPort } })

  const t = tempDir()
  cleanupDir = t.cleanup
  logger = memoryLogger()
  core = await startCore({
    dataDir: t.dir,
    host: 'test',
    logger,
    validateOutputs: true,
    sampleIntervalMs: 1000,
    coalesceMs: 10,
    modules: [
      createDevicesModule({
        poll: { enabled: false },
        scan: { connectTimeoutMs: 500, identifyTimeoutMs: 1500, concurrency: 8, defaultRanges: () => ['127.0.3.0/29'] },
        verifyAttempts: 2,
        verifyDelayMs: 20,
        streamMinIntervalMs: 10,
        passive: { allowLoopback: true },
        networkInterfaces: () => ({
          lo: [
            {
              address: '127.0.0.1',
              netmask: '255.0.0.0',
              family: 'IPv4',
              mac: '',
              internal: true,
              cidr: '127.0.0.1/8',
            },
          ],
          docker0: [
            {
              address: '172.17.0.1',
              netmask: '255.255.0.0',
              family: 'IPv4',
              mac: '',
              internal: false,
              cidr: '172.17.0.1/16',
            },
          ],
          eth0: [
            {
              address: '192.168.1.20',
              netmask: '255.255.255.0',
              family: 'IPv4',
              mac: '',
              internal: false,
              cidr: '192.168.1.20/24',
            },
          ],
        }),
      }),
    ],
  })
  const [s, c] = memoryTransportPair()
  core.rpc.attach(s, { transport: 'memory' })
  client = new RpcClient(c)
})

afterAll(async () => {
  client.close()
  await core.close('test end')
  cleanupDir()
  await Promise.all([axeos.close(), hostile.close(), broken.close(), antminer.close(), lux.close()])
})

const ports = () => [
  { port: httpPort, role: 'http' as const },
  { port: rpcPort, role: 'rpc' as const },
]

async function scanAll(): Promise<ScanFrame[]> {
  const frames: ScanFrame[] = []
  let scanId = ''
  let resolveDone: () => void = () => {}
  const finished = new Promise<void>((resolve) => {
    resolveDone = resolve
  })
  const check = () => {
    if (frames.some((f) => f.type === 'finished' && f.scanId === scanId)) resolveDone()
  }
  // Subscribed first; a new subscriber is replayed the latest scan, so frames of an older scan are filtered out.
  const off = client.listen(
    'scan.stream',
    {},
    {
      frame: (f) => {
        frames.push(f)
        check()
      },
    },
  )
  const started = await client.call('scan.start', { ranges: '127.0.3.1-127.0.3.8', ports: ports() })
  expect(started.total).toBe(8)
  scanId = started.scanId
  check()
  await finished
  off()
  return frames.filter((f) => f.scanId === scanId)
}

const byIp = (devices: Device[], a: string) => {
  const d = devices.find((x) => x.ip === a)
  if (!d) throw new Error(`no device at ${a}`)
  return d
}

describe('devices API over the real RpcServer', () => {
  let devices: Device[] = []

  it('scans a loopback range: results stream with progress and identified devices join the table', async () => {
    const frames = await scanAll()
    expect(frames[0]?.type).toBe('started')
    const results = frames.flatMap((f) => (f.type === 'result' ? [f] : []))
    expect(results).toHaveLength(8)
    expect(results.map((r) => r.progress.done)).toEqual([1, 2, 3, 4, 5, 6, 7, 8])
    const last = frames.at(-1)
    expect(last).toMatchObject({ type: 'finished', cancelled: false, progress: { total: 8, done: 8, identified: 5 } })
    const states = new Map(results.map((r) => [r.result.host, r.result.state]))
    expect(states.get('127.0.3.1')).toBe('no-answer')
    expect(states.get(ip.lux)).toBe('identified')

    devices = (await client.call('devices.list', {})).devices
    expect(devices).toHaveLength(5)
    expect(byIp(devices, ip.axeos)).toMatchObject({
      vendor: 'axeos',
      mac: '10:F5:12:33:BB:F0',
      httpPort,
      source: 'scan',
    })
    expect(byIp(devices, ip.antminer)).toMatchObject({ vendor: 'antminer', serial: 'THQING0BDJAB024NF', rpcPort })
    expect(byIp(devices, ip.lux)).toMatchObject({
      vendor: 'luxos',
      mac: '62:F7:5E:B7:10:46',
      capabilities: { setPools: true, locate: 'toggle' },
    })
    // The same scan again finds the same machines: no duplicates.
    await scanAll()
    expect((await client.call('devices.list', {})).devices).toHaveLength(5)
  })

  it('keeps a hostile device name as inert text, capped, and out of the logs', async () => {
    const h = byIp(devices, ip.hostile)
    expect(h.hostname).toBe(HOSTILE.slice(0, 256))
    const got = await client.call('devices.get', { id: h.id })
    expect(got.hostname).toBe(h.hostname)
    for (const r of logger.records) {
      const text = JSON.stringify(r.fields ?? {}) + r.msg
      expect(text).not.toContain('\u001b')
      for (const v of Object.values(r.fields ?? {})) if (typeof v === 'string') expect(hasUnsafeChars(v)).toBe(false)
    }
  })

  it('renames, locates, tags and logs each action', async () => {
    const a = byIp(devices, ip.axeos)
    const renamed = await client.call('devices.rename', { id: a.id, name: 'desk bitaxe' })
    expect(renamed.name).toBe('desk bitaxe')
    const placed = await client.call('devices.setLocation', { id: a.id, rack: 'R1', slot: '3' })
    expect(placed.location).toEqual({ site: null, rack: 'R1', row: null, slot: '3' })
    const tagged = await client.call('devices.tag', {
      ids: [a.id, byIp(devices, ip.antminer).id],
      add: ['home', 'btc'],
    })
    expect(tagged.devices.map((d) => d.tags)).toEqual([
      ['btc', 'home'],
      ['btc', 'home'],
    ])
    expect((await client.call('devices.list', { tag: 'home' })).devices).toHaveLength(2)
    const loc = await client.call('devices.locate', { id: a.id, on: true })
    expect(loc).toEqual({ on: true, mode: 'timed', untilMs: null })
    expect(axeos.identifies).toBe(1)
    const m = byIp(devices, ip.antminer)
    const on = await client.call('devices.locate', { id: m.id, on: true, durationS: 30 })
    expect(on.mode).toBe('toggle')
    expect(antminer.blinking).toBe(true)
    await client.call('devices.locate', { id: m.id, on: false })
    expect(antminer.blinking).toBe(false)
    const log = (await client.call('devices.actionLog', { id: a.id })).entries.map((e) => e.action)
    expect(log).toEqual(expect.arrayContaining(['discovered', 'rename', 'set-location', 'tag', 'locate']))
    const e = await client.call('devices.rename', { id: 'd-nope', name: 'x' }).catch((x: unknown) => x)
    expect((e as AppFailure).code).toBe('NOT_FOUND')
    const bad = await client.call('devices.rename', { id: a.id, name: 'a\u0007b' }).catch((x: unknown) => x)
    expect((bad as AppFailure).code).toBe('INVALID_PARAMS')
  })

  it('stores credentials write-only', async () => {
    const set = await client.call('devices.setCredentials', {
      vendor: 'antminer',
      range: '127.0.3.0/24',
      username: 'root',
      password: DEVICE_PASSWORD,
    })
    expect(set).toMatchObject({ vendor: 'antminer', range: '127.0.3.0/24', username: 'root', hasPassword: true })
    const list = await client.call('devices.listCredentials', {})
    expect(list.credentials).toHaveLength(1)
    expect(JSON.stringify(list)).not.toContain(DEVICE_PASSWORD)
    // The Antminer sim only knows root/root: the stored (wrong) password is really used…
    const m = byIp(devices, ip.antminer)
    const denied = await client.call('devices.reboot', { id: m.id }).catch((x: unknown) => x)
    expect((denied as AppFailure).code).toBe('UNAUTHORIZED')
    // …and removing it falls back to the vendor default.
    expect(
      await client.call('devices.setCredentials', {
        vendor: 'antminer',
        range: '127.0.3.0/24',
        username: 'root',
        password: null,
      }),
    ).toBeNull()
    expect(await client.call('devices.reboot', { id: m.id })).toEqual({ rebooted: true })
    expect(antminer.reboots).toBe(1)
    const badRange = await client
      .call('devices.setCredentials', { vendor: 'antminer', range: '10.0.0.0/8', username: 'root', password: 'x' })
      .catch((x: unknown) => x)
    expect((badRange as AppFailure).code).toBe('INVALID_PARAMS')
  })

  it('previews worker names (dry run), then applies in batches with one failing device', async () => {
    // A miner seen only by the pool: known address, never identified, so it cannot be written.
    const unknown = noteMinerConnected({ remoteIp: '127.0.3.77', worker: 'acct.old' })
    if (!unknown?.matched) throw new Error('passive record expected')
    const ids = [...[ip.axeos, ip.antminer, ip.broken, ip.lux].map((a) => byIp(devices, a).id), unknown.deviceId]
    const base = {
      ids,
      pools: [
        { url: 'stratum+tcp://192.168.1.10:3333', password: POOL_PASSWORD },
        { url: 'stratum+tcp://192.168.1.11:3333', password: POOL_PASSWORD },
      ],
      account: 'bc1qexampleaccount',
      workerTemplate: '{ip_x}',
    }
    const dry = await client.call('devices.assignPools', { ...base, dryRun: true })
    expect(dry.outcomes).toBeUndefined()
    expect(dry.preview.map((r) => [r.user, r.writable])).toEqual([
      ['bc1qexampleaccount.127x0x3x2', true],
      ['bc1qexampleaccount.127x0x3x4', true],
      ['bc1qexampleaccount.127x0x3x5', true],
      ['bc1qexampleaccount.127x0x3x6', true],
      ['bc1qexampleaccount.127x0x3x77', false],
    ])
    expect(dry.preview[4]?.problems.join(' ')).toMatch(/not identified/)
    // Nothing was written by the dry run.
    expect(axeos.info.stratumURL).not.toBe('192.168.1.10')

    const withDup = await client.call('devices.assignPools', { ...base, workerTemplate: 'rig', dryRun: true })
    expect(withDup.preview.filter((r) => r.duplicate)).toHaveLength(5)

    const applied = await client.call('devices.assignPools', { ...base, dryRun: false, batchSize: 2 })
    const out = new Map((applied.outcomes ?? []).map((o) => [o.id, o]))
    expect(out.get(ids[0] ?? '')).toMatchObject({ status: 'applied', restarted: true })
    expect(out.get(ids[1] ?? '')).toMatchObject({ status: 'applied' })
    expect(out.get(ids[2] ?? '')).toMatchObject({ status: 'failed', stage: 'write', previous: 'kept' })
    expect(out.get(ids[3] ?? '')).toMatchObject({ status: 'applied' })
    expect(out.get(ids[4] ?? '')).toMatchObject({ status: 'skipped', stage: 'validate' })
    // The devices really hold the new pools (AxeOS wants the host without a scheme).
    expect(axeos.info).toMatchObject({
      stratumURL: '192.168.1.10',
      stratumPort: 3333,
      stratumUser: 'bc1qexampleaccount.127x0x3x2',
    })
    expect(axeos.restarts).toBe(1)
    expect((antminer.conf.pools as { url: string; user: string }[])[0]).toMatchObject({
      url: 'stratum+tcp://192.168.1.10:3333',
      user: 'bc1qexampleaccount.127x0x3x4',
    })
    expect(broken.info.stratumURL).not.toBe('192.168.1.10')
    // LuxOS got the pools through addpool/switchpool/removepool, without a session. Removal moves
    // pools between slots (as in cgminer); the priority order is what the miner follows.
    expect([...lux.pools].sort((x, y) => x.priority - y.priority).map((p) => [p.url, p.user])).toEqual([
      ['stratum+tcp://192.168.1.10:3333', 'bc1qexampleaccount.127x0x3x6'],
      ['stratum+tcp://192.168.1.11:3333', 'bc1qexampleaccount.127x0x3x6'],
    ])
    const brokenLog = (await client.call('devices.actionLog', { id: ids[2] ?? '' })).entries
    expect(brokenLog[0]).toMatchObject({ action: 'assign-pools', outcome: 'failed' })
    // Secrets never come back out.
    const everything = JSON.stringify([applied, (await client.call('devices.actionLog', { limit: 1000 })).entries])
    expect(everything).not.toContain(POOL_PASSWORD)
    expect(JSON.stringify(logger.records)).not.toContain(POOL_PASSWORD)
    expect(JSON.stringify(logger.records)).not.toContain(DEVICE_PASSWORD)
  })

  it('rejects a bad pool URL before touching any device', async () => {
    const before = axeos.requests.length
    const e = await client
      .call('devices.assignPools', {
        ids: [byIp(devices, ip.axeos).id],
        pools: [{ url: 'http://pool.example:80/path' }],
        account: 'acct',
        workerTemplate: '{ip4}',
        dryRun: false,
      })
      .catch((x: unknown) => x)
    expect((e as AppFailure).code).toBe('INVALID_PARAMS')
    expect(axeos.requests.length).toBe(before)
  })

  it('streams the device table and matches a connecting miner by IP', async () => {
    const frames: Device[][] = []
    const got = new Promise<void>((resolve) => {
      const off = client.listen(
        'devices.stream',
        {},
        {
          frame: (f) => {
            frames.push(f.devices)
            if (f.devices.some((d) => d.worker === 'bc1qexampleaccount.127x0x3x2')) {
              off()
              resolve()
            }
          },
        },
      )
    })
    const m = noteMinerConnected({
      remoteIp: ip.axeos,
      worker: 'bc1qexampleaccount.127x0x3x2',
      userAgent: 'bitaxe/BM1370',
    })
    expect(m).toEqual({ matched: true, deviceId: byIp(devices, ip.axeos).id, created: false })
    await got
    expect(frames[0]?.length).toBe(6)
    const fresh = noteMinerConnected({ remoteIp: '127.0.3.99', worker: 'acct.new' })
    expect(fresh).toMatchObject({ matched: true, created: true })
    expect((await client.call('devices.list', {})).devices.find((d) => d.ip === '127.0.3.99')).toMatchObject({
      source: 'passive',
      vendor: null,
      worker: 'acct.new',
    })
  })

  it('confirms the first accepted share on the device record, once per pool setting', async () => {
    const a = byIp(devices, ip.axeos)
    expect((await client.call('devices.get', { id: a.id })).firstShare).toBeNull()
    const share = { remoteIp: `::ffff:${ip.axeos}`, worker: 'bc1qexampleaccount.127x0x3x2', difficulty: 512 }
    expect(noteShareAccepted(share)).toEqual({ matched: true, deviceId: a.id, created: false, first: true })
    expect(noteShareAccepted({ ...share, difficulty: 1024 })).toMatchObject({ matched: true, first: false })
    const got = await client.call('devices.get', { id: a.id })
    expect(got.firstShare).toMatchObject({ difficulty: 512, worker: 'bc1qexampleaccount.127x0x3x2' })
    const log = (await client.call('devices.actionLog', { id: a.id })).entries
    expect(log[0]).toMatchObject({
      action: 'first-share',
      outcome: 'ok',
      message: 'First share accepted at difficulty 512',
    })
    expect(
      core.events.list().some((e) => e.message.includes('First share accepted') && e.message.includes('512')),
    ).toBe(true)
    expect(noteShareAccepted({ ...share, difficulty: 0 })).toEqual({ matched: false, reason: 'bad-difficulty' })
    // A new pool setting asks for a new confirmation.
    const applied = await client.call('devices.assignPools', {
      ids: [a.id],
      pools: [{ url: 'stratum+tcp://192.168.1.10:3333' }],
      account: 'bc1qexampleaccount',
      workerTemplate: '{ip_x}',
      dryRun: false,
    })
    expect(applied.outcomes?.[0]?.status).toBe('applied')
    expect((await client.call('devices.get', { id: a.id })).firstShare).toBeNull()
    expect(noteShareAccepted({ ...share, difficulty: 2048 })).toMatchObject({ first: true })
  })

  it("offers the host's LAN address as the pool URL, and keeps mDNS off until asked", async () => {
    expect(await client.call('devices.appPoolUrls', { port: 3333 })).toEqual({
      urls: [
        { url: 'stratum+tcp://192.168.1.20:3333', address: '192.168.1.20', interface: 'eth0', cidr: '192.168.1.0/24' },
      ],
    })
    expect(await client.call('mdns.status', {})).toEqual({ running: false, startedAtMs: null, hits: [] })
  })

  it('refuses a second scan while one runs and cancels it', async () => {
    const frames: ScanFrame[] = []
    let scanId = ''
    let resolveDone: () => void = () => {}
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve
    })
    const check = () => {
      if (frames.some((f) => f.type === 'finished' && f.scanId === scanId)) resolveDone()
    }
    const off = client.listen(
      'scan.stream',
      {},
      {
        frame: (f) => {
          frames.push(f)
          check()
        },
      },
    )
    const s = await client.call('scan.start', { ranges: '127.0.4.0/24', ports: ports() })
    scanId = s.scanId
    const again = await client.call('scan.start', {}).catch((x: unknown) => x)
    expect((again as AppFailure).code).toBe('CONFLICT')
    expect(await client.call('scan.cancel', { scanId: s.scanId })).toEqual({ cancelled: true })
    check()
    await done
    off()
    const mine = frames.filter((f) => f.scanId === s.scanId)
    expect(mine.at(-1)).toMatchObject({ type: 'finished', cancelled: true, progress: { total: 254, done: 254 } })
    expect(mine.filter((f) => f.type === 'result')).toHaveLength(254)
  })
})
