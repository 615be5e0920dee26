import { afterEach, describe, expect, it } from 'vitest'
import {
  type AntminerSim,
  type AntminerSimOptions,
  startAntminerSim,
} from '../../../../test/support/sim-devices/antminer-sim'
import { fixtureJson, fixtureRecord } from '../../../../test/support/sim-devices/fixtures'
import { memoryLogger } from '../../logger'
import { reasonOf } from '../device-error'
import { newNotes } from '../field-map'
import { buildSetMinerConf, checkSetMinerConfReply } from './conf'
import { createAntminerDriver, detectAntminer } from './driver'
import { cgiStatus } from './normalise'

const sims: AntminerSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(opts: AntminerSimOptions = {}) {
  const s = await startAntminerSim(opts)
  sims.push(s)
  return s
}
const endpointOf = (s: AntminerSim) => ({ host: '127.0.0.1', httpPort: s.http.port, rpcPort: s.rpc.port })

describe('Antminer set_miner_conf body (pure)', () => {
  it('copies fan and mode settings from get_miner_conf and pads to exactly three pools', () => {
    const conf = fixtureRecord('antminer/cgi_get_miner_conf_pyasic.json')
    const body = buildSetMinerConf(conf, [
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack1-01', password: 'x' },
    ])
    if (!body.ok) throw new Error(body.error.message)
    // The research's documented web-UI payload, field for field and in order.
    expect(JSON.stringify(body.value)).toBe(
      '{"bitmain-fan-ctrl":false,"bitmain-fan-pwm":"100","miner-mode":0,"freq-level":"100",' +
        '"pools":[{"url":"stratum+tcp://192.168.1.10:3333","user":"acct.rack1-01","pass":"x"},' +
        '{"url":"","user":"","pass":""},{"url":"","user":"","pass":""}]}',
    )
  })

  it('prefers miner-mode over bitmain-work-mode and keeps a configured freq level', () => {
    const conf = {
      ...fixtureRecord('antminer/cgi_get_miner_conf_pyasic.json'),
      'miner-mode': 3,
      'bitmain-freq-level': '90',
      'bitmain-fan-pwm': '60',
    }
    const body = buildSetMinerConf(conf, [{ url: 'stratum+tcp://p:1', user: 'u', password: 'p' }])
    if (!body.ok) throw new Error(body.error.message)
    expect(body.value).toMatchObject({ 'miner-mode': 3, 'freq-level': '90', 'bitmain-fan-pwm': '60' })
  })

  it('refuses to write when the read config lacks fan or mode settings, or pools are invalid', () => {
    const r = buildSetMinerConf({ pools: [] }, [{ url: 'stratum+tcp://p:1', user: 'u', password: 'p' }])
    expect(r.ok).toBe(false)
    const conf = fixtureRecord('antminer/cgi_get_miner_conf_pyasic.json')
    expect(buildSetMinerConf(conf, []).ok).toBe(false)
    expect(buildSetMinerConf(conf, [{ url: 'stratum+tcp://p', user: 'u', password: 'p' }]).ok).toBe(false)
  })

  it('accepts the captured M000 reply and rejects anything else', () => {
    expect(checkSetMinerConfReply(fixtureJson('elphapex/cgi_set_miner_conf_response.json')).ok).toBe(true)
    expect(checkSetMinerConfReply({ stats: 'error', code: 'M001', msg: 'failed' }).ok).toBe(false)
  })

  it('normalises the captured S23 Hyd. stats.cgi / summary.cgi', () => {
    const st = cgiStatus(
      fixtureRecord('antminer/cgi_stats_s23hyd_captured.json'),
      fixtureRecord('antminer/cgi_summary_s23hyd_captured.json'),
      newNotes(),
      0,
    )
    expect(st.hashrateThs).toBeCloseTo(572.84556)
    expect(st.expectedHashrateThs).toBeCloseTo(581.9727)
    expect(st.boards.map((b) => [b.index, b.chips, b.chipTempC, b.boardTempC])).toEqual([
      [0, 84, 56, 52],
      [1, 84, 55, 52],
      [2, 84, 56, 52],
    ])
    expect(st.fansRpm).toEqual([])
    expect(st.powerW).toBe(5525)
    expect(st.uptimeS).toBe(167430)
    // Hydro: the "fans" status entry is empty rather than "s".
    expect(st.errors).toEqual([])
    const bad = cgiStatus(
      fixtureRecord('antminer/cgi_stats_s23hyd_captured.json'),
      { SUMMARY: [{ status: [{ type: 'temp', status: 'e', code: 1, msg: 'Temperature too high' }] }] },
      newNotes(),
      0,
    )
    expect(bad.errors).toEqual(['temp: Temperature too high'])
  })
})

