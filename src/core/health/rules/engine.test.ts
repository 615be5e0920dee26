import { describe, expect, it } from 'vitest'
import { DEFAULT_RULES } from './defaults'
import { AlertEngine, type AlertEngineOptions } from './engine'
import { parseRule } from './schema'
import { every, replay, type Step, testClock, timeline } from './testing/replay'
import type { AlertRule, DeviceObservation, Observation } from './types'

const S = 1000
const MIN = 60 * S
const HOUR = 60 * MIN
const T0 = Date.UTC(2025, 2, 1, 12, 0, 0)

const farm = { kind: 'farm' } as const
const rule = <R extends AlertRule>(r: Omit<R, 'enabled' | 'scope' | 'severity'> & Partial<AlertRule>): AlertRule =>
  ({ enabled: true, scope: farm, severity: 'warning', ...r }) as AlertRule

function engine(rules: AlertRule[], extra: Partial<AlertEngineOptions> = {}, startMs = T0) {
  const clock = testClock(startMs)
  let n = 0
  const e = new AlertEngine({ rules, now: clock.now, newId: () => `inc-${++n}`, ...extra })
  return { e, clock }
}

const poll = (deviceId: string, tsMs: number, o: Partial<DeviceObservation> = {}): DeviceObservation => ({
  kind: 'device',
  tsMs,
  deviceId,
  name: deviceId,
  reachable: true,
  hashrateThs: 1.0,
  maxTempC: 60,
  ...o,
})

/** A recorded 15-second poll series: `stateAt(t)` says what the device reported at t. */
function polls(
  deviceId: string,
  fromMs: number,
  toMs: number,
  stateAt: (tMs: number) => Partial<DeviceObservation>,
): Step[] {
  return every(15 * S, fromMs, toMs, (t) => [poll(deviceId, t, stateAt(t))])
}

