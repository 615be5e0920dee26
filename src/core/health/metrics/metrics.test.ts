import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { authorizeMetricsRequest } from './access'
import { escapeLabelValue, METRICS_CONTENT_TYPE, renderExposition } from './exposition'
import { type FarmSnapshot, farmMetrics, renderFarmMetrics } from './farm-metrics'
import { type ParsedFamily, parsePrometheusText } from './testing/prom-text-parser'

const snapshot: FarmSnapshot = {
  version: '0.1.0',
  devices: [
    {
      id: 'AA:BB:CC:00:00:01',
      name: 'rack "A"\\slot 1\nevil',
      model: 'Antminer S19j Pro',
      vendor: 'antminer',
      firmware: '2023.1',
      up: true,
      hashrateThs: 104.5,
      shareHashrateThs: 101.25,
      tempMaxC: 78.5,
      fansRpm: [5880, 5760, 6000, 5940],
      powerW: 3050,
      uptimeS: 86_400,
      difficulty: 65_536,
      sharesAccepted: 1200,
      sharesRejected: { duplicate: 2, 'low-difficulty': 5 },
      sharesStale: 3,
      difficultyAccepted: 78_643_200,
      bestShareDifficulty: 12_345_678_901,
    },
    { id: 'bitaxe-2', name: 'bitaxe', up: false, hashrateThs: null, fansRpm: [] },
  ],
  pools: [
    {
      id: 'solo',
      name: 'Local solo pool',
      hashrateThs: 105.5,
      workers: 2,
      sharesAccepted: 1210,
      sharesRejected: { stale: 0, duplicate: 2 },
      sharesStale: 3,
      difficultyAccepted: 79_000_000,
      blocksFound: 0,
      bestShareDifficulty: 12_345_678_901,
      networkDifficulty: 1.1e14,
      blockHeight: 880_000,
    },
  ],
  upstreams: [
    { id: 'ocean', name: 'OCEAN', up: true, active: true, sharesAccepted: 50, sharesRejected: 1 },
    { id: 'backup', up: false, active: false, sharesAccepted: 0, sharesRejected: 0 },
  ],
  alertsOpen: { info: 0, warning: 1, critical: 0 },
}

function parsed(): Map<string, ParsedFamily> {
  const text = renderFarmMetrics(snapshot)
  if (!text.ok) throw new Error(text.error.message)
  return parsePrometheusText(text.value)
}

