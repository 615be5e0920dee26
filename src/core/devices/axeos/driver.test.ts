import { afterEach, describe, expect, it } from 'vitest'
import { type AxeosSim, type AxeosSimOptions, startAxeosSim } from '../../../../test/support/sim-devices/axeos-sim'
import { fixtureText } from '../../../../test/support/sim-devices/fixtures'
import { memoryLogger } from '../../logger'
import { reasonOf } from '../device-error'
import { httpRequest } from '../http-client'
import { hasUnsafeChars } from '../untrusted-text'
import { createAxeosDriver, detectAxeos } from './driver'

const INFO_212 = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')
const ASIC = fixtureText('bitaxe/axeos_system_asic_gamma.json')

const sims: AxeosSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(opts: AxeosSimOptions) {
  const s = await startAxeosSim(opts)
  sims.push(s)
  return s
}
async function driverFor(s: AxeosSim) {
  const id = await detectAxeos({ host: '127.0.0.1', httpPort: s.port })
  if (!id.ok) throw new Error(id.error.message)
  return createAxeosDriver(id.value)
}

describe('AxeOS driver: read (fixture replay)', () => {
  it('identifies a Bitaxe Gamma 601 on v2.12.2', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC })
    const id = await detectAxeos({ host: '127.0.0.1', httpPort: s.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value).toEqual({
      vendor: 'axeos',
      endpoint: { host: '127.0.0.1', httpPort: s.port },
      model: 'Bitaxe Gamma 601 (BM1370)',
      firmware: 'v2.12.2',
      mac: '10:F5:12:33:BB:F0',
      hostname: 'bitaxe',
      serial: null,
    })
    // Requests come from Node with no Origin header, which AxeOS would refuse.
    expect(s.requests.every((r) => r.headers.origin === undefined)).toBe(true)
  })

  it('normalises /api/system/info: GH/s to TH/s, sensors, shares, and the fallback pool in use', async () => {
    const d = await driverFor(await sim({ info: INFO_212, asic: ASIC }))
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    const st = r.value
    expect(st.hashrateThs).toBeCloseTo(1.0722407227)
    expect(st.hashrates.map((h) => [h.window, Number(h.ths.toFixed(6))])).toEqual([
      ['now', 1.072241],
      ['1m', 1.088935],
      ['10m', 1.072327],
      ['1h', 1.071874],
    ])
    expect(st.expectedHashrateThs).toBeCloseTo(1.071)
    expect(st.boards).toEqual([
      { index: 0, hashrateThs: st.hashrateThs, boardTempC: 62, chipTempC: 60.125, chips: null, serial: null },
    ])
    expect(st.fansRpm).toEqual([3915])
    expect(st.powerW).toBeCloseTo(18.7522583)
    expect(st.uptimeS).toBe(18574)
    expect([st.accepted, st.rejected]).toEqual([4768, 13])
    expect(st.pools).toEqual([
      {
        index: 0,
        url: 'stratum+tcp://public-pool.io:21496',
        user: 'bc1qnp980s5fpp8l94p5cvttmtdqy8rvrq74qly2yrfmzkdsntqzlc5qkc4rkq.bitaxe',
        state: 'unknown',
        active: false,
        priority: 0,
        accepted: null,
        rejected: null,
      },
      {
        index: 1,
        url: 'stratum+tcp://solo.ckpool.org:3333',
        user: 'bc1qnp980s5fpp8l94p5cvttmtdqy8rvrq74qly2yrfmzkdsntqzlc5qkc4rkq.bitaxe',
        state: 'unknown',
        active: true,
        priority: 1,
        accepted: null,
        rejected: null,
      },
    ])
    expect(st.warnings).toEqual([])
  })

  it('reads v2.6.0 (dashed MAC, string bestDiff, no /asic endpoint) and v2.4.5', async () => {
    const s26 = await sim({ info: fixtureText('bitaxe/axeos_system_info_v2.6.0_board302.json') })
    const id26 = await detectAxeos({ host: '127.0.0.1', httpPort: s26.port })
    if (!id26.ok) throw new Error(id26.error.message)
    expect(id26.value).toMatchObject({ model: 'Bitaxe 302 (BM1366)', firmware: 'v2.6.0', mac: 'C0:FA:38:6A:6E:B2' })
    const r26 = await createAxeosDriver(id26.value).read()
    if (!r26.ok) throw new Error(r26.error.message)
    expect(r26.value.hashrateThs).toBeCloseTo(2.3727583)
    expect(r26.value.pools[0]?.active).toBe(true)

    const s245 = await sim({ info: fixtureText('bitaxe/axeos_system_info_v2.4.5.json') })
    const id245 = await detectAxeos({ host: '127.0.0.1', httpPort: s245.port })
    if (!id245.ok) throw new Error(id245.error.message)
    expect(id245.value).toMatchObject({ model: 'Bitaxe Supra 401 (BM1368)', firmware: 'v2.4.5-3-gb5d1e36-dirty' })
    const r245 = await createAxeosDriver(id245.value).read()
    if (!r245.ok) throw new Error(r245.error.message)
    expect(r245.value.boards[0]).toMatchObject({ chips: 1, boardTempC: 78, chipTempC: 59.875 })
  })
})