describe('alert engine: debounce, fire once, recover once', () => {
  it('device offline: a 2-minute blip is ignored; a 12-minute outage fires once after 5 min and recovers once', () => {
    const { e, clock } = engine([rule({ id: 'off', type: 'device-offline', forMs: 5 * MIN })])
    const down = (t: number) => (t >= T0 + 10 * MIN && t < T0 + 12 * MIN) || (t >= T0 + 30 * MIN && t < T0 + 42 * MIN)
    const events = replay(
      e,
      clock,
      polls('rig-1', T0, T0 + HOUR, (t) => ({ reachable: !down(t) })),
    )
    expect(timeline(events, T0)).toEqual([
      ['fired:device-offline', 'rig-1', 35],
      ['recovered:device-offline', 'rig-1', 42],
    ])
    expect(events[0]!.title).toBe('rig-1 is offline')
    expect(events[0]!.message).toBe('rig-1 has not answered its polls for 5 min.')
    expect(events[1]!.incidentId).toBe(events[0]!.incidentId)
    expect(events[1]!.firedAtMs).toBe(T0 + 35 * MIN)
    expect(events[1]!.data.durationMs).toBe(7 * MIN)
    expect(events.every((x) => !x.suppressed)).toBe(true)
  })

  it('temperature: fires only after holding above the limit for the whole window', () => {
    const { e, clock } = engine([rule({ id: 'hot', type: 'temp-high', aboveC: 75, forMs: 10 * MIN })])
    // 5 min hot, 1 poll cool (debounce restarts), then 15 min hot, then cool.
    const tempAt = (t: number) => {
      const m = (t - T0) / MIN
      if (m >= 5 && m < 10) return 80
      if (m >= 10.25 && m < 25.25) return 81.5
      return 65
    }
    const events = replay(
      e,
      clock,
      polls('rig-2', T0, T0 + 40 * MIN, (t) => ({ maxTempC: tempAt(t) })),
    )
    expect(timeline(events, T0)).toEqual([
      ['fired:temp-high', 'rig-2', 20.25],
      ['recovered:temp-high', 'rig-2', 25.25],
    ])
    expect(events[0]!.title).toBe('rig-2 is running hot: 81.5 °C')
    expect(events[1]!.title).toBe('rig-2 has cooled to 65.0 °C')
  })

  it('no accepted share: fires after N minutes of silence from a reachable device and recovers on the next share', () => {
    const { e, clock } = engine([rule({ id: 'quiet', type: 'no-accepted-share', forMs: 10 * MIN })])
    const steps: Step[] = [
      ...polls('rig-3', T0, T0 + HOUR, () => ({})),
      // Shares every 30 s, except a silence from minute 20 to minute 40.
      ...every(30 * S, T0, T0 + HOUR, (t) =>
        t >= T0 + 20 * MIN && t < T0 + 40 * MIN
          ? []
          : [{ kind: 'shares', tsMs: t, deviceId: 'rig-3', accepted: 1, rejected: 0, stale: 0 } satisfies Observation],
      ),
    ]
    const events = replay(e, clock, steps)
    // Last share at 19.5 min; the silence reaches 10 min at 29.5 min.
    expect(timeline(events, T0)).toEqual([
      ['fired:no-accepted-share', 'rig-3', 29.5],
      ['recovered:no-accepted-share', 'rig-3', 40],
    ])
    expect(events[1]!.message).toBe('rig-3 submitted an accepted share.')
  })

  it("no accepted share also counts a rise in the device's own accepted counter (devices on outside pools)", () => {
    const { e, clock } = engine([rule({ id: 'quiet', type: 'no-accepted-share', forMs: 10 * MIN })])
    const acceptedAt = (t: number) => Math.min(Math.floor((t - T0) / MIN), 15) // counter stops rising at 15 min
    const events = replay(
      e,
      clock,
      polls('rig-4', T0, T0 + 30 * MIN, (t) => ({ acceptedTotal: acceptedAt(t) })),
    )
    expect(timeline(events, T0)).toEqual([['fired:no-accepted-share', 'rig-4', 25]])
  })

  it('hashrate below half of its own 24 h baseline for 15 min fires once, recovers once', () => {
    const { e, clock } = engine([
      rule({ id: 'low', type: 'hashrate-low', belowPct: 50, baseline: 'own-24h', forMs: 15 * MIN }),
    ])
    const hrAt = (t: number) => {
      const m = (t - T0) / MIN
      if (m >= 130 && m < 160) return 0.31 // a board dropped out
      return 1.0 + 0.02 * Math.sin(m) // normal jitter
    }
    const events = replay(
      e,
      clock,
      polls('rig-5', T0, T0 + 3 * HOUR, (t) => ({ hashrateThs: hrAt(t) })),
    )
    expect(timeline(events, T0)).toEqual([
      ['fired:hashrate-low', 'rig-5', 145],
      ['recovered:hashrate-low', 'rig-5', 160],
    ])
    expect(events[0]!.message).toMatch(
      /^rig-5 is hashing 0\.31 TH\/s, below 50 % of its 24 h average \(0\.9\d TH\/s\)\.$/,
    )
  })

  it('hashrate against nameplate works from the first minute (no baseline needed)', () => {
    const { e, clock } = engine([
      rule({ id: 'np', type: 'hashrate-low', belowPct: 80, baseline: 'nameplate', forMs: 2 * MIN }),
    ])
    const events = replay(
      e,
      clock,
      polls('s19', T0, T0 + 10 * MIN, (t) => ({ nameplateThs: 95, hashrateThs: t < T0 + 4 * MIN ? 93 : 60 })),
    )
    expect(timeline(events, T0)).toEqual([['fired:hashrate-low', 's19', 6]])
    expect(events[0]!.message).toBe('s19 is hashing 60.0 TH/s, below 80 % of its nameplate (95.0 TH/s).')
  })

  it('reject and stale rates over a window fire once and recover once', () => {
    const { e, clock } = engine([
      rule({ id: 'rej', type: 'reject-rate-high', abovePct: 5, windowMs: 10 * MIN, minShares: 20 }),
      rule({ id: 'stale', type: 'stale-rate-high', abovePct: 5, windowMs: 10 * MIN, minShares: 20 }),
    ])
    // 10 shares a minute; from minute 20 to 30, 2 of them rejected (20 %); stale stays at 0.
    const steps = every(MIN, T0, T0 + HOUR, (t) => {
      const bad = t >= T0 + 20 * MIN && t < T0 + 30 * MIN ? 2 : 0
      return [{ kind: 'shares', tsMs: t, deviceId: 'rig-6', accepted: 10 - bad, rejected: bad, stale: 0 }]
    })
    const events = replay(e, clock, steps)
    // The window is the last 10 minutes. Over 5 % once 3 bad minutes (6 of 100) are in it: minute 22.
    // Back under at minute 37, when it holds only minutes 28 and 29 (4 of 100).
    expect(timeline(events, T0)).toEqual([
      ['fired:reject-rate-high', 'rig-6', 22],
      ['recovered:reject-rate-high', 'rig-6', 37],
    ])
    expect(events[0]!.title).toBe('rig-6: 6.0 % of shares rejected')
  })

  it('non-device subjects: upstream down, proxy failover, node unreachable and stale templates', () => {
    const { e, clock } = engine([
      rule({ id: 'up', type: 'upstream-down', forMs: 2 * MIN }),
      rule({ id: 'fo', type: 'proxy-failover', forMs: 1 * MIN }),
      rule({ id: 'node', type: 'node-unreachable', forMs: 2 * MIN }),
      rule({ id: 'tpl', type: 'template-stale', maxAgeMs: 5 * MIN, forMs: 0 }),
    ])
    const steps = every(30 * S, T0, T0 + HOUR, (t): Observation[] => {
      const m = (t - T0) / MIN
      const primaryUp = !(m >= 10 && m < 20)
      return [
        { kind: 'upstream', tsMs: t, upstreamId: 'ocean', up: primaryUp },
        { kind: 'upstream', tsMs: t, upstreamId: 'backup', up: true },
        {
          kind: 'proxy',
          tsMs: t,
          proxyId: 'proxy-1',
          activeUpstreamId: primaryUp ? 'ocean' : 'backup',
          preferredUpstreamId: 'ocean',
        },
        {
          kind: 'node',
          tsMs: t,
          nodeId: 'core',
          reachable: !(m >= 30 && m < 31) && !(m >= 40 && m < 45),
          templateAgeMs: m >= 50 && m < 56 ? (m - 47) * MIN : 20 * S,
        },
      ]
    })
    expect(timeline(replay(e, clock, steps), T0)).toEqual([
      ['fired:proxy-failover', 'proxy-1', 11],
      ['fired:upstream-down', 'ocean', 12],
      ['recovered:upstream-down', 'ocean', 20],
      ['recovered:proxy-failover', 'proxy-1', 20],
      ['fired:node-unreachable', 'core', 42],
      ['recovered:node-unreachable', 'core', 45],
      ['fired:template-stale', 'core', 52.5],
      ['recovered:template-stale', 'core', 56],
    ])
  })
})

