import { afterEach, describe, expect, it } from 'vitest'
import { type BraiinsSim, startBraiinsSim } from '../../../../test/support/sim-devices/braiins-sim'
import { reasonOf } from '../device-error'
import { identifyDevice } from '../registry'
import { createBraiinsDriver } from './driver'

const sims: BraiinsSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(o: Parameters<typeof startBraiinsSim>[0] = {}) {
  const s = await startBraiinsSim(o)
  sims.push(s)
  return s
}

describe('Braiins OS REST driver over a loopback sim replaying the 26.04 captures', () => {
  it('identifies by the web page and reads the normalised status', async () => {
    const s = await sim()
    const id = await identifyDevice({ host: '127.0.0.1', httpPort: s.port, rpcPort: 1 })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.kind).toBe('braiins')
    expect(id.value.identity).toMatchObject({
      vendor: 'braiins',
      model: 'Antminer S21 Pro',
      firmware: '2026-04-14-0-912d084c-26.04-plus',
      mac: '02:8F:77:EC:E7:E0',
      hostname: 'Antminer',
      serial: 'THQGFKUBDJIAH0E9G',
    })
    // The token goes back as the raw Authorization header, no "Bearer".
    expect(s.requests.find((r) => r.path === '/api/v1/miner/details')?.headers.authorization).toBe('tok1')
    const r = await id.value.driver.read()
    if (!r.ok) throw new Error(r.error.message)
    const st = r.value
    expect(st.hashrateThs).toBeCloseTo(248.186677200025)
    expect(st.hashrates.map((h) => h.window)).toEqual([
      '5s',
      '15s',
      '30s',
      '1m',
      '5m',
      '15m',
      '30m',
      '1h',
      '24h',
      'avg',
    ])
    expect(st.expectedHashrateThs).toBeCloseTo(252.5975831472)
    expect(st.powerW).toBe(3480)
    expect(st.uptimeS).toBe(7039)
    expect(st.fansRpm).toEqual([5943, 5943, 5943, 5973])
    expect(st.boards).toHaveLength(3)
    expect(st.boards[0]).toMatchObject({
      boardTempC: 50.375,
      chipTempC: 65.375,
      chips: 65,
      serial: 'THQGYSCBDJIAH11S3',
    })
    expect(st.pools.map((p) => [p.url, p.active, p.state])).toEqual([
      ['stratum+tcp://example.pool.com:3333', true, 'alive'],
      ['stratum+tcp://example.pool2.com:3333', false, 'alive'],
    ])
    expect(st.accepted).toBe(848)
    expect(st.warnings).toEqual([])
  })

  it('replaces the pool groups with PUT /api/v1/pools/batch and logs in again after the token expired', async () => {
    const s = await sim()
    const d = createBraiinsDriver({
      vendor: 'braiins',
      endpoint: { host: '127.0.0.1', httpPort: s.port },
      model: null,
      firmware: null,
      mac: null,
      hostname: null,
      serial: null,
    })
    expect((await d.read()).ok).toBe(true)
    s.expireToken()
    const w = await d.setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack1-01', password: 'x' },
      { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack1-01', password: 'x' },
    ])
    if (!w.ok) throw new Error(w.error.message)
    expect(s.logins).toBe(2)
    const put = s.requests.find((r) => r.method === 'PUT' && r.path === '/api/v1/pools/batch')
    expect(JSON.parse(put?.body ?? 'null')).toEqual([
      {
        name: 'Hashyard',
        load_balance_strategy: { quota: { value: 1 } },
        pools: [
          { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack1-01', password: 'x', enabled: true },
          { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack1-01', password: 'x', enabled: true },
        ],
      },
    ])
    const back = await d.read()
    if (!back.ok) throw new Error(back.error.message)
    expect(back.value.pools.find((p) => p.active)?.url).toBe('stratum+tcp://192.168.1.10:3333')
    expect((await d.locate(true)).ok).toBe(true)
    expect(s.locate).toBe(true)
    expect((await d.reboot()).ok).toBe(true)
  })

  it('reports wrong credentials as AUTH_FAILED', async () => {
    const s = await sim({ password: 'changed' })
    const d = createBraiinsDriver({
      vendor: 'braiins',
      endpoint: { host: '127.0.0.1', httpPort: s.port },
      model: null,
      firmware: null,
      mac: null,
      hostname: null,
      serial: null,
    })
    const r = await d.read()
    expect(r.ok).toBe(false)
    if (!r.ok) expect(reasonOf(r.error)).toBe('AUTH_FAILED')
  })
})
