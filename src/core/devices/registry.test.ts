import { describe, expect, it } from 'vitest'
import { fixtureRecord, fixtureText } from '../../../test/support/sim-devices/fixtures'
import { readBmminerStats } from './cgminer/normalise'
import { newNotes } from './field-map'
import { classifySocket, classifyWeb, decide } from './registry'

const page = (body: string, status = 200, headers: Record<string, string> = {}) => ({ status, headers, body })

describe('detection signatures', () => {
  it('classifies web answers in pyasic order', () => {
    expect(classifyWeb(page('', 401, { 'www-authenticate': 'Digest realm="antMiner Configuration", nonce="1"' }))).toBe(
      'antminer',
    )
    expect(
      classifyWeb(page('', 401, { 'www-authenticate': 'Digest realm="blackMiner Configuration", nonce="1"' })),
    ).toBe('hammer')
    expect(classifyWeb(page('', 307, { location: 'https://10.0.0.5/' }))).toBe('whatsminer')
    expect(classifyWeb(page('<title>AxeOS</title>'))).toBe('axeos')
    expect(classifyWeb(page('<h1>Braiins OS</h1>'))).toBe('braiins')
    expect(classifyWeb(page('Luxor Firmware'))).toBe('luxos')
    expect(classifyWeb(page('<html>router login</html>'))).toBeUndefined()
    // A 401 from something else is not an Antminer.
    expect(classifyWeb(page('', 401, { 'www-authenticate': 'Basic realm="router"' }))).toBeUndefined()
  })

  it('classifies cgminer version replies from the captures', () => {
    expect(classifySocket(fixtureText('antminer/rpc_version_s19pro_bmminer_49.0.1.3.json'))).toBe('antminer')
    expect(classifySocket(fixtureText('luxos/rpc_version_s19kpro_2025.4.8.json'))).toBe('luxos')
    expect(classifySocket(fixtureText('avalon/a1566_version_pyasic.json'))).toBe('avalon')
    expect(classifySocket('{"STATUS":[{"Description":"cgminer 4.12.0"}]}')).toBeUndefined()
  })

  it('lets the socket name firmware running on Antminer hardware', () => {
    expect(decide({ web: 'antminer', socket: 'luxos', cgminer: true, problems: [] })).toBe('luxos')
    expect(decide({ web: 'antminer', socket: 'antminer', cgminer: true, problems: [] })).toBe('antminer')
    expect(decide({ web: undefined, socket: undefined, cgminer: true, problems: [] })).toBe('cgminer')
    expect(decide({ web: undefined, socket: undefined, cgminer: false, problems: ['x'] })).toBeUndefined()
  })
})

describe('bmminer stats on a hydro model', () => {
  it('reads the S21 XP Hyd. capture: three boards, no fans spinning', () => {
    const st = readBmminerStats(fixtureRecord('antminer/rpc_stats_s21xphyd_bmminer_71.0.1.3_captured.json'), newNotes())
    expect(st.model).toBe('Antminer S21 XP Hyd.')
    expect(st.boards.map((b) => b.chips)).toEqual([160, 160, 160])
    expect(st.boards[0]?.hashrateThs).toBeCloseTo(161.79468)
    expect(st.fansRpm).toEqual([])
    expect(st.expectedThs).toBeCloseTo(473)
  })
})
