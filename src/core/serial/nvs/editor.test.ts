import { describe, expect, it } from 'vitest'
import { serialReasonOf } from '../serial-error'
import { parseNvsCsv } from './csv'
import { applySettingsChange, type SettingsChange } from './editor'
import type { NvsEntry } from './format'
import { readNvs } from './reader'
import { nvsFixture } from './testing/fixtures'
import { writeNvs } from './writer'

const entriesOf = (image: Uint8Array): NvsEntry[] => {
  const r = readNvs(image)
  if (!r.ok) throw new Error(r.error.message)
  return r.value.entries
}
const byKey = (entries: NvsEntry[]) => new Map(entries.map((e) => [`${e.namespace}/${e.key}`, e]))

const pool = { url: '10.0.0.2', port: 3333, user: 'bc1qexample.bench-01', password: 'x' }
const fallback = { url: 'solo.example.org', port: 4333, user: 'bc1qexample.bench-01', password: 'p@ss' }

function edit(name: string, change: SettingsChange) {
  const before = nvsFixture(name)
  const r = applySettingsChange(before, change)
  if (!r.ok) throw new Error(r.error.message)
  return { before: entriesOf(before), after: entriesOf(r.value.image), result: r.value }
}

/** Every key that differs between two entry lists, added or removed included. */
function changedKeys(a: NvsEntry[], b: NvsEntry[]): string[] {
  const ma = byKey(a)
  const mb = byKey(b)
  const keys = new Set([...ma.keys(), ...mb.keys()])
  return [...keys].filter((k) => JSON.stringify(ma.get(k)) !== JSON.stringify(mb.get(k))).sort()
}

describe('applySettingsChange on a ≤2.14 (legacy keys) image', () => {
  it('changes only Wi-Fi and the stratum keys and keeps ASIC, voltage, board and hostname', () => {
    const { before, after, result } = edit('bitaxe-legacy.bin', {
      wifi: { ssid: 'Bench', password: 'bench-secret' },
      primaryPool: pool,
      fallbackPool: fallback,
    })
    expect(result.layout).toBe('legacy')
    expect(changedKeys(before, after)).toEqual(
      [
        // stratumport (3333) and stratumpass ("x") were written with their current values
        'fbstratumpass',
        'fbstratumport',
        'fbstratumurl',
        'fbstratumuser',
        'stratumurl',
        'stratumuser',
        'wifipass',
        'wifissid',
      ].map((k) => `main/${k}`),
    )
    const m = byKey(after)
    expect(m.get('main/stratumport')).toEqual({ namespace: 'main', key: 'stratumport', type: 'u16', value: 3333 })
    expect(m.get('main/wifipass')?.value).toBe('bench-secret')
    for (const k of ['asicfrequency', 'asicvoltage', 'asicmodel', 'devicemodel', 'boardversion', 'hostname']) {
      expect(m.get(`main/${k}`)).toEqual(byKey(before).get(`main/${k}`))
    }
    expect(after.map((e) => e.key)).toEqual(before.map((e) => e.key))
  })

  it('produces the image the generator would make from the edited CSV', () => {
    const csv = parseNvsCsv(nvsFixture('bitaxe-legacy.csv').toString('utf8'))
    if (!csv.ok) throw new Error(csv.error.message)
    const edited = csv.value.map((e): NvsEntry => {
      if (e.key === 'wifissid') return { ...e, type: 'string', value: 'Bench' }
      if (e.key === 'stratumurl') return { ...e, type: 'string', value: pool.url }
      if (e.key === 'stratumuser') return { ...e, type: 'string', value: pool.user }
      return e
    })
    const expected = writeNvs(edited, 0x6000)
    const r = applySettingsChange(nvsFixture('bitaxe-legacy.bin'), {
      wifi: { ssid: 'Bench', password: 'correct horse battery' },
      primaryPool: pool,
    })
    expect(r.ok && expected.ok && r.value.image.equals(expected.value)).toBe(true)
  })

  it('reports the keys it wrote without their values', () => {
    const { result } = edit('bitaxe-legacy.bin', {
      wifi: { ssid: 'Bench', password: 'bench-secret' },
      primaryPool: pool,
    })
    expect(result.changedKeys).toEqual([
      'wifissid',
      'wifipass',
      'stratumurl',
      'stratumport',
      'stratumuser',
      'stratumpass',
    ])
    expect(JSON.stringify(result.changedKeys)).not.toContain('bench-secret')
  })
})

