import { afterEach, describe, expect, it } from 'vitest'
import { type CgminerSim, splitParams, startCgminerSim } from '../../../../test/support/sim-devices/cgminer-sim'
import { fixtureRecord, fixtureText } from '../../../../test/support/sim-devices/fixtures'
import { reasonOf } from '../device-error'
import { newNotes } from '../field-map'
import { identifyDevice } from '../registry'
import { avalonStatus, createAvalonDriver, detectAvalon, poolCommandStyle } from './driver'
import { moduleText, parseBrackets } from './estats'

const sims: CgminerSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})

/**
 * An Avalon on the cgminer sim. `setpool` and `ascset setpool` change pool slots 0–2 when the
 * password matches; a wrong one gets the documented A-series refusal (E 120 "Auth Failed!").
 * The success reply of `setpool` is not in any source: the sim answers the `ascset` OK form.
 */
async function avalonSim(replies: Record<string, string>, poolsFixture: string, password: string) {
  const slots: { url: string; user: string; pass: string }[] = []
  const s = await startCgminerSim({
    replies,
    poolsFixture,
    privileged: true,
    description: 'cgminer 4.11.1',
    custom: (command, parameter, sim) => {
      const p = splitParams(parameter ?? '')
      let fields: string[] | undefined
      if (command === 'setpool') {
        if (p[0] !== 'admin' || p[1] !== password)
          return sim.status('E', 120, 'ASC 0 set failed: Auth Failed! password invalid!')
        fields = p.slice(2)
      } else if (command === 'ascset' && p[1] === 'setpool') {
        if (p[2] !== 'root' || p[3] !== password)
          return sim.status('E', 120, 'ASC 0 set failed: Auth Failed! password invalid!')
        fields = p.slice(4)
      } else if (command === 'ascset') {
        return JSON.parse(fixtureText('avalon/avalon_q_ascset_workmode_ok.json'))
      } else return undefined
      const idx = Number(fields[0])
      slots[idx] = { url: fields[1] ?? '', user: fields[2] ?? '', pass: fields[3] ?? '' }
      sim.setPools(slots.filter((x) => x && x.url !== ''))
      return sim.status('S', 119, 'ASC 0 set OK')
    },
  })
  sims.push(s)
  return s
}

describe('Avalon bracketed stats', () => {
  it('parses the A15 estats capture into numbers, arrays and text', () => {
    const text = moduleText(fixtureRecord('avalon/a1566_estats_pyasic.json'))
    if (!text) throw new Error('no MM ID0')
    const m = parseBrackets(text)
    expect(m.get('SYSTEMSTATU')).toBe('Work: In Work, Hash Board: 3')
    expect(m.get('MGHS')).toEqual([59459.52, 61407.83, 63139.66])
    expect(m.get('FanR')).toEqual([49])
    expect(m.get('PS')).toEqual([0, 1209, 1187, 297, 3526, 1188, 3731])
    expect(m.get('Ver')).toBe('15-194-24102401_25462b2_9ddf522')
  })

  it('finds the Q summary string under "MM ID0:Summary" despite its \'STATS\':{…} wrapper', () => {
    const text = moduleText(fixtureRecord('avalon/avalon_q_stats.json'))
    const m = parseBrackets(text ?? '')
    expect(m.get('SYSTEMSTATU')).toBe('Work: In Idle, Hash Board: 1')
    expect(m.get('ITemp')).toEqual([26])
  })

  it('normalises the A15: per-board TH/s, chip maxima, wall power, fans, expected rate', () => {
    const st = avalonStatus(
      null,
      fixtureRecord('avalon/a1566_pools_pyasic.json'),
      fixtureRecord('avalon/a1566_estats_pyasic.json'),
      newNotes(),
      0,
    )
    expect(st.hashrateThs).toBeCloseTo(199.24107)
    expect(st.expectedHashrateThs).toBeCloseTo(201.92042)
    expect(st.boards.map((b) => [b.hashrateThs, b.chipTempC])).toEqual([
      [expect.closeTo(59.45952), 77],
      [expect.closeTo(61.40783), 78],
      [expect.closeTo(63.13966), 77],
    ])
    expect(st.boards[0]?.chips).toBeGreaterThan(100)
    expect(st.powerW).toBe(3731)
    expect(st.fansRpm).toEqual([4275, 4282])
    expect(st.uptimeS).toBe(975)
    expect(st.errors).toEqual([])
  })
})

