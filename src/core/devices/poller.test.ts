import { afterEach, describe, expect, it } from 'vitest'
import { type CgminerSim, startCgminerSim } from '../../../test/support/sim-devices/cgminer-sim'
import { fixtureText } from '../../../test/support/sim-devices/fixtures'
import { tempDir } from '../../../test/support/temp-dir'
import { memoryLogger } from '../logger'
import { openStore } from '../store/store'
import { createCgminerDriver } from './cgminer/driver'
import { DevicePoller } from './poller'
import { DEVICE_MIGRATIONS, type DeviceRecord, DeviceRepo } from './repo'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function repo(): DeviceRepo {
  const t = tempDir()
  const store = openStore(t.dir, memoryLogger(), DEVICE_MIGRATIONS)
  cleanups.push(t.cleanup, () => store.close())
  return new DeviceRepo(store.db)
}

async function luxSim(host = '127.0.0.1'): Promise<CgminerSim> {
  const s = await startCgminerSim({
    listen: { host, port: 0 },
    replies: {
      version: fixtureText('luxos/rpc_version_s19kpro_2025.4.8.json'),
      summary: fixtureText('luxos/rpc_summary_s19kpro_2025.4.8.json'),
      stats: fixtureText('luxos/rpc_stats_s19kpro_2025.4.8.json'),
    },
    poolsFixture: fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json'),
  })
  return s
}

const driverFor = async (rec: DeviceRecord) => ({
  ok: true as const,
  value: createCgminerDriver(
    {
      vendor: 'cgminer',
      endpoint: { host: rec.ip ?? '', rpcPort: rec.rpcPort ?? 0 },
      model: null,
      firmware: null,
      mac: null,
      hostname: null,
      serial: null,
    },
    false,
    { timeoutMs: 500 },
  ),
})

describe('device poller', () => {
  it('stores the status of a reachable device, then marks it offline after consecutive failures', async () => {
    const r = repo()
    const sim = await luxSim()
    let simOpen = true
    cleanups.push(async () => {
      if (simOpen) await sim.close()
    })
    const dev = r.upsertSighting({
      ip: '127.0.0.1',
      mac: null,
      serial: null,
      hostname: null,
      vendor: 'cgminer',
      kind: 'cgminer',
      model: null,
      firmware: null,
      httpPort: null,
      rpcPort: sim.port,
      v3Port: null,
      capabilities: null,
      source: 'scan',
    }).record
    const changes: string[] = []
    r.onChange((id) => changes.push(id))
    const poller = new DevicePoller(r, driverFor, { offlineAfterFailures: 2, sampleEveryMs: 0 })
    cleanups.push(() => poller.stop())

    await poller.pollNow()
    const online = r.get(dev.id)
    expect(online?.online).toBe(true)
    expect(online?.status?.hashrateThs).toBeCloseTo(59.75606)
    expect(online?.offlineSinceMs).toBeNull()
    expect(changes).toContain(dev.id)
    expect(r.samples(dev.id)).toHaveLength(1)

    await sim.close()
    simOpen = false
    const beforeFailMs = Date.now()
    await poller.pollNow()
    // One failure is not "offline" yet: a miner can miss one read while busy.
    expect(r.get(dev.id)).toMatchObject({ online: true, offlineSinceMs: null })
    expect(r.get(dev.id)?.lastError).toMatch(/Cannot reach/)
    await poller.pollNow()
    const off = r.get(dev.id)
    expect(off?.online).toBe(false)
    // "Offline since" is the first failed read, not the one that crossed the threshold.
    expect(off?.offlineSinceMs).toBeGreaterThanOrEqual(beforeFailMs)
    expect(off?.offlineSinceMs).toBeLessThanOrEqual(Date.now())
    const firstFail = off?.offlineSinceMs
    await poller.pollNow()
    expect(r.get(dev.id)?.offlineSinceMs).toBe(firstFail)
    expect(r.actions({ deviceId: dev.id }).map((a) => a.action)).toContain('offline')
    // The last good status stays visible (marked by online=false), and history shows the gap.
    expect(r.get(dev.id)?.status?.hashrateThs).toBeCloseTo(59.75606)
    expect(r.samples(dev.id).map((s) => s.online)).toEqual([true, false])
  })

  it('polls on its own schedule with bounded concurrency', async () => {
    const r = repo()
    const sims = await Promise.all([luxSim('127.0.2.1'), luxSim('127.0.2.2'), luxSim('127.0.2.3')])
    cleanups.push(() => Promise.all(sims.map((s) => s.close())).then(() => undefined))
    for (const [i, s] of sims.entries())
      r.upsertSighting({
        ip: `127.0.2.${i + 1}`,
        mac: `AA:BB:CC:00:00:0${i}`,
        serial: null,
        hostname: null,
        vendor: 'cgminer',
        kind: 'cgminer',
        model: null,
        firmware: null,
        httpPort: null,
        rpcPort: s.port,
        v3Port: null,
        capabilities: null,
        source: 'scan',
      })
    let active = 0
    let peak = 0
    const gated = async (rec: DeviceRecord) => {
      active++
      peak = Math.max(peak, active)
      const d = await driverFor(rec)
      const read = d.value.read
      return {
        ok: true as const,
        value: {
          ...d.value,
          read: async () => {
            try {
              return await read()
            } finally {
              active--
            }
          },
        },
      }
    }
    const poller = new DevicePoller(r, gated, { intervalMs: 200, tickMs: 20, concurrency: 1 })
    cleanups.push(() => poller.stop())
    const seen = new Promise<void>((resolve) => {
      const off = r.onChange(() => {
        if (r.list().every((d) => d.online === true)) {
          off()
          resolve()
        }
      })
    })
    poller.start()
    await seen
    expect(peak).toBe(1)
    expect(r.list().map((d) => d.status?.hashrateThs)).toEqual([
      expect.any(Number),
      expect.any(Number),
      expect.any(Number),
    ])
  })
})
