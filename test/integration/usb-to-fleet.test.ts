import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevicesModule } from '../../src/core/devices/module'
import { type Core, startCore } from '../../src/core/entry'
import { memoryLogger } from '../../src/core/logger'
import { emitSerialDeviceOnline } from '../../src/core/serial/device-online'
import { memoryTransportPair } from '../../src/shared/protocol'
import { RpcClient } from '../../src/shared/rpc-client'
import { type AxeosSim, startAxeosSim } from '../support/sim-devices/axeos-sim'
import { fixtureText } from '../support/sim-devices/fixtures'
import { tempDir } from '../support/temp-dir'

// A miner written over USB reports its IP on joining Wi-Fi; the devices module identifies it so it
// appears in the Fleet. The AxeOS simulator replays a real capture on port 80 of a loopback address
// (the port a real Bitaxe uses), which needs root — as CI runs.
const IP = '127.0.78.1'
let sim: AxeosSim | undefined
let skip = ''
let core: Core
let client: RpcClient
const data = tempDir()

beforeAll(async () => {
  try {
    sim = await startAxeosSim({
      info: fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json'),
      asic: fixtureText('bitaxe/axeos_system_asic_gamma.json'),
      listen: { host: IP, port: 80 },
    })
  } catch (e) {
    skip = `cannot listen on ${IP}:80 (${String(e)}); run as root`
  }
  core = await startCore({
    dataDir: data.dir,
    host: 'test',
    logger: memoryLogger(),
    modules: [createDevicesModule({ poll: { enabled: false } })],
  })
  const [s, c] = memoryTransportPair()
  core.rpc.attach(s, { transport: 'memory' })
  client = new RpcClient(c)
})

afterAll(async () => {
  client.close()
  await core.close()
  await sim?.close()
  data.cleanup()
})

describe('USB setup → Fleet', () => {
  it('identifies a miner that came online after a USB write and lists it', async (ctx) => {
    if (skip) ctx.skip()
    const errors = emitSerialDeviceOnline({
      dataDir: data.dir,
      path: '/dev/ttyACM0',
      mac: 'AA:BB:CC:DD:EE:01',
      chip: 'ESP32-S3',
      ip: IP,
      tsMs: Date.now(),
    })
    expect(errors).toEqual([])
    await expect
      .poll(
        async () =>
          (await client.call('devices.list', {})).devices.filter((d) => d.ip === IP && d.vendor === 'axeos').length,
        {
          timeout: 20_000,
        },
      )
      .toBe(1)
    const events = await client.call('events.list', {})
    expect(events.events.some((e) => e.message.includes('set up over USB') && e.message.includes(IP))).toBe(true)
  })

  it('ignores a device written by another core (another data folder)', async () => {
    const before = (await client.call('devices.list', {})).devices.length
    emitSerialDeviceOnline({
      dataDir: '/elsewhere',
      path: '/dev/ttyACM1',
      mac: 'AA:BB:CC:DD:EE:02',
      chip: 'ESP32-S3',
      ip: '127.0.78.2',
      tsMs: Date.now(),
    })
    await new Promise((r) => setTimeout(r, 200))
    expect((await client.call('devices.list', {})).devices.length).toBe(before)
  })
})
