import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type LuxosSim, startLuxosSim } from '../../../../test/support/sim-devices/luxos-sim'
import { applyPoolsInBatches } from '../bulk-apply'
import { reasonOf } from '../device-error'
import { driverFor, identifyDevice } from '../registry'
import type { DeviceIdentity } from '../types'
import { createLuxosDriver } from './driver'

const sims: LuxosSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(o: Parameters<typeof startLuxosSim>[0] = {}) {
  const s = await startLuxosSim(o)
  sims.push(s)
  return s
}

/** A port with nothing listening: the web probe is refused at once. */
async function closedPort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const a = srv.address()
  await new Promise<void>((r) => srv.close(() => r()))
  return typeof a === 'object' && a ? a.port : 0
}

const identityOf = (port: number): DeviceIdentity => ({
  vendor: 'luxos',
  endpoint: { host: '127.0.0.1', rpcPort: port },
  model: null,
  firmware: null,
  mac: null,
  hostname: null,
  serial: null,
})

const POOLS = [
  { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack1-01', password: 'x' },
  { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack1-01', password: '' },
]

describe('LuxOS driver over a loopback sim replaying the LUXminer 2025.4.8 captures', () => {
  it('identifies by the LUXminer signature and reads identity from config', async () => {
    const s = await sim()
    const id = await identifyDevice({ host: '127.0.0.1', rpcPort: s.port, httpPort: await closedPort() })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.kind).toBe('luxos')
    expect(id.value.identity).toMatchObject({
      vendor: 'luxos',
      model: 'Antminer S19k Pro',
      firmware: '2025.4.8.220305-57b389c7',
      mac: '62:F7:5E:B7:10:46',
      hostname: 'UrlacherS19k',
      serial: 'JYZZB0UBDJABF06RB',
    })
    expect(id.value.driver.capabilities).toMatchObject({ setPools: true, locate: 'toggle', reboot: true })
  })

  it('reads hashrate (GH/s → TH/s), boards, fans, power and pools in one round trip', async () => {
    const s = await sim()
    const r = await createLuxosDriver(identityOf(s.port)).read()
    if (!r.ok) throw new Error(r.error.message)
    const st = r.value
    expect(s.requests.map((q) => q.command)).toEqual(['summary+pools+stats+power'])
    expect(st.hashrateThs).toBeCloseTo(59.75606)
    expect(st.hashrates.map((h) => h.window)).toEqual(['5s', '1m', '5m', '15m', '30m', '24h', 'avg'])
    expect(st.expectedHashrateThs).toBeCloseTo(61.9542)
    expect(st.powerW).toBe(1051)
    expect(st.fansRpm).toEqual([1920, 1920, 2340, 2340])
    expect(st.boards.map((b) => b.chips)).toEqual([77, 77, 77])
    expect(st.boards[0]).toMatchObject({ hashrateThs: 18.91028, chipTempC: 47 })
    expect(st.pools[0]).toMatchObject({ url: 'stratum+tcp://ca.stratum.braiins.com:3333', active: true })
    expect(st.accepted).toBe(1483)
    expect(st.warnings).toEqual([])
  })

  it('replaces the pools without a session: addpool, switchpool, then removepool with a re-read each time', async () => {
    const s = await sim()
    const d = createLuxosDriver(identityOf(s.port))
    const before = s.pools.length
    const w = await d.setPools(POOLS)
    if (!w.ok) throw new Error(w.error.message)
    const cmds = s.requests.map((q) => (q.parameter === undefined ? q.command : `${q.command} ${q.parameter}`))
    expect(cmds.slice(0, 4)).toEqual([
      'pools',
      'addpool stratum+tcp://192.168.1.10:3333,acct.rack1-01,x',
      // A blank trailing field keeps its comma.
      'addpool stratum+tcp://192.168.1.11:3333,acct.rack1-01,',
      'pools',
    ])
    expect(cmds[4]).toBe(`switchpool ${before}`)
    expect(cmds.filter((c) => c.startsWith('removepool'))).toHaveLength(before)
    expect(cmds.some((c) => c.startsWith('logon') || c.startsWith('poolpriority') || c === 'save')).toBe(false)
    // Every removal is preceded by a fresh pools read.
    cmds.forEach((c, i) => {
      if (c.startsWith('removepool')) expect(cmds[i - 1]).toBe('pools')
    })
    const back = await d.read()
    if (!back.ok) throw new Error(back.error.message)
    const ordered = [...back.value.pools].sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0))
    expect(ordered.map((p) => [p.url, p.user, p.active])).toEqual([
      ['stratum+tcp://192.168.1.10:3333', 'acct.rack1-01', true],
      ['stratum+tcp://192.168.1.11:3333', 'acct.rack1-01', false],
    ])
  })

  it('passes the write-safety protocol end to end (bulk apply, read back)', async () => {
    const s = await sim()
    const [out] = await applyPoolsInBatches(
      [{ key: 'lux', driver: createLuxosDriver(identityOf(s.port)), pools: POOLS }],
      {
        verifyAttempts: 1,
        verifyDelayMs: 0,
      },
    )
    expect(out).toMatchObject({ status: 'applied', restarted: false })
    expect(s.reboots).toBe(0)
  })

  it('blinks the red LED and reboots inside a session, logging off after the LED', async () => {
    const s = await sim()
    const d = driverFor(identityOf(s.port))
    if (!d.ok) throw new Error(d.error.message)
    expect((await d.value.locate(true)).ok).toBe(true)
    expect(s.led).toBe('blink')
    expect(s.session).toBeNull()
    expect((await d.value.locate(false)).ok).toBe(true)
    expect(s.led).toBe('auto')
    const led = s.requests.filter((q) => q.command === 'ledset').map((q) => q.parameter)
    expect(led).toEqual(['sess1x,red,blink', 'sess2x,red,auto'])
    expect((await d.value.reboot()).ok).toBe(true)
    expect(s.reboots).toBe(1)
    expect(s.requests.find((q) => q.command === 'rebootdevice')?.parameter).toBe('sess3x')
  })

  it('reports a session held by another tool instead of taking it over', async () => {
    const s = await sim()
    s.holdSession()
    const r = await createLuxosDriver(identityOf(s.port)).locate(true)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(reasonOf(r.error)).toBe('COMMAND_FAILED')
      expect(r.error.message).toMatch(/Another LuxOS session/)
    }
    expect(s.led).toBe('auto')
    expect(s.session).toBe('other-tool')
  })

  it('refuses a comma in the worker before touching the miner', async () => {
    const s = await sim()
    const r = await createLuxosDriver(identityOf(s.port)).setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.a,b', password: 'x' },
    ])
    expect(r.ok).toBe(false)
    if (!r.ok) expect(reasonOf(r.error)).toBe('INVALID_POOL')
    expect(s.requests).toHaveLength(0)
  })
})