describe('alert engine: quiet at start-up', () => {
  it('a device already offline when the app starts fires only after the full window from start', () => {
    const { e, clock } = engine([rule({ id: 'off', type: 'device-offline', forMs: 5 * MIN })])
    const events = replay(
      e,
      clock,
      polls('rig-1', T0, T0 + 20 * MIN, () => ({ reachable: false })),
    )
    expect(timeline(events, T0)).toEqual([['fired:device-offline', 'rig-1', 5]])
  })

  it('a condition true at start that clears within the window says nothing at all', () => {
    const { e, clock } = engine([
      rule({ id: 'off', type: 'device-offline', forMs: 5 * MIN }),
      rule({ id: 'hot', type: 'temp-high', aboveC: 75, forMs: 5 * MIN }),
    ])
    const events = replay(e, clock, [
      ...polls('rig-1', T0, T0 + 30 * MIN, (t) => ({ reachable: t >= T0 + 4 * MIN })),
      ...polls('rig-2', T0, T0 + 30 * MIN, (t) => ({ maxTempC: t < T0 + 4 * MIN ? 90 : 60 })),
    ])
    expect(events).toEqual([])
  })

  it('silence and rate windows count from the start, not from a past the engine never saw', () => {
    const { e, clock } = engine([
      rule({ id: 'quiet', type: 'no-accepted-share', forMs: 10 * MIN }),
      rule({ id: 'rej', type: 'reject-rate-high', abovePct: 5, windowMs: 10 * MIN, minShares: 5 }),
    ])
    const steps: Step[] = [
      ...polls('idle', T0, T0 + 20 * MIN, () => ({})),
      // A device rejecting half its shares from the very first minute.
      ...every(MIN, T0, T0 + 20 * MIN, (t) => [
        { kind: 'shares', tsMs: t, deviceId: 'bad', accepted: 5, rejected: 5, stale: 0 } satisfies Observation,
      ]),
    ]
    expect(timeline(replay(e, clock, steps), T0)).toEqual([
      ['fired:no-accepted-share', 'idle', 10],
      ['fired:reject-rate-high', 'bad', 10],
    ])
  })

  it('instant events older than the start are not announced; new ones are, once', () => {
    const { e, clock } = engine(
      [
        rule({ id: 'new', type: 'unknown-device', severity: 'info' }),
        rule({ id: 'block', type: 'block-found', severity: 'info' }),
      ],
      { announcedAddresses: ['192.0.2.9'] },
    )
    const events = replay(e, clock, [
      {
        atMs: T0,
        observations: [
          { kind: 'block', tsMs: T0 - 5 * MIN, height: 880_000, hash: '00aa' },
          { kind: 'discovery', tsMs: T0 - MIN, address: '192.0.2.7', known: false },
          { kind: 'discovery', tsMs: T0, address: '192.0.2.8', known: true },
          { kind: 'discovery', tsMs: T0, address: '192.0.2.9', known: false },
        ],
      },
      {
        atMs: T0 + MIN,
        observations: [
          {
            kind: 'discovery',
            tsMs: T0 + MIN,
            address: '192.0.2.10',
            known: false,
            model: 'Bitaxe Gamma',
            name: 'bitaxe',
          },
          { kind: 'discovery', tsMs: T0 + MIN, address: '192.0.2.10', known: false },
          {
            kind: 'block',
            tsMs: T0 + MIN,
            height: 880_001,
            hash: '00bb',
            worker: 'bc1qxyz.gamma',
            rewardSats: 312_500_000,
          },
          { kind: 'block', tsMs: T0 + MIN, height: 880_001, hash: '00bb' },
        ],
      },
    ])
    expect(timeline(events, T0)).toEqual([
      ['event:unknown-device', '192.0.2.10', 1],
      ['event:block-found', 'farm', 1],
    ])
    expect(events[0]!.message).toBe(
      'Discovery found 192.0.2.10 (Bitaxe Gamma, bitaxe), which is not in your farm. Add it, or dismiss it if it is not yours.',
    )
    expect(events[1]!.title).toBe('Block found at height 880001 by bc1qxyz.gamma!')
    expect(events[1]!.message).toBe('Your farm found block 880001 by bc1qxyz.gamma. Hash 00bb. Reward 3.12500000 BTC.')
  })

  it('incidents still open in the alert centre resume: no second fire, one recovery', () => {
    const { e, clock } = engine([rule({ id: 'off', type: 'device-offline', forMs: 5 * MIN })], {
      openIncidents: [
        { incidentId: 'old-1', ruleId: 'off', subject: { kind: 'device', id: 'rig-1' }, firedAtMs: T0 - HOUR },
      ],
    })
    expect(e.firing()).toEqual([
      { incidentId: 'old-1', ruleId: 'off', subject: { kind: 'device', id: 'rig-1' }, firedAtMs: T0 - HOUR },
    ])
    const events = replay(
      e,
      clock,
      polls('rig-1', T0, T0 + 20 * MIN, (t) => ({ reachable: t >= T0 + 12 * MIN })),
    )
    expect(timeline(events, T0)).toEqual([['recovered:device-offline', 'rig-1', 12]])
    expect(events[0]!.incidentId).toBe('old-1')
    expect(events[0]!.data.durationMs).toBe(HOUR + 12 * MIN)
  })
})

