import { describe, expect, it } from 'vitest'
import { parseNvsCsv } from './nvs/csv'
import type { NvsEntry } from './nvs/format'
import { readNvs } from './nvs/reader'
import { nvsFixture } from './nvs/testing/fixtures'
import { SecretRedactor } from './redact'
import { secretsIn, summariseSettings } from './settings-summary'

const fromBin = (name: string): NvsEntry[] => {
  const r = readNvs(nvsFixture(name))
  if (!r.ok) throw new Error(r.error.message)
  return r.value.entries
}

describe('summariseSettings', () => {
  it('reads a ≤2.14 image: Wi-Fi, both legacy pools, ASIC, frequency, voltage, board', () => {
    const s = summariseSettings(fromBin('bitaxe-legacy.bin'))
    expect(s).toEqual({
      layout: 'legacy',
      hostname: 'bitaxe-rack2-07',
      wifi: { ssid: 'FarmNet 2.4', hasPassword: true },
      pools: [
        {
          role: 'primary',
          url: '192.168.1.20',
          port: 3333,
          user: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rack2-07',
          hasPassword: true,
        },
        {
          role: 'fallback',
          url: 'public-pool.io',
          port: 21496,
          user: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rack2-07',
          hasPassword: true,
        },
      ],
      asicModel: 'BM1366',
      deviceModel: 'ultra',
      frequencyMhz: 525,
      coreVoltageMv: 1150,
      boardVersion: '204',
      keys: expect.arrayContaining(['wifipass', 'stratumpass', 'asicmodel']),
      warnings: [],
    })
    expect(JSON.stringify(s)).not.toContain('correct horse battery')
  })

  it('reads a ≥2.15 image: pool slots with their roles from prim_idx/sec_idx', () => {
    const s = summariseSettings(fromBin('bitaxe-pools-v2.15.bin'))
    expect(s.layout).toBe('pool-slots')
    expect(s.wifi).toEqual({ ssid: 'Home', hasPassword: true })
    expect(s.pools).toEqual([
      {
        role: 'primary',
        slot: 1,
        url: '192.168.1.20',
        port: 3333,
        user: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.home',
        hasPassword: true,
      },
    ])
    expect(JSON.stringify(s)).not.toContain('hunter22')
  })

  it('warns about a slot that is not JSON instead of failing', () => {
    const csv = parseNvsCsv('key,type,encoding,value\nmain,namespace,,\npool_1,data,string,oops\nprim_idx,data,u16,0\n')
    if (!csv.ok) throw new Error(csv.error.message)
    const s = summariseSettings(csv.value)
    expect(s.pools).toEqual([])
    expect(s.warnings).toEqual(['pool_1 is not a JSON object; not shown'])
    expect(s.wifi).toEqual({ hasPassword: false })
  })
})

describe('secretsIn and SecretRedactor', () => {
  it('finds the Wi-Fi and pool passwords of both layouts', () => {
    expect(secretsIn(fromBin('bitaxe-legacy.bin'))).toEqual(['correct horse battery', 'x', 'x'])
    expect(secretsIn(fromBin('bitaxe-pools-v2.15.bin'))).toEqual(['hunter22', 'x'])
  })

  it('masks secrets of 4+ characters, longest first, and leaves short ones alone', () => {
    const r = new SecretRedactor()
    r.add('hunter22', 'x', 'hunter22-extended', undefined)
    expect(r.redact('pass=hunter22-extended or hunter22, x marks')).toBe('pass=*** or ***, x marks')
  })
})
