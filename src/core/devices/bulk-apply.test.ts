import { afterEach, describe, expect, it } from 'vitest'
import {
  type AntminerSim,
  type AntminerSimOptions,
  startAntminerSim,
} from '../../../test/support/sim-devices/antminer-sim'
import { type AxeosSim, type AxeosSimOptions, startAxeosSim } from '../../../test/support/sim-devices/axeos-sim'
import { fixtureText } from '../../../test/support/sim-devices/fixtures'
import { memoryLogger } from '../logger'
import { createAntminerDriver } from './antminer/driver'
import { createAxeosDriver } from './axeos/driver'
import { applyPoolsInBatches, type BulkOutcome, canonicalUrl, poolsMatch } from './bulk-apply'
import { reasonOf } from './device-error'
import type { DeviceIdentity, PoolTarget } from './types'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()))
})
const INFO = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')

async function axeos(opts: Partial<AxeosSimOptions> = {}): Promise<AxeosSim> {
  const s = await startAxeosSim({ info: INFO, ...opts })
  closers.push(() => s.close())
  return s
}
async function antminer(opts: AntminerSimOptions = {}): Promise<AntminerSim> {
  const s = await startAntminerSim(opts)
  closers.push(() => s.close())
  return s
}
const identity = (vendor: DeviceIdentity['vendor'], endpoint: DeviceIdentity['endpoint']): DeviceIdentity => ({
  vendor,
  endpoint,
  model: null,
  firmware: null,
  mac: null,
  hostname: null,
  serial: null,
})

const target = (worker: string): PoolTarget[] => [
  { url: 'stratum+tcp://192.168.1.10:3333', user: `bc1qexample.${worker}`, password: 'x' },
]

describe('pool comparison', () => {
  it('compares URLs by scheme, host case and port', () => {
    expect(canonicalUrl('Pool.Example.com:3333')).toBe('stratum+tcp://pool.example.com:3333')
    expect(
      poolsMatch(
        [
          {
            index: 0,
            url: 'stratum+tcp://pool.example.com:3333',
            user: 'a.b',
            state: 'unknown',
            active: true,
            priority: 0,
            accepted: null,
            rejected: null,
          },
        ],
        [{ url: 'POOL.example.com:3333', user: 'a.b' }],
      ),
    ).toBe(true)
    expect(poolsMatch([], [{ url: 'pool:1', user: 'a' }])).toBe(false)
  })
})

describe('batch pool change', () => {
  it('applies where it can, and reports per device what happened where it cannot', async () => {
    const [ok1, ok2, refusing, hanging] = await Promise.all([
      axeos(),
      axeos(),
      axeos({ failWrites: 500 }),
      axeos({ failWrites: 'hang' }),
    ])
    const [m1, m2] = await Promise.all([antminer(), antminer({ dropSetConfWrites: 1 })])
    const ax = (s: AxeosSim, timeoutMs = 2000) =>
      createAxeosDriver(identity('axeos', { host: '127.0.0.1', httpPort: s.port }), { timeoutMs })
    const am = (s: AntminerSim) =>
      createAntminerDriver(identity('antminer', { host: '127.0.0.1', httpPort: s.http.port, rpcPort: s.rpc.port }))
    const logger = memoryLogger()
    const seen: BulkOutcome[] = []
    const outcomes = await applyPoolsInBatches(
      [
        { key: 'ax-1', driver: ax(ok1), pools: target('ax-1') },
        { key: 'ax-2', driver: ax(ok2), pools: target('ax-2') },
        { key: 'ax-refusing', driver: ax(refusing), pools: target('ax-3') },
        { key: 'ax-hanging', driver: ax(hanging, 300), pools: target('ax-4') },
        { key: 'am-1', driver: am(m1), pools: target('am-1') },
        { key: 'am-not-taking', driver: am(m2), pools: target('am-2') },
      ],
      { batchSize: 2, verifyAttempts: 2, verifyDelayMs: 0, logger, onOutcome: (o) => seen.push(o) },
    )
    const by = new Map(outcomes.map((o) => [o.key, o]))
    expect(outcomes.map((o) => o.key)).toEqual(['ax-1', 'ax-2', 'ax-refusing', 'ax-hanging', 'am-1', 'am-not-taking'])
    expect(seen).toHaveLength(6)

    // AxeOS: written, restarted (the firmware needs it), read back.
    for (const [key, sim] of [
      ['ax-1', ok1],
      ['ax-2', ok2],
    ] as const) {
      const o = by.get(key)
      expect(o?.status).toBe('applied')
      if (o?.status === 'applied') {
        expect(o.restarted).toBe(true)
        expect(o.after[0]).toMatchObject({ url: 'stratum+tcp://192.168.1.10:3333', user: `bc1qexample.${key}` })
        expect(o.before[0]?.url).toBe('stratum+tcp://public-pool.io:21496')
      }
      expect(sim.restarts).toBe(1)
    }

    const refused = by.get('ax-refusing')
    expect(refused).toMatchObject({ status: 'failed', stage: 'write', previous: 'kept' })
    expect(refusing.info.stratumURL).toBe('public-pool.io')
    expect(refusing.restarts).toBe(0)

    const hung = by.get('ax-hanging')
    expect(hung).toMatchObject({ status: 'failed', stage: 'write', previous: 'unknown' })
    if (hung?.status === 'failed') expect(reasonOf(hung.error)).toBe('TIMEOUT')
    // Never retried after a timeout.
    expect(hanging.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)

    const a1 = by.get('am-1')
    expect(a1?.status).toBe('applied')
    if (a1?.status === 'applied') expect(a1.restarted).toBe(false)
    expect(m1.reboots).toBe(0)

    // The config was "accepted" but never took: one reboot, then the snapshot is written back.
    const a2 = by.get('am-not-taking')
    expect(a2).toMatchObject({ status: 'failed', stage: 'verify', previous: 'restored' })
    expect(m2.reboots).toBe(1)
    expect((m2.conf.pools as { url: string }[]).map((p) => p.url)).toEqual([
      'stratum+tcp://stratum.pool.io:3333',
      'stratum+tcp://stratum.pool.io:3334',
      'stratum+tcp://stratum.pool.io:3335',
    ])

    // One log line per device; passwords never logged.
    expect(logger.records.filter((r) => r.msg === 'pool change')).toHaveLength(6)
    expect(JSON.stringify(logger.records)).not.toContain('"x"')
    expect(JSON.stringify(outcomes)).not.toContain('password')
  })
})