describe('applySettingsChange on a ≥2.15 (pool slots) image', () => {
  it('rewrites the primary slot named by prim_idx and keeps the rest of its JSON', () => {
    const base = nvsFixture('bitaxe-pools-v2.15.bin')
    const withExtra = entriesOf(base).map((e) =>
      e.key === 'pool_1' && e.type === 'string'
        ? { ...e, value: JSON.stringify({ ...JSON.parse(e.value), tls: 1 }) }
        : e,
    )
    const image = writeNvs(withExtra, 0x6000)
    if (!image.ok) throw new Error(image.error.message)
    const r = applySettingsChange(image.value, { primaryPool: pool })
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.layout).toBe('pool-slots')
    const after = entriesOf(r.value.image)
    expect(changedKeys(withExtra, after)).toEqual(['main/pool_1'])
    const slot = after.find((e) => e.key === 'pool_1')
    expect(JSON.parse(String(slot?.value))).toEqual({ url: pool.url, port: 3333, user: pool.user, pass: 'x', tls: 1 })
    expect(after.some((e) => e.key.startsWith('stratum'))).toBe(false)
  })

  it('creates the fallback slot named by sec_idx when it does not exist yet', () => {
    const { before, after } = edit('bitaxe-pools-v2.15.bin', {
      wifi: { ssid: 'Bench', password: '' },
      fallbackPool: fallback,
    })
    expect(changedKeys(before, after)).toEqual(['main/pool_2', 'main/wifipass', 'main/wifissid'])
    expect(JSON.parse(String(after.find((e) => e.key === 'pool_2')?.value))).toEqual({
      url: fallback.url,
      port: fallback.port,
      user: fallback.user,
      pass: fallback.password,
    })
  })

  it('refuses to overwrite a slot that is not JSON', () => {
    const broken = entriesOf(nvsFixture('bitaxe-pools-v2.15.bin')).map((e) =>
      e.key === 'pool_1' ? ({ ...e, type: 'string', value: 'not json' } as NvsEntry) : e,
    )
    const image = writeNvs(broken, 0x6000)
    if (!image.ok) throw new Error(image.error.message)
    const r = applySettingsChange(image.value, { primaryPool: pool })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('NVS_LAYOUT')
  })
})

describe('applySettingsChange edge cases', () => {
  it('writes legacy keys into an image that has no pool keys at all', () => {
    const image = writeNvs([{ namespace: 'main', key: 'asicmodel', type: 'string', value: 'BM1370' }], 0x6000)
    if (!image.ok) throw new Error(image.error.message)
    const r = applySettingsChange(image.value, { primaryPool: pool })
    if (!r.ok) throw new Error(r.error.message)
    expect(entriesOf(r.value.image).map((e) => e.key)).toEqual([
      'asicmodel',
      'stratumurl',
      'stratumport',
      'stratumuser',
      'stratumpass',
    ])
  })

  it.each([
    ['an empty change', {}],
    ['a pool host with a scheme', { primaryPool: { ...pool, url: 'stratum+tcp://10.0.0.2' } }],
    ['a pool host with a port', { primaryPool: { ...pool, url: '10.0.0.2:3333' } }],
    ['port 0', { primaryPool: { ...pool, port: 0 } }],
    ['an empty worker', { fallbackPool: { ...fallback, user: '' } }],
    ['a 33-byte SSID', { wifi: { ssid: 'x'.repeat(33), password: '' } }],
    ['a 64-byte Wi-Fi password', { wifi: { ssid: 'ok', password: 'p'.repeat(64) } }],
  ] as [string, SettingsChange][])('refuses %s', (_name, change) => {
    const r = applySettingsChange(nvsFixture('bitaxe-legacy.bin'), change)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('BAD_ARGUMENT')
  })

  it('keeps the stored Wi-Fi and pool passwords when none is given', () => {
    const { before, after, result } = edit('bitaxe-legacy.bin', {
      wifi: { ssid: 'Bench' },
      primaryPool: { url: '10.0.0.2', port: 3333, user: 'bc1qexample.bench-01' },
    })
    expect(result.changedKeys).toEqual(['wifissid', 'stratumurl', 'stratumport', 'stratumuser'])
    expect(changedKeys(before, after)).toEqual(['main/stratumurl', 'main/stratumuser', 'main/wifissid'])
    expect(after.find((e) => e.key === 'wifipass')?.value).toBe('correct horse battery')
  })

  it('keeps the pass field of a pool slot when no password is given', () => {
    const { after } = edit('bitaxe-pools-v2.15.bin', {
      primaryPool: { url: '10.0.0.9', port: 3334, user: 'bc1qexample.bench-02' },
    })
    expect(JSON.parse(String(after.find((e) => e.key === 'pool_1')?.value))).toEqual({
      url: '10.0.0.9',
      port: 3334,
      user: 'bc1qexample.bench-02',
      pass: 'x',
    })
  })

  it('refuses an image that is not NVS', () => {
    const r = applySettingsChange(Buffer.alloc(0x6000, 0x5a), { primaryPool: pool })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('NVS_BAD_IMAGE')
  })
})
