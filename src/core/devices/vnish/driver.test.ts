import { afterEach, describe, expect, it } from 'vitest'
import { startVnishSim, type VnishSim } from '../../../../test/support/sim-devices/vnish-sim'
import { applyPoolsInBatches } from '../bulk-apply'
import { reasonOf } from '../device-error'
import { identifyDevice } from '../registry'
import type { DeviceIdentity } from '../types'
import { createVnishDriver, vnishModel } from './driver'

const sims: VnishSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(o: Parameters<typeof startVnishSim>[0] = {}) {
  const s = await startVnishSim(o)
  sims.push(s)
  return s
}

const identityOf = (s: VnishSim): DeviceIdentity => ({
  vendor: 'vnish',
  endpoint: { host: '127.0.0.1', httpPort: s.web.port, rpcPort: s.rpc.port },
  model: null,
  firmware: null,
  mac: null,
  hostname: null,
  serial: null,
})

const POOLS = [
  { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack3-12', password: 'x' },
  { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack3-12', password: 'x' },
]

describe('VNish driver: cgminer read, REST pool write (sim; no VNish capture exists)', () => {
  it('strips the firmware suffix from the model', () => {
    expect(vnishModel('Antminer S19 Pro (vnish 1.2.6)')).toBe('Antminer S19 Pro')
    expect(vnishModel('Antminer S19j Pro AML')).toBe('Antminer S19j Pro')
    expect(vnishModel(null)).toBeNull()
  })

  it('identifies by the VNISH socket signature and reads the bmminer-shaped status', async () => {
    const s = await sim()
    const id = await identifyDevice({ host: '127.0.0.1', httpPort: s.web.port, rpcPort: s.rpc.port })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.kind).toBe('vnish')
    expect(id.value.identity).toMatchObject({
      vendor: 'vnish',
      model: 'Antminer S19 Pro',
      firmware: '1.2.6',
      mac: '02:00:5E:10:00:01',
      hostname: 'vnish-rack3',
      serial: 'SIMVNISH0001',
    })
    const r = await id.value.driver.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.hashrateThs).toBeCloseTo(110.56689)
    expect(r.value.pools.length).toBeGreaterThan(0)
  })

  it('writes pools with unlock → Bearer → POST /api/v1/settings, restarts as told, and reads them back', async () => {
    const s = await sim()
    const d = createVnishDriver(identityOf(s))
    const [out] = await applyPoolsInBatches([{ key: 'v', driver: d, pools: POOLS }], {
      verifyAttempts: 1,
      verifyDelayMs: 0,
    })
    expect(out).toMatchObject({ status: 'applied' })
    expect(s.settingsBodies).toEqual([
      {
        miner: {
          pools: [
            { url: 'stratum+tcp://192.168.1.10:3333', user: 'acct.rack3-12', pass: 'x' },
            { url: 'stratum+tcp://192.168.1.11:3333', user: 'acct.rack3-12', pass: 'x' },
          ],
        },
      },
    ])
    const auth = s.web.requests.find((r) => r.path === '/api/v1/settings')?.headers.authorization
    expect(auth).toBe('Bearer jwt1')
    expect([s.restarts, s.reboots]).toEqual([1, 0])
  })

  it('reboots when the settings reply asks for it, and reports a wrong password', async () => {
    const s = await sim({ rebootRequired: true })
    expect((await createVnishDriver(identityOf(s)).setPools(POOLS)).ok).toBe(true)
    expect([s.restarts, s.reboots]).toEqual([0, 1])
    const wrong = createVnishDriver(identityOf(s), { credentials: { username: 'admin', password: 'nope' } })
    const r = await wrong.setPools(POOLS)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(reasonOf(r.error)).toBe('AUTH_FAILED')
    expect(s.settingsBodies).toHaveLength(1)
  })
})
