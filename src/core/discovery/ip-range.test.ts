import { describe, expect, it } from 'vitest'
import { ipToInt, parseTargets } from './ip-range'

const parse = (s: string, max?: number) => {
  const r = parseTargets(s, max)
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe('scan targets', () => {
  it('expands a /24 to its 254 hosts and a /30 to two', () => {
    const a = parse('10.0.1.0/24')
    expect(a).toHaveLength(254)
    expect(a[0]).toBe('10.0.1.1')
    expect(a.at(-1)).toBe('10.0.1.254')
    expect(parse('192.168.1.8/30')).toEqual(['192.168.1.9', '192.168.1.10'])
    expect(parse('192.168.1.7/32')).toEqual(['192.168.1.7'])
    // A host address with a prefix means its network.
    expect(parse('10.0.1.77/24')[0]).toBe('10.0.1.1')
  })

  it('expands octet ranges and wildcards (10.0.1-3.*)', () => {
    const a = parse('10.0.1-3.*')
    expect(a).toHaveLength(3 * 254)
    expect(a[0]).toBe('10.0.1.1')
    expect(a[254]).toBe('10.0.2.1')
    expect(parse('10.0.0.10-12')).toEqual(['10.0.0.10', '10.0.0.11', '10.0.0.12'])
  })

  it('expands start-end ranges, including an en dash', () => {
    expect(parse('10.0.0.254-10.0.1.1')).toEqual(['10.0.0.254', '10.0.0.255', '10.0.1.0', '10.0.1.1'])
    expect(parse('10.0.0.5–10.0.0.6')).toEqual(['10.0.0.5', '10.0.0.6'])
  })

  it('takes a pasted mixed list, deduplicated in input order', () => {
    expect(parse('10.0.0.3, 10.0.0.1\n"10.0.0.2";10.0.0.1-10.0.0.3  10.0.0.9')).toEqual([
      '10.0.0.3',
      '10.0.0.1',
      '10.0.0.2',
      '10.0.0.9',
    ])
  })

  it('rejects bad input with an error naming the token', () => {
    for (const [input, fragment] of [
      ['10.0.0.256', 'above 255'],
      ['10.0.0', 'four octets'],
      ['10.0.0.5-10.0.0.1', 'before the start'],
      ['10.0.0.9-3', 'backwards'],
      ['10.0.0.0/33', 'longer than 32'],
      ['fe80::1/64', 'IPv6'],
      ['hello', 'four octets'],
      ['10.0.0.a', 'not a number'],
      ['', 'No addresses'],
    ] as const) {
      const r = parseTargets(input)
      expect(r.ok, input).toBe(false)
      if (!r.ok) expect(r.error.message).toContain(fragment)
    }
  })

  it('refuses ranges above the bound before expanding them', () => {
    const r = parseTargets('10.0.0.0/8')
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error.code).toBe('INVALID_PARAMS')
      expect(r.error.message).toContain('Too many addresses')
    }
    expect(parseTargets('10.0.0.0/22', 1000).ok).toBe(false)
    expect(parse('10.0.0.0/22', 1022)).toHaveLength(1022)
    expect(parseTargets('*.*.*.*').ok).toBe(false)
  })

  it('reads addresses strictly', () => {
    expect(ipToInt('0.0.0.0')).toBe(0)
    expect(ipToInt('255.255.255.255')).toBe(2 ** 32 - 1)
    expect(ipToInt('010.0.0.1')).toBeUndefined()
  })
})
