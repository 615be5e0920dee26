import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/support/temp-dir'
import { memoryLogger } from '../logger'
import { openStore, type Store } from '../store/store'
import { findMatch, identityKeyOf } from './identity-match'
import { matchConnectedMiner } from './passive'
import { DEVICE_MIGRATIONS, DeviceRepo, MAX_DEVICE_TEXT, type Sighting } from './repo'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function open(dir?: string): { repo: DeviceRepo; store: Store; dir: string } {
  let d = dir
  if (!d) {
    const t = tempDir()
    cleanups.push(t.cleanup)
    d = t.dir
  }
  const store = openStore(d, memoryLogger(), DEVICE_MIGRATIONS)
  cleanups.push(() => store.close())
  return { repo: new DeviceRepo(store.db), store, dir: d }
}

const seen = (over: Partial<Sighting>): Sighting => ({
  ip: null,
  mac: null,
  serial: null,
  hostname: null,
  vendor: 'axeos',
  kind: 'axeos',
  model: 'Bitaxe Gamma',
  firmware: 'v2.12.2',
  httpPort: 80,
  rpcPort: null,
  v3Port: null,
  capabilities: null,
  source: 'scan',
  ...over,
})

describe('device identity', () => {
  it('keeps one record when the same MAC shows up at a new IP (DHCP change)', () => {
    const { repo } = open()
    const a = repo.upsertSighting(seen({ ip: '10.0.0.5', mac: 'AA:BB:CC:00:00:01' }))
    expect(a.created).toBe(true)
    repo.update(a.record.id, (d) => {
      d.name = 'rack1-01'
    })
    const b = repo.upsertSighting(seen({ ip: '10.0.0.77', mac: 'AA:BB:CC:00:00:01' }))
    expect(b.created).toBe(false)
    expect(b.matchedBy).toBe('mac')
    expect(b.record.id).toBe(a.record.id)
    expect(b.record.ip).toBe('10.0.0.77')
    expect(b.record.name).toBe('rack1-01')
    expect(repo.list()).toHaveLength(1)
    expect(repo.actions({ deviceId: a.record.id }).map((x) => x.action)).toContain('address-changed')
  })

  it('persists records and reloads them from the store', () => {
    const first = open()
    const a = first.repo.upsertSighting(seen({ ip: '10.0.0.5', mac: 'AA:BB:CC:00:00:01', serial: 'S1' }))
    first.repo.update(a.record.id, (d) => {
      d.tags = ['heater']
      d.location.rack = 'R1'
    })
    first.store.close()
    const again = open(first.dir)
    const r = again.repo.get(a.record.id)
    expect(r).toMatchObject({
      ip: '10.0.0.5',
      tags: ['heater'],
      location: { rack: 'R1' },
      identityKey: 'mac:AA:BB:CC:00:00:01',
    })
  })

  it('gives the IP to the new owner when another machine now holds it', () => {
    const { repo } = open()
    const a = repo.upsertSighting(seen({ ip: '10.0.0.5', mac: 'AA:BB:CC:00:00:01' }))
    const b = repo.upsertSighting(seen({ ip: '10.0.0.5', mac: 'AA:BB:CC:00:00:02' }))
    expect(b.created).toBe(true)
    expect(repo.get(a.record.id)?.ip).toBeNull()
    expect(repo.get(b.record.id)?.ip).toBe('10.0.0.5')
    expect(repo.actions({ deviceId: a.record.id })[0]?.action).toBe('address-lost')
  })

  it('merges a passive IP-only record into the device a scan finds at that IP', () => {
    const { repo } = open()
    const p = matchConnectedMiner(repo, { remoteIp: '::ffff:10.0.0.9', worker: 'bc1q.w9', userAgent: 'bitaxe/BM1370' })
    if (!p.matched) throw new Error('expected a match')
    expect(p.created).toBe(true)
    repo.update(p.deviceId, (d) => {
      d.tags = ['garage']
    })
    const known = repo.upsertSighting(seen({ ip: '10.0.0.50', mac: 'AA:BB:CC:00:00:09' }))
    // DHCP moved the known device to .9, where the pool saw it first.
    const s = repo.upsertSighting(seen({ ip: '10.0.0.9', mac: 'AA:BB:CC:00:00:09' }))
    expect(s.record.id).toBe(known.record.id)
    expect(s.merged).toEqual([p.deviceId])
    expect(repo.get(p.deviceId)).toBeUndefined()
    expect(repo.list()).toHaveLength(1)
    expect(repo.get(known.record.id)).toMatchObject({ worker: 'bc1q.w9', tags: ['garage'], userAgent: 'bitaxe/BM1370' })
    // Later connections match by IP.
    const again = matchConnectedMiner(repo, { remoteIp: '10.0.0.9', worker: 'bc1q.w9b' })
    expect(again).toEqual({ matched: true, deviceId: known.record.id, created: false })
    expect(matchConnectedMiner(repo, { remoteIp: 'fe80::1' })).toEqual({ matched: false, reason: 'not-ipv4' })
  })

  it('never merges two machines that share a factory-default hostname', () => {
    const { repo } = open()
    repo.upsertSighting(seen({ ip: '10.0.0.5', hostname: 'bitaxe' }))
    const b = repo.upsertSighting(seen({ ip: '10.0.0.6', hostname: 'Bitaxe' }))
    expect(b.created).toBe(true)
    // An owner-set hostname does identify the device across addresses when no MAC is known.
    const c = repo.upsertSighting(seen({ ip: '10.0.0.7', hostname: 'garage-heater' }))
    const d = repo.upsertSighting(seen({ ip: '10.0.0.8', hostname: 'garage-heater' }))
    expect(d.record.id).toBe(c.record.id)
    expect(d.matchedBy).toBe('hostname')
    expect(repo.list()).toHaveLength(3)
  })

  it('matches by serial, then refuses a serial match that a different MAC contradicts', () => {
    const recs = [
      { id: 'a', mac: null, serial: 'SN1', hostname: null, ip: '10.0.0.1', vendor: 'antminer' },
      { id: 'b', mac: 'AA:BB:CC:00:00:02', serial: 'SN2', hostname: null, ip: '10.0.0.2', vendor: 'antminer' },
    ]
    expect(
      findMatch(recs, { mac: null, serial: 'SN1', hostname: null, ip: '10.9.9.9', vendor: 'antminer' })?.record.id,
    ).toBe('a')
    expect(
      findMatch(recs, { mac: 'AA:BB:CC:00:00:03', serial: 'SN2', hostname: null, ip: '10.9.9.9', vendor: 'antminer' }),
    ).toBeUndefined()
    // Another vendor at the same IP is a different machine.
    expect(
      findMatch(recs, { mac: null, serial: null, hostname: null, ip: '10.0.0.1', vendor: 'axeos' }),
    ).toBeUndefined()
    expect(identityKeyOf({ mac: null, serial: null, hostname: 'Antminer', ip: '10.0.0.1', vendor: null })).toBe(
      'ip:10.0.0.1',
    )
  })

  it('stores hostile device text verbatim but capped', () => {
    const { repo } = open()
    const hostile = `<img src=x onerror=alert(1)>\u001b[31m\r\nFAKE LOG${'A'.repeat(10_000)}`
    const r = repo.upsertSighting(seen({ ip: '10.0.0.5', hostname: hostile, model: hostile }))
    expect(r.record.hostname).toBe(hostile.slice(0, MAX_DEVICE_TEXT))
    expect(r.record.model?.length).toBe(MAX_DEVICE_TEXT)
  })

  it('writes poll results in one deferred batch, and an owner edit in between keeps both', () => {
    const { repo, store, dir } = open()
    const a = repo.upsertSighting(seen({ ip: '10.0.0.5', mac: 'AA:BB:CC:00:00:09' })).record
    const status = {
      tsMs: 1,
      hashrates: [{ window: '1m' as const, ths: 1.2, source: 'test' }],
      hashrateThs: 1.2,
      expectedHashrateThs: null,
      boards: [],
      fansRpm: [],
      powerW: 15,
      uptimeS: 60,
      pools: [],
      accepted: 3,
      rejected: 0,
      errors: [],
      warnings: [],
    }
    repo.recordStatus(a.id, status, 1000)
    // In memory at once…
    expect(repo.get(a.id)).toMatchObject({ online: true, lastSeenMs: 1000, status: { powerW: 15 } })
    // …an owner edit before the flush writes the whole record, poll columns included…
    repo.update(a.id, (d) => {
      d.name = 'desk'
    })
    repo.recordFailure(a.id, 'timeout', true, 2000)
    repo.flush()
    store.close()
    cleanups.pop()
    // …and after a restart both the edit and the latest poll result are there.
    const again = open(dir).repo.get(a.id)
    expect(again).toMatchObject({ name: 'desk', online: false, offlineSinceMs: 2000, lastError: 'timeout' })
    expect(again?.status?.powerW).toBe(15)
    expect(again?.firstShare).toBeNull()
  })
})