describe('Avalon driver over loopback sims replaying captures', () => {
  it('identifies and reads an Avalon Q (stats fallback, idle state reported)', async () => {
    const s = await avalonSim(
      {
        version: fixtureText('avalon/avalon_q_version.json'),
        summary: fixtureText('avalon/avalon_q_summary.json'),
        stats: fixtureText('avalon/avalon_q_stats.json'),
      },
      fixtureText('avalon/avalon_q_pools.json'),
      'admin',
    )
    // Port 1 is closed on loopback: the web probe fails fast, the RPC probe identifies.
    const id = await identifyDevice({ host: '127.0.0.1', httpPort: 1, rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.kind).toBe('avalon')
    expect(id.value.identity).toMatchObject({
      vendor: 'avalon',
      model: 'Avalon Q',
      mac: 'AA:BB:CC:DD:EE:FF',
      firmware: '25052801_14a19a2',
      serial: '01234567890123456789012345678901',
    })
    const r = await id.value.driver.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.hashrateThs).toBe(0)
    expect(r.value.accepted).toBe(890)
    expect(r.value.errors.join(' ')).toMatch(/Idle/)
    expect(r.value.pools[0]).toMatchObject({
      url: 'stratum+tcp://pool.example.com:4444',
      user: 'worker1',
      active: true,
    })
    expect(s.requests.map((q) => q.command)).toContain('stats')
  })

  it('writes Q pools with top-level setpool (admin,<password>,<idx>,…) in every slot, and snapshots with passwords', async () => {
    const s = await avalonSim(
      { version: fixtureText('avalon/avalon_q_version.json') },
      fixtureText('avalon/avalon_q_pools.json'),
      'hunter2',
    )
    const id = await detectAvalon({ host: '127.0.0.1', rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    const d = createAvalonDriver(id.value, { credentials: { username: 'admin', password: 'hunter2' } })
    const snap = await d.snapshotPools?.()
    expect(snap?.ok && snap.value[0]).toEqual({
      url: 'stratum+tcp://pool.example.com:4444',
      user: 'worker1',
      password: 'x',
    })
    const w = await d.setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'bc1qacct.q1', password: 'x' },
      { url: 'stratum+tcp://192.168.1.11:3333', user: 'bc1qacct.q1', password: 'x' },
    ])
    if (!w.ok) throw new Error(w.error.message)
    expect(s.requests.filter((q) => q.command === 'setpool').map((q) => q.parameter)).toEqual([
      'admin,hunter2,0,stratum+tcp://192.168.1.10:3333,bc1qacct.q1,x',
      'admin,hunter2,1,stratum+tcp://192.168.1.11:3333,bc1qacct.q1,x',
      'admin,hunter2,2,,,',
    ])
    expect(s.pools.map((p) => p.url)).toEqual(['stratum+tcp://192.168.1.10:3333', 'stratum+tcp://192.168.1.11:3333'])
    const wrong = createAvalonDriver(id.value, { credentials: { username: 'admin', password: 'nope' } })
    const denied = await wrong.setPools([{ url: 'stratum+tcp://192.168.1.12:3333', user: 'a.b', password: 'x' }])
    expect(denied.ok).toBe(false)
    if (!denied.ok) expect(reasonOf(denied.error)).toBe('AUTH_FAILED')
    const comma = await d.setPools([{ url: 'stratum+tcp://192.168.1.12:3333', user: 'a,b', password: 'x' }])
    expect(comma.ok).toBe(false)
    if (!comma.ok) expect(reasonOf(comma.error)).toBe('INVALID_POOL')
  })

  it('writes A-series pools with ascset 0,setpool,root,<password>,… and reboots/locates with ascset', async () => {
    const s = await avalonSim(
      {
        version: fixtureText('avalon/a1566_version_pyasic.json'),
        estats: fixtureText('avalon/a1566_estats_pyasic.json'),
      },
      fixtureText('avalon/a1566_pools_pyasic.json'),
      'root',
    )
    const id = await detectAvalon({ host: '127.0.0.1', rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value).toMatchObject({ model: 'AvalonMiner 15-194', mac: '12:34:56:78:90:12' })
    expect(poolCommandStyle(id.value.model)).toBe('ascset')
    const d = createAvalonDriver(id.value)
    const w = await d.setPools([{ url: 'stratum+tcp://192.168.1.10:3333', user: 'bc1qacct.a15', password: 'x' }])
    if (!w.ok) throw new Error(w.error.message)
    expect(s.requests.find((q) => q.command === 'ascset')?.parameter).toBe(
      '0,setpool,root,root,0,stratum+tcp://192.168.1.10:3333,bc1qacct.a15,x',
    )
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.pools.find((p) => p.active)?.url).toBe('stratum+tcp://192.168.1.10:3333')
    expect(r.value.boards).toHaveLength(3)
    expect((await d.reboot()).ok).toBe(true)
    expect((await d.locate(true)).ok).toBe(true)
    expect(s.requests.filter((q) => q.command === 'ascset').map((q) => q.parameter)).toContain('0,reboot,0')
    expect(s.requests.filter((q) => q.command === 'ascset').map((q) => q.parameter)).toContain('0,led,1-1')
  })

  it('recognises the Nano 3s as a setpool model and reads its bare-hex MAC', async () => {
    const s = await avalonSim(
      { version: fixtureText('avalon/nano3s_version.json') },
      fixtureText('avalon/avalon_q_pools.json'),
      'admin',
    )
    const id = await detectAvalon({ host: '127.0.0.1', rpcPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value).toMatchObject({ model: 'Avalon Nano3s', mac: 'E0:E1:A9:3F:30:53', firmware: '25021401_56abae7' })
    expect(poolCommandStyle(id.value.model)).toBe('setpool')
  })
})
