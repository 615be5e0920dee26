import { describe, expect, it } from 'vitest'
import {
  BRAIINS_POOL_RULES,
  GENERIC_RULES,
  parseTemplate,
  previewWorkerNames,
  renderTemplate,
  validateWorker,
} from './worker-names'

const device = {
  ip: '10.0.1.23',
  mac: '10:F5:12:33:BB:F0',
  hostname: 'bitaxe',
  serial: 'THQING0BDJAB024NF',
  rack: 'R1',
  slot: 7,
}

const render = (tpl: string, d = device) => {
  const t = parseTemplate(tpl)
  if (!t.ok) throw new Error(t.error.message)
  const r = renderTemplate(t.value, d)
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe('worker-name templates', () => {
  it('renders every variable', () => {
    expect(render('{ip_x}')).toBe('10x0x1x23')
    expect(render('{ip4}')).toBe('23')
    expect(render('{ip3}-{ip4}')).toBe('1-23')
    expect(render('{mac4}')).toBe('bbf0')
    expect(render('{mac}')).toBe('10f51233bbf0')
    expect(render('{hostname}')).toBe('bitaxe')
    expect(render('{rack}-{slot}')).toBe('R1-7')
    expect(render('{rack|lower}-{slot|pad2}')).toBe('r1-07')
    expect(render('{serial}')).toBe('THQING0BDJAB024NF')
    expect(render('site-a-{ip4|pad3}')).toBe('site-a-023')
  })

  it('reports a variable the device does not have', () => {
    const t = parseTemplate('{rack}-{slot}')
    if (!t.ok) throw new Error(t.error.message)
    const r = renderTemplate(t.value, { ip: '10.0.0.1' })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.message).toBe('This device has no rack')
  })

  it('rejects unknown variables, unknown filters and stray braces', () => {
    expect(parseTemplate('{nope}').ok).toBe(false)
    expect(parseTemplate('{ip4|shout}').ok).toBe(false)
    expect(parseTemplate('{ip4').ok).toBe(false)
    expect(parseTemplate('ip4}').ok).toBe(false)
  })
})

describe('worker-name validation', () => {
  it('forbids a dot inside the worker part and enforces the Braiins charset', () => {
    expect(validateWorker('acct', 'rack1.slot2', BRAIINS_POOL_RULES)).toContain(
      'The worker name contains a dot (it would split account and worker)',
    )
    expect(validateWorker('acct', 'rack1:slot2@a+b', BRAIINS_POOL_RULES)).toEqual([])
    expect(validateWorker('acct', 'rack 1', BRAIINS_POOL_RULES)).toEqual([
      'The worker name may only use letters, digits and - _ @ + :',
    ])
    expect(validateWorker('acct', 'rack:1', GENERIC_RULES)).toEqual([
      'The worker name may only use letters, digits, - and _',
    ])
  })

  it('applies per-firmware user length limits (Avalon 63, Whatsminer 127)', () => {
    const account = `bc1q${'a'.repeat(58)}`
    expect(validateWorker(account, 'w1', GENERIC_RULES, 'axeos')).toEqual([])
    expect(validateWorker(account, 'w1', GENERIC_RULES, 'avalon')).toEqual([
      'The full user is 65 characters; this firmware allows 63',
    ])
    expect(validateWorker('a'.repeat(120), 'worker99', GENERIC_RULES, 'whatsminer')).toHaveLength(1)
    expect(validateWorker('acct', 'w'.repeat(33), GENERIC_RULES)).toEqual([
      'The worker name is longer than 32 characters',
    ])
  })

  it('previews every device and flags duplicates on each copy', () => {
    const rows = previewWorkerNames(
      [
        { key: 'a', ip: '10.0.1.23', rack: 'R1', slot: 1 },
        { key: 'b', ip: '10.0.1.24', rack: 'R1', slot: 1 },
        { key: 'c', ip: '10.0.1.25', rack: 'R1', slot: 2 },
        { key: 'd', ip: '10.0.1.26' },
      ],
      '{rack}-{slot|pad2}',
      'acct',
    )
    if (!rows.ok) throw new Error(rows.error.message)
    expect(rows.value.map((r) => [r.key, r.user, r.duplicate])).toEqual([
      ['a', 'acct.R1-01', true],
      ['b', 'acct.R1-01', true],
      ['c', 'acct.R1-02', false],
      ['d', null, false],
    ])
    expect(rows.value[3]?.problems).toEqual(['This device has no rack'])
  })

  it('keeps a hostile hostname out of a worker name', () => {
    const rows = previewWorkerNames([{ key: 'x', hostname: 'miner.evil\u0000' }], '{hostname}', 'acct')
    if (!rows.ok) throw new Error(rows.error.message)
    expect(rows.value[0]?.problems).toContain('The worker name contains a dot (it would split account and worker)')
    const rows2 = previewWorkerNames([{ key: 'x', hostname: '<img src=x onerror=alert(1)>' }], '{hostname}', 'acct')
    if (!rows2.ok) throw new Error(rows2.error.message)
    expect(rows2.value[0]?.problems).toEqual(['The worker name may only use letters, digits, - and _'])
  })
})