describe('AxeOS driver: write', () => {
  it('≤2.14: sends the exact legacy PATCH body, restarts, and reads the new pools back', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC })
    const d = await driverFor(s)
    const w = await d.setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'bc1qexample.gamma-01', password: 'x' },
      { url: 'backup.example.com:3334', user: 'bc1qexample.gamma-01', password: 'y' },
    ])
    if (!w.ok) throw new Error(w.error.message)
    const patch = s.requests.find((r) => r.method === 'PATCH')
    expect(patch?.path).toBe('/api/system')
    expect(patch?.headers['content-type']).toBe('application/json')
    expect(patch?.body).toBe(
      '{"stratumURL":"192.168.1.10","stratumPort":3333,"stratumUser":"bc1qexample.gamma-01","stratumPassword":"x",' +
        '"fallbackStratumURL":"backup.example.com","fallbackStratumPort":3334,"fallbackStratumUser":"bc1qexample.gamma-01","fallbackStratumPassword":"y"}',
    )
    expect(d.capabilities.afterPoolWrite).toBe('restart')
    const rb = await d.reboot()
    expect(rb.ok).toBe(true)
    expect(s.restarts).toBe(1)
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.pools.map((p) => [p.url, p.user])).toEqual([
      ['stratum+tcp://192.168.1.10:3333', 'bc1qexample.gamma-01'],
      ['stratum+tcp://backup.example.com:3334', 'bc1qexample.gamma-01'],
    ])
    expect(s.passwords.get('stratumPassword')).toBe('x')
  })

  it('≥2.15: writes the primary and secondary slots with their ids', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC, slots: true })
    const d = await driverFor(s)
    const w = await d.setPools([{ url: 'stratum+tls://pool.example.com:4333', user: 'acct.w1', password: 'secret' }])
    if (!w.ok) throw new Error(w.error.message)
    const patch = s.requests.find((r) => r.method === 'PATCH')
    expect(JSON.parse(patch?.body ?? '')).toEqual({
      pools: [
        {
          id: 0,
          stratumURL: 'pool.example.com',
          stratumPort: 4333,
          stratumUser: 'acct.w1',
          stratumPassword: 'secret',
          stratumTLS: 1,
        },
      ],
      primaryPoolIndex: 0,
      secondaryPoolIndex: 1,
    })
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.pools.map((p) => p.url)).toEqual([
      'stratum+tls://pool.example.com:4333',
      'stratum+tcp://solo.ckpool.org:3333',
    ])
    expect(s.passwords.get('0')).toBe('secret')
    expect(s.passwords.get('1')).toBe('x')
  })

  it('refuses a TLS pool on firmware without stratumTLS, and more than two pools, without writing', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC })
    const d = await driverFor(s)
    const tls = await d.setPools([{ url: 'stratum+tls://pool.example.com:4333', user: 'a.b', password: 'x' }])
    expect(tls.ok).toBe(false)
    const three = await d.setPools(
      [1, 2, 3].map((n) => ({ url: `stratum+tcp://p${n}.example.com:3333`, user: 'a.b', password: 'x' })),
    )
    expect(three.ok).toBe(false)
    if (!three.ok) expect(reasonOf(three.error)).toBe('INVALID_POOL')
    expect(s.requests.some((r) => r.method === 'PATCH')).toBe(false)
  })

  it('reports a device that rejects the write', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC, failWrites: 400 })
    const d = await driverFor(s)
    const w = await d.setPools([{ url: 'stratum+tcp://192.168.1.10:3333', user: 'a.b', password: 'x' }])
    expect(w.ok).toBe(false)
    if (!w.ok) expect(reasonOf(w.error)).toBe('COMMAND_FAILED')
  })

  it('identifies (locate) on request; switching it off is reported as unsupported', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC })
    const d = await driverFor(s)
    expect((await d.locate(true)).ok).toBe(true)
    expect(s.identifies).toBe(1)
    const off = await d.locate(false)
    expect(off.ok).toBe(false)
    if (!off.ok) expect(reasonOf(off.error)).toBe('NOT_SUPPORTED')
  })

  it('shows why a browser-origin request would fail: the device answers 401 to a non-private Origin', async () => {
    const s = await sim({ info: INFO_212, asic: ASIC })
    const r = await httpRequest({
      host: '127.0.0.1',
      port: s.port,
      method: 'GET',
      path: '/api/system/info',
      headers: { Origin: 'app://hashyard' },
    })
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.status).toBe(401)
  })
})

describe('AxeOS driver: hostile device text', () => {
  it('keeps a hostile hostname verbatim as text and logs only a sanitised, capped form', async () => {
    const hostile = `<img src=x onerror=alert(1)>${'A'.repeat(10 * 1024)}\u001b[31m\r\nFAKE 2026 error [core] pwned\u0000\u202e`
    const s = await sim({ info: INFO_212, asic: ASIC, patchInfo: { hostname: hostile } })
    const logger = memoryLogger()
    const id = await detectAxeos({ host: '127.0.0.1', httpPort: s.port }, { logger })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.hostname).toBe(hostile)
    const rec = logger.records.find((r) => r.msg === 'axeos device detected')
    const logged = rec?.fields?.hostname
    expect(typeof logged).toBe('string')
    if (typeof logged !== 'string') return
    expect(logged.startsWith('<img src=x onerror=alert(1)>AAAA')).toBe(true)
    expect(logged.length).toBeLessThanOrEqual(120)
    expect(hasUnsafeChars(logged)).toBe(false)
    expect(JSON.stringify(logger.records)).not.toContain('\\u001b')
  })
})