describe('Antminer driver over a simulated S19 Pro (RPC replay + Digest CGI)', () => {
  it('detects from RPC version and get_system_info.cgi', async () => {
    const s = await sim()
    const logger = memoryLogger()
    const id = await detectAntminer(endpointOf(s), { logger })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value).toMatchObject({
      vendor: 'antminer',
      model: 'Antminer S21',
      firmware: 'FR-1.12(251009-S21)',
      hostname: 'Antminer',
      serial: 'THQING0BDJAB024NF',
      // The capture's MAC is anonymised into invalid hex; it must not become an identity key.
      mac: null,
    })
  })

  it('reads over RPC (the allowed read commands)', async () => {
    const s = await sim()
    const id = await detectAntminer(endpointOf(s))
    if (!id.ok) throw new Error(id.error.message)
    const r = await createAntminerDriver(id.value).read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.hashrateThs).toBeCloseTo(110.56689)
    expect(r.value.boards).toHaveLength(3)
    expect(r.value.fansRpm).toEqual([6000, 5880, 5040, 5040])
    expect(r.value.pools[0]).toMatchObject({ url: 'stratum+tcp://btc.global.luxor.tech:700', active: true })
  })

  it('writes pools by read-modify-write of set_miner_conf.cgi and the RPC read-back shows them', async () => {
    const s = await sim()
    const id = await detectAntminer(endpointOf(s))
    if (!id.ok) throw new Error(id.error.message)
    const d = createAntminerDriver(id.value)
    const w = await d.setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack1-01', password: 'x' },
      { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack1-01', password: 'x' },
    ])
    if (!w.ok) throw new Error(w.error.message)
    const post = s.http.requests.find((r) => r.path === '/cgi-bin/set_miner_conf.cgi')
    expect(post?.headers['content-type']).toBe('application/json')
    expect(post?.headers.authorization).toMatch(/^Digest /)
    expect(JSON.parse(post?.body ?? '')).toEqual({
      'bitmain-fan-ctrl': false,
      'bitmain-fan-pwm': '100',
      'miner-mode': 0,
      'freq-level': '100',
      pools: [
        { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack1-01', pass: 'x' },
        { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack1-01', pass: 'x' },
        { url: '', user: '', pass: '' },
      ],
    })
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.pools.map((p) => p.url)).toEqual([
      'stratum+tcp://192.168.1.10:3333',
      'stratum+tcp://192.168.1.11:3333',
    ])
    expect(r.value.pools[0]?.active).toBe(true)
    // The cgminer API stayed read-only: no pool command was sent over RPC.
    expect(
      s.rpc.requests.some((q) => q.command.includes('pool') && q.command !== 'pools' && !q.command.includes('+')),
    ).toBe(false)
  })

  it('fails clearly with a wrong web password, and writes nothing', async () => {
    const s = await sim({ password: 'changed' })
    const d = createAntminerDriver(
      {
        vendor: 'antminer',
        endpoint: endpointOf(s),
        model: null,
        firmware: null,
        mac: null,
        hostname: null,
        serial: null,
      },
      { credentials: { username: 'root', password: 'root' } },
    )
    const w = await d.setPools([{ url: 'stratum+tcp://192.168.1.10:3333', user: 'a.b', password: 'x' }])
    expect(w.ok).toBe(false)
    if (!w.ok) {
      expect(reasonOf(w.error)).toBe('AUTH_FAILED')
      expect(w.error.message).toBe('Wrong username or password for the device web interface')
    }
    expect(s.http.requests).toEqual([])
    expect(s.conf.pools).toEqual(fixtureRecord('antminer/cgi_get_miner_conf_pyasic.json').pools)
  })

  it('blinks on and off and reboots through the CGI', async () => {
    const s = await sim()
    const d = createAntminerDriver({
      vendor: 'antminer',
      endpoint: endpointOf(s),
      model: null,
      firmware: null,
      mac: null,
      hostname: null,
      serial: null,
    })
    expect((await d.locate(true)).ok).toBe(true)
    expect(s.blinking).toBe(true)
    expect((await d.locate(false)).ok).toBe(true)
    expect(s.blinking).toBe(false)
    expect((await d.reboot()).ok).toBe(true)
    expect(s.reboots).toBe(1)
  })
})
