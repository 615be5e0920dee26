import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/support/temp-dir'
import type { TopicFrame } from '../../shared/contract'
import { AppFailure } from '../../shared/errors'
import { memoryTransportPair } from '../../shared/protocol'
import { RpcClient } from '../../shared/rpc-client'
import { type Core, startCore } from '../entry'
import { memoryLogger } from '../logger'
import { NvsBackupStore } from './backups'
import type { SimulatedEspRom } from './esp-rom/testing/simulated-rom'
import { createSerialModule, onSerialDeviceOnline, type SerialDeviceOnline } from './module'
import { readNvs } from './nvs/reader'
import { SimulatedBench, simulatedBitaxe } from './testing/simulated-bench'

const PATH = '/dev/ttyACM0'
const NVS = { offset: 0x9000, size: 0x6000 }
const MAC = '24:58:7c:aa:bb:cc'
/** Every password in play: on the device before (fixtures) and written by the tests. */
const SECRETS = ['correct horse battery', 'hunter22', 'bench-wifi-secret', 'pool-secret-77']

const bench = new SimulatedBench()
const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
  bench.reset()
})

type FlashFrame = TopicFrame<'serialFlash.stream'>
type MonitorFrame = TopicFrame<'serialMonitor.stream'>
type PortsFrame = TopicFrame<'serialPorts.stream'>

/** Boots a real core with only the serial module, on the simulated bench, and records everything it says. */
async function boot(opts: Parameters<typeof createSerialModule>[0] = {}) {
  const t = tempDir()
  const logger = memoryLogger('debug')
  const online: SerialDeviceOnline[] = []
  const core: Core = await startCore({
    dataDir: t.dir,
    host: 'test',
    logger,
    validateOutputs: true,
    sampleIntervalMs: 60_000,
    coalesceMs: 1,
    modules: [
      createSerialModule({
        open: bench.opener,
        list: bench.lister,
        flasher: { resetStepMs: 1 },
        watchIntervalMs: 10,
        ipWaitMs: 10_000,
        onDeviceOnline: (d) => online.push(d),
        ...opts,
      }),
    ],
  })
  const [serverSide, clientSide] = memoryTransportPair()
  core.rpc.attach(serverSide, { transport: 'memory' })
  const client = new RpcClient(clientSide)
  cleanups.push(
    t.cleanup,
    () => core.close('test end'),
    () => client.close(),
  )

  const wire: unknown[] = []
  const waiters = new Set<() => void>()
  const record = (x: unknown) => {
    wire.push(x)
    for (const w of [...waiters]) w()
  }
  clientSide.onMessage(record)
  const flash: FlashFrame[] = []
  const monitor: MonitorFrame[] = []
  const ports: PortsFrame[] = []
  client.listen('serialFlash.stream', {}, { frame: (f) => flash.push(f) })
  client.listen('serialMonitor.stream', {}, { frame: (f) => monitor.push(f) })
  client.listen('serialPorts.stream', {}, { frame: (f) => ports.push(f) })
  client.listen('events.stream', { sinceSeq: 0 }, { frame: () => {} })

  /** Resolves once `cond` holds, re-checked on every message from the core. */
  const until = (cond: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = () => {
        if (!cond()) return
        waiters.delete(check)
        resolve()
      }
      waiters.add(check)
      queueMicrotask(check)
    })
  const call = client.call.bind(client)
  const fail = async (p: Promise<unknown>): Promise<AppFailure> => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    )
    if (!(e instanceof AppFailure)) throw new Error(`expected a failure, got ${JSON.stringify(e)}`)
    return e
  }
  return { core, client, call, fail, logger, wire, flash, monitor, ports, online, until, dataDir: t.dir }
}

const nvsOf = (rom: SimulatedEspRom) => Buffer.from(rom.flash.subarray(NVS.offset, NVS.offset + NVS.size))
const keyOf = (rom: SimulatedEspRom, key: string) => {
  const r = readNvs(nvsOf(rom))
  if (!r.ok) throw new Error(r.error.message)
  return r.value.entries.find((e) => e.namespace === 'main' && e.key === key)?.value
}
const phases = (frames: FlashFrame[], jobId: string) => [
  ...new Set(frames.filter((f) => f.jobId === jobId).map((f) => f.phase)),
]

