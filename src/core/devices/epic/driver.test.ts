import { afterEach, describe, expect, it } from 'vitest'
import { type EpicSim, startEpicSim } from '../../../../test/support/sim-devices/epic-sim'
import { applyPoolsInBatches } from '../bulk-apply'
import { reasonOf } from '../device-error'
import { identifyDevice } from '../registry'
import type { DeviceIdentity } from '../types'
import { createEpicDriver } from './driver'

const sims: EpicSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(o: Parameters<typeof startEpicSim>[0] = {}) {
  const s = await startEpicSim(o)
  sims.push(s)
  return s
}

const identityOf = (s: EpicSim): DeviceIdentity => ({
  vendor: 'epic',
  endpoint: { host: '127.0.0.1', httpPort: s.web.port, rpcPort: s.api.port },
  model: null,
  firmware: null,
  mac: null,
  hostname: null,
  serial: null,
})

const POOLS = [
  { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack2-07', password: 'x' },
  { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack2-07', password: 'x' },
]

describe('ePIC UMC driver over a loopback sim replaying the PowerPlay captures', () => {
  it('identifies by the dashboard page and reads identity from the HTTP API on the RPC port', async () => {
    const s = await sim()
    const id = await identifyDevice({ host: '127.0.0.1', httpPort: s.web.port, rpcPort: s.api.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.kind).toBe('epic')
    expect(id.value.identity).toMatchObject({
      vendor: 'epic',
      model: 'AntMiner S19 XP',
      firmware: 'PowerPlay-BMS v1.5.13',
      mac: 'E6:D4:41:51:64:28',
      hostname: 'cminer32092035',
    })
    expect(id.value.driver.capabilities).toMatchObject({ setPools: true, maxPools: 3, locate: 'toggle' })
  })

  it('reads hashrate (MH/s), boards, fans, power, shares and the configured pools', async () => {
    const s = await sim()
    const r = await createEpicDriver(identityOf(s)).read()
    if (!r.ok) throw new Error(r.error.message)
    const st = r.value
    expect(st.hashrateThs).toBeCloseTo((49440724 + 49925124) / 1e6)
    expect(st.hashrates.map((h) => [h.window, h.source])).toEqual([
      ['now', 'summary Σ HBs[].Hashrate[0]'],
      ['avg', 'summary Session "Average MHs"'],
    ])
    expect(st.hashrates[1]?.ths).toBeCloseTo(90.07199)
    expect(st.expectedHashrateThs).toBe(143)
    expect(st.boards.map((b) => [b.index, b.boardTempC])).toEqual([
      [1, 67],
      [2, 64.312],
    ])
    expect(st.fansRpm).toEqual([5971, 5942, 5745])
    expect(st.powerW).toBeCloseTo(2166.6174)
    expect(st.uptimeS).toBe(23170)
    expect([st.accepted, st.rejected]).toEqual([1862, 2])
    expect(st.pools).toEqual([
      {
        index: 0,
        url: 'stratum+tcp://mine.ocean.xyz:3334',
        user: 'randomuser.randomworker',
        state: 'alive',
        active: true,
        priority: 0,
        accepted: 1862,
        rejected: 2,
      },
    ])
    expect(st.errors).toEqual(['Hashboard 0 is detected but disabled'])
    expect(st.warnings).toEqual([])
  })

  it('writes pools with POST /coin (password in the body, unique_id off) and verifies them', async () => {
    const s = await sim()
    const d = createEpicDriver(identityOf(s))
    const [out] = await applyPoolsInBatches([{ key: 'epic', driver: d, pools: POOLS }], {
      verifyAttempts: 1,
      verifyDelayMs: 0,
    })
    expect(out).toMatchObject({ status: 'applied', restarted: false })
    expect(s.posts.find((p) => p.path === '/coin')?.body).toEqual({
      param: {
        coin: 'BTC',
        stratum_configs: [
          { pool: 'stratum+tcp://192.168.1.10:3333', login: 'acct.rack2-07', password: 'x' },
          { pool: 'stratum+tcp://192.168.1.11:3333', login: 'acct.rack2-07', password: 'x' },
        ],
        unique_id: false,
      },
      password: 'letmein',
    })
  })

  it('keeps the previous pools when the miner refuses the change; snapshots include passwords for a restore', async () => {
    const s = await sim({ failCoin: 'unreachable' })
    const d = createEpicDriver(identityOf(s))
    const snap = await d.snapshotPools?.()
    expect(snap).toEqual({
      ok: true,
      value: [{ url: 'stratum+tcp://mine.ocean.xyz:3334', user: 'randomuser.randomworker', password: 'password' }],
    })
    const w = await d.setPools(POOLS)
    expect(w.ok).toBe(false)
    if (!w.ok) {
      expect(reasonOf(w.error)).toBe('COMMAND_FAILED')
      expect(w.error.message).toContain('InvalidPoolAddr')
    }
    const [out] = await applyPoolsInBatches([{ key: 'epic', driver: d, pools: POOLS }], {
      verifyAttempts: 1,
      verifyDelayMs: 0,
    })
    expect(out).toMatchObject({ status: 'failed', stage: 'write', previous: 'kept' })
  })

  it('locates, reboots, and reports a wrong password as AUTH_FAILED', async () => {
    const s = await sim()
    const d = createEpicDriver(identityOf(s))
    expect((await d.locate(true)).ok).toBe(true)
    expect(s.identify).toBe(true)
    expect((await d.locate(false)).ok).toBe(true)
    expect(s.identify).toBe(false)
    expect((await d.reboot()).ok).toBe(true)
    expect(s.posts.find((p) => p.path === '/reboot')?.body).toEqual({ param: 0, password: 'letmein' })
    const wrong = createEpicDriver(identityOf(s), { credentials: { username: 'root', password: 'nope' } })
    const r = await wrong.reboot()
    expect(r.ok).toBe(false)
    if (!r.ok) expect(reasonOf(r.error)).toBe('AUTH_FAILED')
    expect(s.reboots).toBe(1)
  })
})
