import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { type CgminerSim, startCgminerSim } from '../../../../test/support/sim-devices/cgminer-sim'
import { fixtureText } from '../../../../test/support/sim-devices/fixtures'
import { reasonOf } from '../device-error'
import { cgminerCommand, cgminerMulti } from './client'
import { createCgminerDriver, detectCgminer } from './driver'

const sims: CgminerSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(opts: Parameters<typeof startCgminerSim>[0]) {
  const s = await startCgminerSim(opts)
  sims.push(s)
  return s
}

const lux = {
  version: fixtureText('luxos/rpc_version_s19kpro_2025.4.8.json'),
  summary: fixtureText('luxos/rpc_summary_s19kpro_2025.4.8.json'),
  stats: fixtureText('luxos/rpc_stats_s19kpro_2025.4.8.json'),
}

describe('generic cgminer driver over a replayed LUXminer', () => {
  it('detects and reads the normalised status', async () => {
    const s = await sim({ replies: lux, poolsFixture: fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json') })
    const id = await detectCgminer({ host: '127.0.0.1', rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value).toMatchObject({
      vendor: 'cgminer',
      model: 'Antminer S19k Pro',
      firmware: '2025.4.8.220305',
      privileged: false,
    })
    const d = createCgminerDriver(id.value, id.value.privileged)
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    const st = r.value
    expect(st.hashrateThs).toBeCloseTo(59.75606)
    expect(st.hashrates.map((h) => h.window)).toEqual(['5s', '1m', '5m', '15m', '30m', '24h', 'avg'])
    expect(st.hashrates[0]?.source).toBe('rpc summary "GHS 5s"')
    expect(st.uptimeS).toBe(3453)
    expect(st.accepted).toBe(1483)
    expect(st.rejected).toBe(1)
    expect(st.boards.map((b) => b.hashrateThs)).toEqual([18.91028, 18.93995, 19.06767])
    expect(st.boards.map((b) => b.chips)).toEqual([77, 77, 77])
    expect(st.boards[0]?.chipTempC).toBe(47)
    expect(st.fansRpm).toEqual([1920, 1920, 2340, 2340])
    expect(st.expectedHashrateThs).toBeCloseTo(61.9542)
    expect(st.pools).toHaveLength(4)
    expect(st.pools[0]).toMatchObject({
      url: 'stratum+tcp://ca.stratum.braiins.com:3333',
      user: 'asic-rs.user1',
      active: true,
      state: 'alive',
    })
    expect(st.pools[1]).toMatchObject({ state: 'dead', active: false })
    expect(st.warnings).toEqual([])
    // One round trip for the three report commands.
    expect(s.requests.map((q) => q.command)).toEqual(['version', 'privileged', 'summary+pools+stats'])
  })

  it('reads bmminer stats that lack the comma between STATS objects and the trailing NUL', async () => {
    const s = await sim({
      replies: {
        summary: fixtureText('antminer/rpc_summary_s19pro_bmminer_49.0.1.3.json'),
        stats: fixtureText('antminer/rpc_stats_s19pro_bmminer_49.0.1.3.json'),
      },
      poolsFixture: fixtureText('antminer/rpc_pools_s19pro_bmminer_49.0.1.3.json'),
      nul: false,
      transform: (_cmd, text) =>
        JSON.stringify(JSON.parse(text)).replace('"Antminer S19 Pro"},{', '"Antminer S19 Pro"}{'),
    })
    const d = createCgminerDriver(
      {
        vendor: 'cgminer',
        endpoint: { host: '127.0.0.1', rpcPort: s.port },
        model: null,
        firmware: null,
        mac: null,
        hostname: null,
        serial: null,
      },
      false,
    )
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.boards).toHaveLength(3)
    expect(r.value.boards[0]).toMatchObject({ index: 0, chips: 114, boardTempC: 73, chipTempC: 78 })
    expect(r.value.hashrateThs).toBeCloseTo(110.56689)
  })

  it('falls back to one request per command when the daemon cannot join commands', async () => {
    const s = await sim({
      replies: lux,
      poolsFixture: fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json'),
      noJoin: true,
    })
    const r = await cgminerMulti({ host: '127.0.0.1', port: s.port }, ['summary', 'stats'])
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.summary?.ok).toBe(true)
    expect(r.value.stats?.ok).toBe(true)
    expect(s.requests.map((q) => q.command)).toEqual(['summary+stats', 'summary', 'stats'])
  })

  it('reports access denied on a stock (read-only) daemon without sending writes', async () => {
    const s = await sim({ replies: lux, poolsFixture: fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json') })
    const denied = await cgminerCommand({ host: '127.0.0.1', port: s.port }, { command: 'addpool', parameter: 'a,b,c' })
    expect(denied.ok).toBe(false)
    if (!denied.ok) expect(reasonOf(denied.error)).toBe('ACCESS_DENIED')
    const id = await detectCgminer({ host: '127.0.0.1', rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    const d = createCgminerDriver(id.value, id.value.privileged)
    expect(d.capabilities.setPools).toBe(false)
    const before = s.requests.length
    const w = await d.setPools([{ url: 'stratum+tcp://10.0.0.5:3333', user: 'bc1q.w1', password: 'x' }])
    expect(w.ok).toBe(false)
    if (!w.ok) expect(reasonOf(w.error)).toBe('ACCESS_DENIED')
    expect(s.requests.length).toBe(before)
  })

  it('replaces pools with addpool/poolpriority/removepool on a privileged daemon and reads them back', async () => {
    const s = await sim({
      replies: {
        version: fixtureText('avalon/a1566_version_pyasic.json'),
        summary: fixtureText('avalon/a1566_devs_pyasic.json'),
      },
      poolsFixture: fixtureText('avalon/a1566_pools_pyasic.json'),
      privileged: true,
    })
    const id = await detectCgminer({ host: '127.0.0.1', rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.privileged).toBe(true)
    const d = createCgminerDriver(id.value, true)
    const w = await d.setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'bc1qexample.rack1-01', password: 'x,y' },
      { url: 'stratum+tcp://192.168.1.11:3333', user: 'bc1qexample.rack1-01', password: 'x' },
    ])
    if (!w.ok) throw new Error(w.error.message)
    // Pool numbers are shuffled by removepool; priorities carry the order.
    expect([...s.pools].sort((a, b) => a.priority - b.priority).map((p) => [p.url, p.pass])).toEqual([
      ['stratum+tcp://192.168.1.10:3333', 'x,y'],
      ['stratum+tcp://192.168.1.11:3333', 'x'],
    ])
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    const active = r.value.pools.find((p) => p.active)
    expect(active?.url).toBe('stratum+tcp://192.168.1.10:3333')
    const sent = s.requests.map((q) => (q.parameter === undefined ? q.command : `${q.command} ${q.parameter}`))
    expect(sent).toContain('addpool stratum+tcp://192.168.1.10:3333,bc1qexample.rack1-01,x\\,y')
    expect(sent).toContain('poolpriority 3,4')
    expect(sent.filter((c) => c.startsWith('removepool'))).toHaveLength(3)
    expect(sent).toContain('save')
  })

  it('rejects invalid pools before touching the device', async () => {
    const s = await sim({
      replies: lux,
      poolsFixture: fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json'),
      privileged: true,
    })
    const d = createCgminerDriver(
      {
        vendor: 'cgminer',
        endpoint: { host: '127.0.0.1', rpcPort: s.port },
        model: null,
        firmware: null,
        mac: null,
        hostname: null,
        serial: null,
      },
      true,
    )
    for (const bad of [
      [],
      [{ url: 'http://pool:80', user: 'u', password: 'x' }],
      [{ url: 'stratum+tcp://pool', user: 'u', password: 'x' }],
      [{ url: 'stratum+tcp://pool:3333', user: '', password: 'x' }],
      [{ url: 'stratum+tcp://pool:3333', user: 'u\nnext', password: 'x' }],
      [1, 2, 3, 4].map(() => ({ url: 'stratum+tcp://pool:3333', user: 'u', password: 'x' })),
    ]) {
      const r = await d.setPools(bad)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(reasonOf(r.error)).toBe('INVALID_POOL')
    }
    expect(s.requests).toEqual([])
  })

  it('gives a TIMEOUT value for a daemon that accepts and never answers', async () => {
    const s = await sim({ replies: {}, hang: true })
    const r = await cgminerCommand({ host: '127.0.0.1', port: s.port }, { command: 'version' }, { timeoutMs: 200 })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(reasonOf(r.error)).toBe('TIMEOUT')
  })

  it('gives CONNECT_FAILED for a closed port', async () => {
    const srv = net.createServer()
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
    const addr = srv.address()
    const port = typeof addr === 'object' && addr ? addr.port : 0
    await new Promise<void>((res) => srv.close(() => res()))
    const r = await cgminerCommand({ host: '127.0.0.1', port }, { command: 'version' })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(reasonOf(r.error)).toBe('CONNECT_FAILED')
  })
})
