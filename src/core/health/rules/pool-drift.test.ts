import { afterEach, describe, expect, it } from 'vitest'
import { type AxeosSim, startAxeosSim } from '../../../../test/support/sim-devices/axeos-sim'
import { fixtureText } from '../../../../test/support/sim-devices/fixtures'
import { createAxeosDriver, detectAxeos } from '../../devices/axeos/driver'
import { httpRequest } from '../../devices/http-client'
import type { MinerDriver, PoolTarget } from '../../devices/types'
import { AlertEngine } from './engine'
import { comparePools, normalisePoolUrl } from './pool-drift'
import { testClock } from './testing/replay'
import type { AlertEvent, PoolRef } from './types'

describe('pool drift: comparing reported pools with assigned ones', () => {
  const assigned: PoolRef[] = [
    { url: 'stratum+tcp://192.0.2.5:3333', user: 'bc1qowner.rig1' },
    { url: 'stratum+ssl://pool.example:4333', user: 'bc1qowner.rig1' },
  ]

  it('treats case, a missing scheme, ssl/tls and trailing slashes as the same URL', () => {
    expect(normalisePoolUrl(' Pool.Example:3333/ ')).toBe('stratum+tcp://pool.example:3333')
    expect(normalisePoolUrl('STRATUM+SSL://pool.example:4333')).toBe('stratum+tls://pool.example:4333')
    expect(
      comparePools(
        [
          { url: '192.0.2.5:3333', user: 'bc1qowner.rig1', active: true },
          { url: 'stratum+tls://POOL.example:4333/', user: ' bc1qowner.rig1 ' },
          { url: 'stratum+tcp://factory-default:3333', user: 'x' },
        ],
        assigned,
      ),
    ).toBeNull()
  })

  it('reports a swapped user, a changed URL, a missing slot and mining on an unassigned pool', () => {
    expect(comparePools([{ url: assigned[0]!.url, user: 'bc1qthief.rig1' }, assigned[1]!], assigned)).toEqual({
      slot: 0,
      reason: 'slot-differs',
      expected: assigned[0],
      found: { url: assigned[0]!.url, user: 'bc1qthief.rig1' },
    })
    expect(comparePools([assigned[0]!, { url: 'evil:1', user: 'bc1qowner.rig1' }], assigned)?.slot).toBe(1)
    expect(comparePools([assigned[0]!, { url: '', user: '' }], assigned)).toMatchObject({
      slot: 1,
      reason: 'slot-missing',
    })
    expect(
      comparePools([assigned[0]!, assigned[1]!, { url: 'stratum+tcp://evil:3333', user: 'x', active: true }], assigned),
    ).toMatchObject({ slot: 2, reason: 'active-unassigned', found: { url: 'stratum+tcp://evil:3333', user: 'x' } })
  })
})

describe('pool drift: a Bitaxe whose pool is changed through its own API', () => {
  const sims: AxeosSim[] = []
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()))
  })

  async function readInto(engine: AlertEngine, driver: MinerDriver, tsMs: number): Promise<AlertEvent[]> {
    const st = await driver.read()
    if (!st.ok) throw new Error(st.error.message)
    return engine.observe({
      kind: 'device',
      tsMs,
      deviceId: 'bitaxe-1',
      name: 'bitaxe',
      reachable: true,
      hashrateThs: st.value.hashrateThs,
      pools: st.value.pools.map((p) => ({ url: p.url, user: p.user, active: p.active })),
    })
  }

  it('fires once after the debounce when someone edits the pool on the device, and recovers when Hashyard restores it', async () => {
    const sim = await startAxeosSim({ info: fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json') })
    sims.push(sim)
    const id = await detectAxeos({ host: '127.0.0.1', httpPort: sim.port })
    if (!id.ok) throw new Error(id.error.message)
    const driver = createAxeosDriver(id.value)

    // Hashyard assigns the pools (through its driver) and remembers what it wrote.
    const targets: PoolTarget[] = [
      { url: 'stratum+tcp://192.0.2.5:3333', user: 'bc1qowner.bitaxe', password: 'x' },
      { url: 'stratum+tcp://192.0.2.6:3333', user: 'bc1qowner.bitaxe', password: 'x' },
    ]
    const wrote = await driver.setPools(targets)
    expect(wrote.ok).toBe(true)
    const assigned = targets.map(({ url, user }) => ({ url, user }))

    const T0 = Date.UTC(2025, 5, 1)
    const clock = testClock(T0)
    const engine = new AlertEngine({
      now: clock.now,
      rules: [
        {
          id: 'drift',
          type: 'pool-drift',
          forMs: 60_000,
          enabled: true,
          scope: { kind: 'farm' },
          severity: 'critical',
        },
      ],
      assignedPools: (deviceId) => (deviceId === 'bitaxe-1' ? assigned : undefined),
    })
    const events: AlertEvent[] = []
    const pollAt = async (s: number) => {
      clock.set(T0 + s * 1000)
      events.push(...(await readInto(engine, driver, T0 + s * 1000)))
    }
    await pollAt(0)
    await pollAt(15)
    expect(events).toEqual([])

    // Someone opens AxeOS and points the Bitaxe at their own pool and address.
    const hijack = await httpRequest({
      host: '127.0.0.1',
      port: sim.port,
      method: 'PATCH',
      path: '/api/system',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ stratumURL: 'thief.example', stratumPort: 3333, stratumUser: 'bc1qthief.bitaxe' }),
      timeoutMs: 5000,
    })
    expect(hijack.ok && hijack.value.status).toBe(200)
    for (const s of [30, 45, 60, 75]) await pollAt(s)
    expect(events).toEqual([]) // debounced: the change has been seen for 45 s only
    await pollAt(90)
    expect(events.map((e) => [e.phase, e.ruleType, e.subject.id])).toEqual([['fired', 'pool-drift', 'bitaxe-1']])
    expect(events[0]!.message).toBe(
      "bitaxe's pool 1 is stratum+tcp://thief.example:3333 as bc1qthief.bitaxe, but Hashyard assigned stratum+tcp://192.0.2.5:3333 as bc1qowner.bitaxe. Its pools were changed outside Hashyard (on the device itself?).",
    )
    expect(events[0]!.data).toMatchObject({ foundUser: 'bc1qthief.bitaxe', expectedUser: 'bc1qowner.bitaxe' })
    await pollAt(105)
    expect(events).toHaveLength(1) // fires once

    expect((await driver.setPools(targets)).ok).toBe(true)
    await pollAt(120)
    expect(events.map((e) => e.phase)).toEqual(['fired', 'recovered'])
    expect(events[1]!.title).toBe('bitaxe: pools match Hashyard again')
  })
})