describe('serial module through the RPC server (SerialPortMock + simulated ESP32-S3 ROM)', () => {
  it('lists ports with board guesses and streams plug and unplug', async () => {
    bench.plug(PATH, simulatedBitaxe())
    bench.plug('/dev/ttyUSB0', simulatedBitaxe(), { vendorId: '1a86', productId: '7523' })
    bench.plug('/dev/ttyS0', simulatedBitaxe(), {})
    const h = await boot()
    const { ports } = await h.call('serial.ports', {})
    expect(ports.map((p) => [p.path, p.board.bridge, p.board.resetStrategy, p.monitor])).toEqual([
      [PATH, 'esp-usb-jtag', 'usb-jtag', 'closed'],
      ['/dev/ttyUSB0', 'ch340', 'classic', 'closed'],
      ['/dev/ttyS0', 'unknown', undefined, 'closed'],
    ])
    await h.until(() => h.ports.at(-1)?.ports.length === 3)
    bench.unplug('/dev/ttyUSB0')
    await h.until(() => h.ports.at(-1)?.ports.length === 2)
    expect(h.ports.at(-1)?.ports.map((p) => p.path)).toEqual([PATH, '/dev/ttyS0'])
    bench.plug('/dev/ttyUSB1', simulatedBitaxe(), { vendorId: '10c4', productId: 'ea60' })
    await h.until(() => h.ports.at(-1)?.ports.some((p) => p.path === '/dev/ttyUSB1') === true)
    expect(h.ports.at(-1)?.ports.find((p) => p.path === '/dev/ttyUSB1')?.board.bridge).toBe('cp210x')
  })

  it('opens the monitor, shows the boot log with its IP, resets the device, and closes', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const h = await boot()
    expect(await h.call('serial.monitorOpen', { path: PATH })).toEqual({ path: PATH, baudRate: 115200 })
    await h.until(() => h.monitor.some((f) => f.kind === 'line' && f.event?.kind === 'ip'))
    await h.until(() => h.ports.at(-1)?.ports[0]?.lastIp === '192.168.1.77')
    expect(h.ports.at(-1)?.ports[0]?.monitor).toBe('open')
    const before = h.monitor.length
    expect(await h.call('serial.reset', { path: PATH })).toEqual({ path: PATH })
    await h.until(() =>
      h.monitor.slice(before).some((f) => f.kind === 'line' && f.text.includes('Connected to SSID: FarmNet 2.4')),
    )
    expect(await h.call('serial.monitorClose', { path: PATH })).toEqual({ path: PATH, wasOpen: true })
    await h.until(() => h.monitor.at(-1)?.kind === 'state')
    expect(h.monitor.at(-1)).toMatchObject({ kind: 'state', state: 'closed', path: PATH })
  })

  it('refuses a path it did not list, and explains EACCES with the dialout group', async () => {
    bench.plug(PATH, simulatedBitaxe())
    const h = await boot()
    const unknown = await h.fail(h.call('serial.monitorOpen', { path: '/dev/sda' }))
    expect(unknown.code).toBe('NOT_FOUND')
    expect(unknown.message).toMatch(/not a serial port Hashyard has listed/)
    bench.failNextOpen = Object.assign(new Error('Error: Permission denied, cannot open /dev/ttyACM0'), {
      code: 'EACCES',
    })
    const denied = await h.fail(h.call('serial.readSettings', { path: PATH }))
    expect(denied.code).toBe('FORBIDDEN')
    expect(denied.message).toMatch(/dialout group/)
  })

  it('reads the settings without passwords, keeps a backup, and boots the device back', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const h = await boot()
    const s = await h.call('serial.readSettings', { path: PATH, jobId: 'read-1' })
    expect(s).toMatchObject({
      jobId: 'read-1',
      chip: 'ESP32-S3',
      mac: MAC,
      layout: 'legacy',
      hostname: 'bitaxe-rack2-07',
      wifi: { ssid: 'FarmNet 2.4', hasPassword: true },
      asicModel: 'BM1366',
      deviceModel: 'ultra',
      frequencyMhz: 525,
      coreVoltageMv: 1150,
      boardVersion: '204',
      warnings: [],
    })
    expect(s.pools.map((p) => [p.role, p.url, p.port, p.hasPassword])).toEqual([
      ['primary', '192.168.1.20', 3333, true],
      ['fallback', 'public-pool.io', 21496, true],
    ])
    expect(rom.currentMode).toBe('firmware')
    expect(phases(h.flash, 'read-1')).toEqual(['connect', 'read', 'backup', 'reset', 'done'])

    const { backups } = await h.call('serial.backups', { mac: MAC })
    expect(backups).toEqual([expect.objectContaining({ id: s.backupId, mac: MAC, reason: 'read', sizeBytes: 0x6000 })])
    const file = join(h.dataDir, 'nvs-backups', `${s.backupId}.bin`)
    expect(readFileSync(file).equals(nvsOf(rom))).toBe(true)
    await h.until(() => h.ports.at(-1)?.ports[0]?.mac === MAC)
  })

  it('reads a ≥2.15 device with pool slots', async () => {
    bench.plug(PATH, simulatedBitaxe('bitaxe-pools-v2.15.csv'))
    const h = await boot()
    const s = await h.call('serial.readSettings', { path: PATH })
    expect(s.layout).toBe('pool-slots')
    expect(s.pools).toEqual([
      {
        role: 'primary',
        slot: 1,
        url: '192.168.1.20',
        port: 3333,
        user: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.home',
        hasPassword: true,
      },
    ])
  })

  it('writes Wi-Fi, pool and worker with progress frames, then sees the device come online', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const h = await boot()
    const hooked: SerialDeviceOnline[] = []
    cleanups.push(onSerialDeviceOnline((d) => hooked.push(d)))
    const w = await h.call('serial.writeSettings', {
      path: PATH,
      jobId: 'write-1',
      wifi: { ssid: 'Bench', password: 'bench-wifi-secret' },
      pool: { url: 'stratum+tcp://10.0.0.2:3333', user: 'bc1qexample', password: 'pool-secret-77' },
      workerName: 'rack1-01',
    })
    expect(w).toMatchObject({
      jobId: 'write-1',
      chip: 'ESP32-S3',
      mac: MAC,
      layout: 'legacy',
      changedKeys: ['wifissid', 'wifipass', 'stratumurl', 'stratumport', 'stratumuser', 'stratumpass'],
      verifiedBy: 'md5',
      nextWorkerName: 'rack1-02',
    })
    expect(keyOf(rom, 'stratumuser')).toBe('bc1qexample.rack1-01')
    expect(keyOf(rom, 'stratumurl')).toBe('10.0.0.2')
    expect(keyOf(rom, 'asicfrequency')).toBe(525)

    await h.until(() => h.flash.some((f) => f.jobId === 'write-1' && f.phase === 'online'))
    expect(phases(h.flash, 'write-1')).toEqual([
      'connect',
      'read',
      'backup',
      'erase',
      'write',
      'verify',
      'reset',
      'done',
      'waiting-for-ip',
      'online',
    ])
    const writes = h.flash.filter((f) => f.jobId === 'write-1' && f.phase === 'write')
    expect(writes.at(-1)).toMatchObject({ doneBytes: 0x6000, totalBytes: 0x6000 })
    expect(writes.map((f) => f.doneBytes)).toEqual([...writes.map((f) => f.doneBytes)].sort((a, b) => a - b))
    expect(h.flash.find((f) => f.phase === 'online')).toMatchObject({ ip: '192.168.1.77', mac: MAC })
    expect(h.monitor.some((f) => f.kind === 'line' && f.text.endsWith('Connected to SSID: Bench'))).toBe(true)

    const expected = {
      path: PATH,
      mac: MAC,
      chip: 'ESP32-S3',
      ip: '192.168.1.77',
      pool: { url: '10.0.0.2', port: 3333, user: 'bc1qexample.rack1-01' },
    }
    expect(h.online).toEqual([expect.objectContaining(expected)])
    expect(hooked).toEqual([expect.objectContaining({ ...expected, dataDir: h.dataDir })])
    const events = await h.call('events.list', {})
    expect(events.events.map((e) => e.message)).toContainEqual(`Miner ${MAC} joined the network as 192.168.1.77.`)

    const backup = await new NvsBackupStore(h.dataDir).load(w.backupId)
    expect(backup.ok && backup.value.info.reason).toBe('before-write')
  })

  it('says why a device does not come online, and gives up after ipWaitMs', async () => {
    bench.plug(PATH, simulatedBitaxe('bitaxe-legacy.csv', { wifiReachable: false }))
    const h = await boot({ ipWaitMs: 200 })
    await h.call('serial.writeSettings', {
      path: PATH,
      jobId: 'w-noip',
      wifi: { ssid: 'Bench', password: 'bench-wifi-secret' },
    })
    await h.until(() => h.flash.some((f) => f.jobId === 'w-noip' && f.phase === 'no-ip'))
    const tail = h.flash.filter((f) => f.jobId === 'w-noip' && (f.phase === 'waiting-for-ip' || f.phase === 'no-ip'))
    expect(tail.map((f) => [f.phase, f.message])).toEqual([
      ['waiting-for-ip', 'Waiting for the device to join Wi-Fi and report its IP address.'],
      ['waiting-for-ip', 'Could not join "Bench" (reason 201); the device keeps trying.'],
      [
        'no-ip',
        expect.stringMatching(/did not report an IP address within 0\.2 s\. Check the Wi-Fi name and password/),
      ],
    ])
    expect(h.online).toEqual([])
  })

  it('ends the IP wait of an earlier write when a new job starts on the port', async () => {
    bench.plug(PATH, simulatedBitaxe('bitaxe-legacy.csv', { wifiReachable: false }))
    const h = await boot()
    await h.call('serial.writeSettings', { path: PATH, jobId: 'w-1', wifi: { ssid: 'Bench' } })
    await h.until(() => h.flash.some((f) => f.jobId === 'w-1' && f.phase === 'waiting-for-ip'))
    await h.call('serial.readSettings', { path: PATH, jobId: 'r-2' })
    expect(h.flash.filter((f) => f.jobId === 'w-1').at(-1)).toMatchObject({
      phase: 'no-ip',
      message: 'Another job started on this port before the device reported its IP address.',
    })
  })

  it('runs one job per port: a second write while the first runs is refused', async () => {
    bench.plug(PATH, simulatedBitaxe())
    const h = await boot()
    const first = h.call('serial.writeSettings', { path: PATH, wifi: { ssid: 'Bench' } })
    await h.until(() => h.flash.length > 0)
    const second = await h.fail(h.call('serial.writeSettings', { path: PATH, wifi: { ssid: 'Other' } }))
    expect(second.code).toBe('CONFLICT')
    expect(second.message).toMatch(/already running/)
    const closeWhileBusy = await h.fail(h.call('serial.monitorClose', { path: PATH }))
    expect(closeWhileBusy.code).toBe('CONFLICT')
    expect((await first).changedKeys).toEqual(['wifissid'])
  })

  it('rejects bad input before touching the device', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const h = await boot()
    const tls = await h.fail(
      h.call('serial.writeSettings', { path: PATH, pool: { url: 'stratum+ssl://pool.example:443', user: 'a' } }),
    )
    expect(tls.message).toMatch(/cannot be set over USB/)
    const nothing = await h.fail(h.call('serial.writeSettings', { path: PATH }))
    expect(nothing.message).toMatch(/Choose Wi-Fi settings or a pool/)
    const badHost = await h.fail(
      h.call('serial.writeSettings', { path: PATH, pool: { url: 'pool example', port: 3333, user: 'a' } }),
    )
    expect(badHost.message).toMatch(/bare host name or IP/)
    const longSsid = await h.fail(h.call('serial.writeSettings', { path: PATH, wifi: { ssid: 'x'.repeat(33) } }))
    expect(longSsid.code).toBe('INVALID_PARAMS')
    expect(rom.received).toEqual([]) // not a single bootloader command was sent
  })

  it('survives an unplug mid-write: clear failure, backup intact, then restore works', async () => {
    const rom = simulatedBitaxe()
    const original = nvsOf(rom)
    bench.plug(PATH, rom)
    const h = await boot()
    rom.inject({ kind: 'unplug-on-flash-data', seq: 7 })
    const e = await h.fail(
      h.call('serial.writeSettings', {
        path: PATH,
        jobId: 'write-unplug',
        wifi: { ssid: 'Bench', password: 'bench-wifi-secret' },
      }),
    )
    expect(e.code).toBe('UNAVAILABLE')
    expect(e.message).toMatch(/unplugged or the port closed while writing at 0x9000 \(block 8 of 24\)/)
    expect(e.message).toMatch(/backup taken before writing is intact/)
    const { reason, backupId } = e.details as { reason: string; backupId: string }
    expect(reason).toBe('PORT_CLOSED')
    expect(h.flash.filter((f) => f.jobId === 'write-unplug').at(-1)).toMatchObject({
      phase: 'failed',
      error: { code: 'UNAVAILABLE', reason: 'PORT_CLOSED' },
    })
    await h.until(() => h.monitor.some((f) => f.kind === 'state' && f.state === 'unplugged'))
    expect(nvsOf(rom).equals(original)).toBe(false)

    const kept = await new NvsBackupStore(h.dataDir).load(backupId)
    expect(kept.ok && kept.value.image.equals(original)).toBe(true)
    const { backups } = await h.call('serial.backups', {})
    expect(backups.map((b) => b.id)).toEqual([backupId])

    bench.plug(PATH, rom)
    const r = await h.call('serial.restoreBackup', { path: PATH, backupId, jobId: 'restore-1' })
    expect(r).toEqual({ jobId: 'restore-1', chip: 'ESP32-S3', mac: MAC, backupId })
    expect(nvsOf(rom).equals(original)).toBe(true)
    expect(phases(h.flash, 'restore-1')).toEqual(['connect', 'erase', 'write', 'verify', 'reset', 'done'])
    await h.until(() =>
      h.monitor.some((f) => f.kind === 'line' && f.seq > 0 && f.text.endsWith('Connected to SSID: FarmNet 2.4')),
    )
  })

  it('refuses to restore a backup onto another device', async () => {
    const a = simulatedBitaxe()
    bench.plug(PATH, a)
    const h = await boot()
    const s = await h.call('serial.readSettings', { path: PATH })
    bench.unplug(PATH)
    bench.plug(PATH, simulatedBitaxe('bitaxe-legacy.csv', { mac: '24:58:7c:00:00:02' }))
    const e = await h.fail(h.call('serial.restoreBackup', { path: PATH, backupId: s.backupId }))
    expect(e.code).toBe('INVALID_PARAMS')
    expect(e.message).toMatch(/belongs to 24:58:7c:aa:bb:cc, but the connected device is 24:58:7c:00:00:02/)
    const missing = await h.fail(h.call('serial.restoreBackup', { path: PATH, backupId: '../../etc/passwd' }))
    expect(missing.code).toBe('NOT_FOUND')
  })

  it('reports a corrupted response clearly and boots the device back into its firmware', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const h = await boot()
    rom.inject({ kind: 'garbage-reply', op: 0x0e }) // READ_FLASH_SLOW
    const e = await h.fail(h.call('serial.readSettings', { path: PATH, jobId: 'read-bad' }))
    expect(e.code).toBe('UNAVAILABLE')
    expect(e.message).toMatch(/corrupted reply to READ_FLASH_SLOW/)
    expect((e.details as { reason: string }).reason).toBe('ROM_BAD_RESPONSE')
    expect(h.flash.filter((f) => f.jobId === 'read-bad').at(-1)?.phase).toBe('failed')
    expect(rom.currentMode).toBe('firmware')
    expect(await h.call('serial.backups', {})).toEqual({ backups: [] })
    // The port is usable again right away.
    const ok = await h.call('serial.readSettings', { path: PATH })
    expect(ok.mac).toBe(MAC)
  })

  it('never lets a password out: not in answers, frames, events, log records or backup sidecars', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    bench.plug('/dev/ttyACM1', simulatedBitaxe('bitaxe-pools-v2.15.csv', { mac: '24:58:7c:00:00:09' }))
    const h = await boot()
    await h.call('serial.readSettings', { path: PATH })
    await h.call('serial.readSettings', { path: '/dev/ttyACM1' })
    await h.call('serial.writeSettings', {
      path: PATH,
      wifi: { ssid: 'Bench', password: 'bench-wifi-secret' },
      pool: { url: '10.0.0.2', port: 3333, user: 'bc1qexample', password: 'pool-secret-77' },
      workerName: 'rack1-01',
    })
    await h.until(() => h.flash.some((f) => f.phase === 'online'))
    // A firmware that echoes its passwords must not put them on screen.
    rom.firmwareSays('W (9000) wifi: password bench-wifi-secret, pool pass pool-secret-77, old correct horse battery')
    await h.until(() => h.monitor.some((f) => f.kind === 'line' && f.text.startsWith('W (9000)')))
    expect(h.monitor.find((f) => f.kind === 'line' && f.text.startsWith('W (9000)'))).toMatchObject({
      text: 'W (9000) wifi: password ***, pool pass ***, old ***',
    })
    rom.inject({ kind: 'unplug-on-flash-data', seq: 3 })
    await h.fail(h.call('serial.writeSettings', { path: PATH, wifi: { ssid: 'B2', password: 'bench-wifi-secret' } }))
    await h.call('serial.backups', {})
    await h.call('events.list', {})

    const sidecars = readdirSync(join(h.dataDir, 'nvs-backups'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .map((f) => readFileSync(join(h.dataDir, 'nvs-backups', f), 'utf8'))
    expect(sidecars.length).toBe(3)
    const everything = JSON.stringify({ wire: h.wire, logs: h.logger.records, sidecars })
    expect(h.wire.length).toBeGreaterThan(100)
    expect(h.logger.records.length).toBeGreaterThan(5)
    for (const secret of SECRETS) expect(everything).not.toContain(secret)
  })
})
