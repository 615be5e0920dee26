import { describe, expect, it } from 'vitest'
import { emptyStatus } from '../devices/status'
import type { DeviceStatus } from '../devices/types'
import { deviceObservation, deviceSamples, shareSamples, sharesObservation } from './ingest'

const T = 1_700_000_000_000

function status(): DeviceStatus {
  return {
    ...emptyStatus(T),
    hashrateThs: 104.2,
    expectedHashrateThs: 104,
    boards: [
      { index: 0, hashrateThs: 35, boardTempC: 61, chipTempC: 78.5, chips: 126, serial: null },
      { index: 1, hashrateThs: 35, boardTempC: 64, chipTempC: null, chips: 126, serial: null },
    ],
    fansRpm: [5900, 0, 6000],
    powerW: 3050,
    accepted: 812,
    pools: [
      {
        index: 0,
        url: 'stratum+tcp://192.0.2.5:3333',
        user: 'bc1q.rig',
        state: 'alive',
        active: true,
        priority: 0,
        accepted: 812,
        rejected: 1,
      },
    ],
  }
}

describe('health ingest glue', () => {
  it('turns a poll into history samples: hottest sensor, slowest fan, reachability', () => {
    expect(deviceSamples('rig', status(), T).map((s) => [s.metric, s.value])).toEqual([
      ['reachable', 1],
      ['hashrate_reported_ths', 104.2],
      ['temp_max_c', 78.5],
      ['fan_rpm', 0],
      ['power_w', 3050],
    ])
    expect(deviceSamples('rig', null, T).map((s) => [s.metric, s.value])).toEqual([['reachable', 0]])
  })

  it('turns a poll into an engine observation', () => {
    expect(deviceObservation('rig', 'rig-1', status(), T)).toEqual({
      kind: 'device',
      tsMs: T,
      deviceId: 'rig',
      name: 'rig-1',
      reachable: true,
      hashrateThs: 104.2,
      nameplateThs: 104,
      maxTempC: 78.5,
      acceptedTotal: 812,
      pools: [{ url: 'stratum+tcp://192.0.2.5:3333', user: 'bc1q.rig', active: true }],
    })
    expect(deviceObservation('rig', undefined, null, T)).toEqual({
      kind: 'device',
      tsMs: T,
      deviceId: 'rig',
      name: undefined,
      reachable: false,
    })
  })

  it('records rejected shares per reason key only', () => {
    const tally = {
      accepted: 10,
      rejectedByReason: { 'Duplicate share': 1, 'duplicate share': 2, 'Job not found (=stale)': 1 },
      stale: 3,
      diffAccepted: 10_240,
      diffRejected: 4096,
      diffStale: 3072,
      difficulty: 1024,
    }
    expect(shareSamples({ kind: 'pool', id: 'solo' }, tally, T).map((s) => [s.metric, s.value])).toEqual([
      ['shares_accepted', 10],
      ['shares_stale', 3],
      ['diff_accepted', 10_240],
      ['diff_stale', 3072],
      ['shares_rejected:duplicate-share', 3],
      ['shares_rejected:job-not-found-stale', 1],
      ['diff_rejected', 4096],
      ['difficulty', 1024],
    ])
    expect(sharesObservation('rig', tally, T)).toEqual({
      kind: 'shares',
      tsMs: T,
      deviceId: 'rig',
      accepted: 10,
      rejected: 4,
      stale: 3,
    })
  })
})
