import { describe, expect, it } from 'vitest'
import { type PoolUrlErrorCode, parsePoolUrl } from './pool-url'

const ok = (input: string, opts?: { tls?: boolean }) => {
  const r = parsePoolUrl(input, opts)
  if (!r.ok) throw new Error(`${input}: ${r.error.message}`)
  return r.value
}
const code = (input: string): PoolUrlErrorCode | undefined => {
  const r = parsePoolUrl(input)
  return r.ok ? undefined : r.error.code
}

describe('parsePoolUrl', () => {
  it('normalises host:port and pasted stratum+tcp URLs to the same stored form', () => {
    for (const input of [
      'eu.stratum.braiins.com:3333',
      'stratum+tcp://eu.stratum.braiins.com:3333',
      '  stratum+tcp://EU.Stratum.Braiins.com:3333/  ',
      'STRATUM+TCP://eu.stratum.braiins.com:3333',
      'eu.stratum.braiins.com.:3333',
    ]) {
      expect(ok(input)).toEqual({
        host: 'eu.stratum.braiins.com',
        port: 3333,
        tls: false,
        hostPort: 'eu.stratum.braiins.com:3333',
        url: 'stratum+tcp://eu.stratum.braiins.com:3333',
      })
    }
  })

  it('recognises stratum+ssl and stratum+tls as TLS, and a TLS switch upgrades a bare host:port', () => {
    expect(ok('stratum+ssl://mine.ocean.xyz:3334')).toMatchObject({
      tls: true,
      url: 'stratum+ssl://mine.ocean.xyz:3334',
    })
    expect(ok('stratum+tls://mine.ocean.xyz:3334').tls).toBe(true)
    expect(ok('mine.ocean.xyz:3334', { tls: true }).tls).toBe(true)
    expect(ok('stratum+tcp://mine.ocean.xyz:3334', { tls: true }).tls).toBe(true)
    expect(ok('mine.ocean.xyz:3334').tls).toBe(false)
  })

  it('accepts IPv4 and bracketed IPv6 literals', () => {
    expect(ok('192.168.1.20:3333')).toMatchObject({ host: '192.168.1.20', hostPort: '192.168.1.20:3333' })
    expect(ok('stratum+tcp://[2001:db8::1]:3333')).toMatchObject({
      host: '2001:db8::1',
      port: 3333,
      hostPort: '[2001:db8::1]:3333',
    })
    expect(ok('[::1]:1')).toMatchObject({ host: '::1', port: 1 })
  })

  it('says precisely what is wrong', () => {
    const cases: Array<[string, PoolUrlErrorCode, RegExp]> = [
      ['', 'POOL_URL_EMPTY', /host:port/],
      ['   ', 'POOL_URL_EMPTY', /host:port/],
      ['pool.example.com', 'POOL_URL_MISSING_PORT', /no port/],
      ['stratum+tcp://pool.example.com', 'POOL_URL_MISSING_PORT', /no port/],
      ['pool.example.com:', 'POOL_URL_MISSING_PORT', /no port/],
      ['[2001:db8::1]', 'POOL_URL_MISSING_PORT', /no port/],
      ['pool.example.com:0', 'POOL_URL_BAD_PORT', /out of range/],
      ['pool.example.com:65536', 'POOL_URL_BAD_PORT', /out of range/],
      ['pool.example.com:33a3', 'POOL_URL_BAD_PORT', /not a number/],
      ['pool.example.com:-1', 'POOL_URL_BAD_PORT', /not a number/],
      ['pool.example.com:123456', 'POOL_URL_BAD_PORT', /not a number/],
      ['stratum2+tcp://pool.example.com:3336', 'POOL_URL_UNSUPPORTED_SCHEME', /Stratum V2/],
      ['http://pool.example.com:3333', 'POOL_URL_UNSUPPORTED_SCHEME', /"http:\/\/"/],
      ['stratum+tcp://pool.example.com:3333/path', 'POOL_URL_HAS_PATH', /no path/],
      ['user:pw@pool.example.com:3333', 'POOL_URL_HAS_CREDENTIALS', /user field/],
      ['pool example.com:3333', 'POOL_URL_BAD_CHARACTERS', /spaces/],
      ['pool.example.com:3333\u0000', 'POOL_URL_BAD_CHARACTERS', /control/],
      ['2001:db8::1:3333', 'POOL_URL_BAD_HOST', /brackets/],
      ['[2001:db8::1:3333', 'POOL_URL_BAD_HOST', /closing/],
      ['[not-v6]:3333', 'POOL_URL_BAD_HOST', /IPv6/],
      ['[::1]x3333', 'POOL_URL_BAD_HOST', /:port/],
      ['300.1.1.1:3333', 'POOL_URL_BAD_HOST', /IPv4/],
      ['-bad-.example.com:3333', 'POOL_URL_BAD_HOST', /host name/],
      ['a..b:3333', 'POOL_URL_BAD_HOST', /host name/],
      [':3333', 'POOL_URL_MISSING_HOST', /no host/],
      ['stratum+tcp://', 'POOL_URL_MISSING_HOST', /no host/],
    ]
    for (const [input, expected, message] of cases) {
      const r = parsePoolUrl(input)
      expect(r.ok, input).toBe(false)
      if (!r.ok) {
        expect(r.error.code, input).toBe(expected)
        expect(r.error.message, input).toMatch(message)
      }
    }
    expect(code(`${'x'.repeat(64)}.com:1`)).toBe('POOL_URL_BAD_HOST')
  })
})
