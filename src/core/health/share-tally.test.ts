import { describe, expect, it } from 'vitest'
import { type ConnectionCounters, ShareTallies } from './share-tally'

const START = 1_000_000

const conn = (over: Partial<ConnectionCounters>): ConnectionCounters => ({
  key: 'pool:1',
  deviceId: 'd-1',
  connectedAtMs: START + 10,
  accepted: 0,
  rejectedByReason: {},
  stale: 0,
  diffAccepted: 0,
  difficulty: 1000,
  hashrateHs: 2e12,
  bestShareDifficulty: 0,
  ...over,
})

describe('ShareTallies', () => {
  it('counts a connection opened after start from zero, then by increments', () => {
    const t = new ShareTallies(START)
    const a = t.update([conn({ accepted: 3, diffAccepted: 3000, rejectedByReason: { 'low difficulty': 1 } })])
    expect(a.byDevice.get('d-1')).toMatchObject({
      accepted: 3,
      diffAccepted: 3000,
      rejectedByReason: { 'low difficulty': 1 },
      difficulty: 1000,
      shareHashrateThs: 2,
    })
    const b = t.update([conn({ accepted: 5, diffAccepted: 5000, rejectedByReason: { 'low difficulty': 1 }, stale: 1 })])
    expect(b.byDevice.get('d-1')).toMatchObject({ accepted: 2, diffAccepted: 2000, stale: 1, rejectedByReason: {} })
    expect(t.totals('d-1')).toMatchObject({ accepted: 5, stale: 1, rejectedByReason: { 'low difficulty': 1 } })
  })

  it('does not replay what a connection open before start had already counted', () => {
    const t = new ShareTallies(START)
    const first = t.update([conn({ connectedAtMs: START - 60_000, accepted: 900 })])
    expect(first.byDevice.size).toBe(0)
    expect(t.update([conn({ connectedAtMs: START - 60_000, accepted: 901 })]).byDevice.get('d-1')?.accepted).toBe(1)
  })

  it('counts from zero again when a counter goes down, and sums several connections of one device', () => {
    const t = new ShareTallies(START)
    t.update([conn({ accepted: 10 })])
    const r = t.update([conn({ accepted: 2 }), conn({ key: 'proxy:7', accepted: 4, hashrateHs: 1e12 })])
    expect(r.byDevice.get('d-1')).toMatchObject({ accepted: 6, shareHashrateThs: 3 })
    expect(r.all.accepted).toBe(6)
  })

  it('keeps connections without a device in the farm total only', () => {
    const t = new ShareTallies(START)
    const r = t.update([conn({ deviceId: null, accepted: 7 })])
    expect(r.byDevice.size).toBe(0)
    expect(r.all.accepted).toBe(7)
  })

  it('drops gauges of a device whose connections closed but keeps its totals', () => {
    const t = new ShareTallies(START)
    t.update([conn({ accepted: 4, bestShareDifficulty: 12_345 })])
    t.update([])
    expect(t.totals('d-1')).toMatchObject({
      accepted: 4,
      difficulty: null,
      shareHashrateThs: null,
      bestShareDifficulty: 12_345,
    })
  })
})