const value = (fams: Map<string, ParsedFamily>, name: string, labels: Record<string, string>) =>
  fams.get(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

describe('/metrics exposition', () => {
  it('parses as Prometheus text format with one family per name, HELP and TYPE first', () => {
    const fams = parsed()
    for (const f of fams.values()) {
      expect(f.help, f.name).toBeTruthy()
      expect(['gauge', 'counter']).toContain(f.type)
      if (f.type === 'counter') expect(f.name.endsWith('_total'), f.name).toBe(true)
    }
    expect(METRICS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8')
  })

  it('carries the expected per-device series', () => {
    const f = parsed()
    const dev = { device: 'AA:BB:CC:00:00:01' }
    expect(value(f, 'hashyard_device_up', dev)).toBe(1)
    expect(value(f, 'hashyard_device_up', { device: 'bitaxe-2' })).toBe(0)
    expect(value(f, 'hashyard_device_hashrate_hashes_per_second', { ...dev, source: 'reported' })).toBe(104.5e12)
    expect(value(f, 'hashyard_device_hashrate_hashes_per_second', { ...dev, source: 'shares' })).toBe(101.25e12)
    expect(value(f, 'hashyard_device_temperature_max_celsius', dev)).toBe(78.5)
    expect(f.get('hashyard_device_fan_rpm')?.samples.map((s) => [s.labels.fan, s.value])).toEqual([
      ['0', 5880],
      ['1', 5760],
      ['2', 6000],
      ['3', 5940],
    ])
    expect(value(f, 'hashyard_device_power_watts', dev)).toBe(3050)
    expect(value(f, 'hashyard_device_shares_accepted_total', dev)).toBe(1200)
    expect(value(f, 'hashyard_device_shares_rejected_total', { ...dev, reason: 'low-difficulty' })).toBe(5)
    expect(value(f, 'hashyard_device_shares_stale_total', dev)).toBe(3)
    expect(value(f, 'hashyard_device_difficulty_accepted_total', dev)).toBe(78_643_200)
    expect(value(f, 'hashyard_device_best_share_difficulty', dev)).toBe(12_345_678_901)
    // A device with no reading has no sample rather than a fake zero.
    expect(value(f, 'hashyard_device_hashrate_hashes_per_second', { device: 'bitaxe-2' })).toBeUndefined()
  })

  it('carries per-pool and per-upstream series', () => {
    const f = parsed()
    expect(value(f, 'hashyard_pool_hashrate_hashes_per_second', { pool: 'solo' })).toBe(105.5e12)
    expect(value(f, 'hashyard_pool_workers', { pool: 'solo' })).toBe(2)
    expect(value(f, 'hashyard_pool_blocks_found_total', { pool: 'solo' })).toBe(0)
    expect(value(f, 'hashyard_pool_network_difficulty', { pool: 'solo' })).toBe(1.1e14)
    expect(value(f, 'hashyard_upstream_active', { upstream: 'ocean' })).toBe(1)
    expect(value(f, 'hashyard_upstream_up', { upstream: 'backup' })).toBe(0)
    expect(value(f, 'hashyard_alerts_open', { severity: 'warning' })).toBe(1)
    expect(value(f, 'hashyard_build_info', { version: '0.1.0' })).toBe(1)
  })

  it('escapes backslash, quote and newline in label values, and the parser restores them', () => {
    const text = renderFarmMetrics(snapshot)
    if (!text.ok) throw new Error(text.error.message)
    expect(text.value).toContain('name="rack \\"A\\"\\\\slot 1\\nevil"')
    expect(value(parsed(), 'hashyard_device_info', { device: 'AA:BB:CC:00:00:01' })).toBe(1)
    expect(parsed().get('hashyard_device_info')?.samples[0]?.labels.name).toBe('rack "A"\\slot 1\nevil')
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd')
  })

  it('merges families given twice, keeps one line per series, formats special values, refuses bad names', () => {
    const r = renderExposition([
      { name: 'x_total', help: 'first\nline \\ two', type: 'counter', samples: [{ labels: { a: '1' }, value: 1 }] },
      {
        name: 'x_total',
        help: 'ignored',
        type: 'counter',
        samples: [
          { labels: { a: '1' }, value: 9 },
          { labels: { a: '2' }, value: Number.POSITIVE_INFINITY },
        ],
      },
      {
        name: 'y',
        help: 'y',
        type: 'gauge',
        samples: [{ value: Number.NaN }, { labels: { b: 'z' }, value: Number.NEGATIVE_INFINITY }],
      },
    ])
    expect(r).toEqual({
      ok: true,
      value: [
        '# HELP x_total first\\nline \\\\ two',
        '# TYPE x_total counter',
        'x_total{a="1"} 1',
        'x_total{a="2"} +Inf',
        '# HELP y y',
        '# TYPE y gauge',
        'y NaN',
        'y{b="z"} -Inf',
        '',
      ].join('\n'),
    })
    if (r.ok) expect(parsePrometheusText(r.value).get('x_total')?.help).toBe('first\nline \\ two')
    expect(renderExposition([{ name: '1bad', help: '', type: 'gauge', samples: [] }]).ok).toBe(false)
    expect(
      renderExposition([{ name: 'ok', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }])
        .ok,
    ).toBe(false)
    expect(
      renderExposition([
        { name: 'm', help: '', type: 'gauge', samples: [] },
        { name: 'm', help: '', type: 'counter', samples: [] },
      ]).ok,
    ).toBe(false)
  })

  it('the test parser itself rejects what Prometheus rejects', () => {
    const bad = [
      'x 1', // no trailing newline
      '# TYPE x gauge\nx 1\n# TYPE x gauge\n',
      '# TYPE x gauge\nx 1\ny 2\nx 3\n',
      'x{a="1"} 1\nx{a="1"} 2\n',
      'x{a="\\q"} 1\n',
      'x{a="1} 1\n',
      'x one\n',
      '# TYPE x kind\n',
      'x 1\n# TYPE x gauge\n',
      '9x 1\n',
    ]
    for (const text of bad) expect(() => parsePrometheusText(text), JSON.stringify(text)).toThrow()
    expect(parsePrometheusText('# comment\nx{a="1",b="2"} 1.5e3 1700000000000\n').get('x')?.samples[0]).toEqual({
      name: 'x',
      labels: { a: '1', b: '2' },
      value: 1500,
      timestampMs: 1_700_000_000_000,
    })
  })
})

describe('/metrics access', () => {
  const cfg = { enabled: true, token: 's3cret-token' }
  it('is off unless enabled, open on loopback, and needs the bearer token from anywhere else', () => {
    expect(
      authorizeMetricsRequest({ remoteAddress: '127.0.0.1', authorization: undefined }, { enabled: false }),
    ).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    })
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(authorizeMetricsRequest({ remoteAddress: a, authorization: undefined }, cfg).ok).toBe(true)
    }
    const lan = '192.0.2.10'
    expect(authorizeMetricsRequest({ remoteAddress: lan, authorization: 'Bearer s3cret-token' }, cfg).ok).toBe(true)
    expect(authorizeMetricsRequest({ remoteAddress: lan, authorization: 'Bearer wrong' }, cfg)).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    })
    expect(authorizeMetricsRequest({ remoteAddress: lan, authorization: undefined }, cfg)).toMatchObject({
      error: { code: 'UNAUTHORIZED' },
    })
    expect(authorizeMetricsRequest({ remoteAddress: lan, authorization: 'Bearer x' }, { enabled: true })).toMatchObject(
      {
        error: { code: 'FORBIDDEN' },
      },
    )
  })
})

describe('Grafana dashboard', () => {
  const dash = JSON.parse(
    readFileSync(new URL('../../../../resources/grafana-dashboard.json', import.meta.url), 'utf8'),
  ) as {
    uid: string
    panels: Array<{ id: number; title: string; targets: Array<{ expr: string }> }>
    templating: { list: Array<{ definition: string }> }
  }

  it('queries only metrics Hashyard exports', () => {
    const exported = new Set(farmMetrics(snapshot).map((f) => f.name))
    const exprs = [
      ...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dash.templating.list.map((v) => v.definition),
    ]
    const used = new Set(exprs.flatMap((e) => e.match(/hashyard_[a-z_]+/g) ?? []))
    expect(used.size).toBeGreaterThan(15)
    for (const name of used) expect(exported.has(name), name).toBe(true)
  })

  it('has unique panel ids and a stable uid', () => {
    expect(dash.uid).toBe('hashyard-farm')
    const ids = dash.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })
})
