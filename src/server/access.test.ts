import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  hostAllowed,
  isLoopbackAddress,
  loadOrCreateToken,
  originAllowed,
  parseHostHeader,
  tokenFromRequest,
  tokenMatches,
} from './access'

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.5.6.7', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])('%s is loopback', (h) =>
    expect(isLoopbackAddress(h)).toBe(true),
  )
  it.each(['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1', 'localhost.evil.example'])(
    '%s is not loopback',
    (h) => expect(isLoopbackAddress(h)).toBe(false),
  )
})

describe('parseHostHeader', () => {
  it('parses names, IPv4 and bracketed IPv6 with ports', () => {
    expect(parseHostHeader('127.0.0.1:8080')).toEqual({ name: '127.0.0.1', port: 8080 })
    expect(parseHostHeader('[::1]:80')).toEqual({ name: '[::1]', port: 80 })
    expect(parseHostHeader('Farm-PC.local')).toEqual({ name: 'farm-pc.local' })
  })
  it.each([undefined, '', 'a b', 'x:99999', 'x:0', 'evil.example:80@127.0.0.1', 'a'.repeat(300)])('rejects %s', (h) =>
    expect(parseHostHeader(h)).toBeUndefined(),
  )
})

describe('hostAllowed (DNS rebinding guard)', () => {
  const loop = { bindHost: '127.0.0.1', allowedNames: [] }
  const wild = { bindHost: '0.0.0.0', allowedNames: ['farm-pc.local'] }
  it('accepts loopback names on a loopback bind', () => {
    expect(hostAllowed('127.0.0.1:8080', loop)).toBe(true)
    expect(hostAllowed('localhost:8080', loop)).toBe(true)
  })
  it('rejects a foreign name that resolved to us', () => {
    expect(hostAllowed('evil.example:8080', loop)).toBe(false)
    expect(hostAllowed('evil.example', wild)).toBe(false)
    expect(hostAllowed('localhost.evil.example', loop)).toBe(false)
  })
  it('accepts any of our IP literals on a wildcard bind, and allowed names', () => {
    expect(hostAllowed('192.168.1.20:8080', wild)).toBe(true)
    expect(hostAllowed('farm-pc.local:8080', wild)).toBe(true)
  })
  it('accepts only the bound IP on a specific bind', () => {
    const one = { bindHost: '192.168.1.20', allowedNames: [] }
    expect(hostAllowed('192.168.1.20:8080', one)).toBe(true)
    expect(hostAllowed('192.168.1.21:8080', one)).toBe(false)
  })
  it('rejects a missing Host header', () => expect(hostAllowed(undefined, loop)).toBe(false))
})

describe('originAllowed (cross-site WebSocket hijacking guard)', () => {
  it('allows no Origin (curl) and the same origin', () => {
    expect(originAllowed(undefined, '127.0.0.1:8080')).toBe(true)
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080')).toBe(true)
  })
  it.each(['http://evil.example', 'http://127.0.0.1:9999', 'null', 'file:///x', 'not a url', 'app://hashyard'])(
    'rejects %s',
    (o) => expect(originAllowed(o, '127.0.0.1:8080')).toBe(false),
  )
})

describe('access token', () => {
  it('is created once with mode 0600 and reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hy-token-'))
    const a = loadOrCreateToken(dir)
    expect(a.created).toBe(true)
    expect(a.token.length).toBeGreaterThanOrEqual(32)
    expect(statSync(a.file).mode & 0o777).toBe(0o600)
    const b = loadOrCreateToken(dir)
    expect(b).toMatchObject({ created: false, token: a.token })
  })
  it('is read from a Bearer header or the session cookie', () => {
    expect(tokenFromRequest({ authorization: 'Bearer abc' })).toBe('abc')
    expect(tokenFromRequest({ cookie: 'x=1; hashyard_token=t%2B1' })).toBe('t+1')
    expect(tokenFromRequest({})).toBeUndefined()
  })
  it('compares in constant time and rejects near misses', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true)
    expect(tokenMatches('abd', 'abc')).toBe(false)
    expect(tokenMatches('ab', 'abc')).toBe(false)
    expect(tokenMatches(undefined, 'abc')).toBe(false)
  })
})