describe('alert engine: rate limits, scopes and editing', () => {
  it('limits notifications per device; suppressed fires keep their recoveries suppressed too', () => {
    const { e, clock } = engine([rule({ id: 'hot', type: 'temp-high', aboveC: 75, forMs: 0 })], {
      perSubjectLimit: { max: 3, windowMs: HOUR },
    })
    // A flapping sensor: hot on even minutes, cool on odd ones, for 20 minutes; then a calm hour; then hot again.
    const tempAt = (t: number) => {
      const m = Math.floor((t - T0) / MIN)
      if (m < 20) return m % 2 === 0 ? 80 : 70
      if (m >= 90) return 80
      return 70
    }
    const steps = every(MIN, T0, T0 + 91 * MIN, (t) => [
      poll('flappy', t, { maxTempC: tempAt(t) }),
      poll('calm', t, {}),
    ])
    const events = replay(e, clock, steps)
    const fired = events.filter((x) => x.phase === 'fired')
    expect(fired).toHaveLength(11) // every hot stretch is recorded in the app...
    const notified = events.filter((x) => !x.suppressed)
    expect(timeline(notified, T0)).toEqual([
      // ...but only 3 notifications per hour leave it, each with its recovery,
      ['fired:temp-high', 'flappy', 0],
      ['recovered:temp-high', 'flappy', 1],
      ['fired:temp-high', 'flappy', 2],
      ['recovered:temp-high', 'flappy', 3],
      ['fired:temp-high', 'flappy', 4],
      ['recovered:temp-high', 'flappy', 5],
      // ...and once the hour has passed, notifications flow again.
      ['fired:temp-high', 'flappy', 90],
    ])
    for (const f of fired) {
      const rec = events.find((x) => x.phase === 'recovered' && x.incidentId === f.incidentId)
      if (rec) expect(rec.suppressed).toBe(f.suppressed)
    }
  })

  it('a block found is never rate-limited', () => {
    const { e, clock } = engine([rule({ id: 'b', type: 'block-found' })], {
      perSubjectLimit: { max: 1, windowMs: HOUR },
    })
    const events = replay(
      e,
      clock,
      every(MIN, T0, T0 + 3 * MIN, (t, i) => [{ kind: 'block', tsMs: t, height: i, hash: `h${i}` }]),
    )
    expect(events.map((x) => x.suppressed)).toEqual([false, false, false])
  })

  it('device scope beats tag scope beats farm scope; a disabled device rule mutes one device', () => {
    const tags: Record<string, string[]> = { bitaxe: ['bitaxe'], s19: [], muted: ['bitaxe'] }
    const { e, clock } = engine(
      [
        rule({ id: 'farm-hot', type: 'temp-high', aboveC: 85, forMs: 0 }),
        rule({ id: 'bitaxe-hot', type: 'temp-high', aboveC: 70, forMs: 0, scope: { kind: 'tag', tag: 'bitaxe' } }),
        rule({
          id: 'mute',
          type: 'temp-high',
          aboveC: 1,
          forMs: 0,
          enabled: false,
          scope: { kind: 'device', deviceId: 'muted' },
        }),
      ],
      { tagsOf: (id) => tags[id] ?? [] },
    )
    const events = replay(e, clock, [
      { atMs: T0, observations: ['bitaxe', 's19', 'muted'].map((id) => poll(id, T0, { maxTempC: 75 })) },
      { atMs: T0 + MIN, observations: ['bitaxe', 's19', 'muted'].map((id) => poll(id, T0 + MIN, { maxTempC: 88 })) },
    ])
    expect(events.map((x) => [x.ruleId, x.subject.id, x.tsMs - T0])).toEqual([
      ['bitaxe-hot', 'bitaxe', 0],
      ['farm-hot', 's19', MIN],
    ])
  })

  it('turning a rule off closes its open incidents quietly (in-app only)', () => {
    const r = rule({ id: 'off', type: 'device-offline', forMs: 0 })
    const { e, clock } = engine([r])
    const fired = replay(e, clock, [{ atMs: T0, observations: [poll('rig-1', T0, { reachable: false })] }])
    expect(fired.map((x) => x.phase)).toEqual(['fired'])
    const closed = e.setRules([{ ...r, enabled: false }])
    expect(closed.map((x) => [x.phase, x.incidentId, x.suppressed])).toEqual([['closed', fired[0]!.incidentId, true]])
    expect(replay(e, clock, [{ atMs: T0 + MIN, observations: [poll('rig-1', T0 + MIN)] }])).toEqual([])
  })

  it('cleans hostile device names before they reach a message', () => {
    const { e, clock } = engine([rule({ id: 'off', type: 'device-offline', forMs: 0 })])
    const events = replay(e, clock, [
      { atMs: T0, observations: [poll('rig-1', T0, { reachable: false, name: 'evil\u001b[31m\nFAKE LINE\u202e' })] },
    ])
    expect(events[0]!.title).toBe('evil[31mFAKE LINE is offline')
  })

  it('the default rules are valid, on, farm-wide, and rejected edits name the bad field', () => {
    for (const r of DEFAULT_RULES) {
      expect(parseRule(r)).toEqual({ ok: true, value: r })
      expect(r.enabled).toBe(true)
    }
    const bad = parseRule({ ...DEFAULT_RULES[3], aboveC: 'hot' })
    expect(bad.ok === false && bad.error.message).toBe(
      'alert rule: aboveC: Invalid input: expected number, received string',
    )
    const tagOnBlock = parseRule({ ...DEFAULT_RULES[12], scope: { kind: 'tag', tag: 'x' } })
    expect(tagOnBlock.ok === false && tagOnBlock.error.message).toBe(
      'alert rule: scope: a tag scope applies to device rules only',
    )
    expect(parseRule({ id: 'x', type: 'nope', enabled: true, scope: farm, severity: 'info' }).ok).toBe(false)
  })
})
