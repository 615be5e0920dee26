import { afterEach, describe, expect, it } from 'vitest'
import { type HttpSim, startHttpSim } from '../../../test/support/sim-devices/http-sim'
import { reasonOf } from './device-error'
import { DigestSession } from './http-client'
import { digestAuthorization, digestResponse, parseDigestChallenge } from './http-digest'

describe('HTTP Digest: RFC vectors', () => {
  it('matches the RFC 2617 §3.5 example (MD5, qop=auth)', () => {
    const challenge = parseDigestChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    )
    if (!challenge) throw new Error('challenge not parsed')
    expect(challenge).toMatchObject({ realm: 'testrealm@host.com', qop: ['auth', 'auth-int'], algorithm: 'MD5' })
    const r = digestResponse({
      challenge,
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle Of Life',
      cnonce: '0a4f113b',
      nc: 1,
    })
    expect(r).toEqual({ response: '6629fae49393a05397450978507c4ef1', qop: 'auth', ncText: '00000001' })
  })

  it('matches the RFC 7616 §3.9.1 examples (MD5 and SHA-256)', () => {
    const base = {
      method: 'GET',
      uri: '/dir/index.html',
      username: 'Mufasa',
      password: 'Circle of Life',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      nc: 1,
    }
    const header = (algo: string) =>
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algo}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
    const md5 = parseDigestChallenge(header('MD5'))
    const sha = parseDigestChallenge(header('SHA-256'))
    if (!md5 || !sha) throw new Error('challenge not parsed')
    expect(digestResponse({ ...base, challenge: md5 }).response).toBe('8ca523f5e9506fed4657c9700eebdbec')
    expect(digestResponse({ ...base, challenge: sha }).response).toBe(
      '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
    )
    const auth = digestAuthorization({ ...base, challenge: md5 })
    expect(auth).toContain('qop=auth, nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"')
    expect(auth).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
  })

  it('ignores non-Digest and malformed challenges', () => {
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined()
    expect(parseDigestChallenge('Digest realm="x"')).toBeUndefined()
    expect(parseDigestChallenge('Digest realm="x", nonce="n", algorithm=ROT13')).toBeUndefined()
    expect(parseDigestChallenge(undefined)).toBeUndefined()
    expect(parseDigestChallenge(['Basic realm="a"', 'Digest realm="antMiner Configuration", nonce="abc"'])?.realm).toBe(
      'antMiner Configuration',
    )
  })
})

describe('HTTP Digest: against a server that verifies it', () => {
  let sim: HttpSim | undefined
  afterEach(async () => {
    await sim?.close()
    sim = undefined
  })

  it('authenticates, reuses the nonce with an increasing nc, and reports a wrong password clearly', async () => {
    sim = await startHttpSim(() => ({ body: '{"ok":true}' }), {
      realm: 'antMiner Configuration',
      username: 'root',
      password: 'root',
    })
    const good = new DigestSession({ username: 'root', password: 'root' })
    const a = await good.request({
      host: '127.0.0.1',
      port: sim.port,
      method: 'GET',
      path: '/cgi-bin/get_system_info.cgi',
    })
    if (!a.ok) throw new Error(a.error.message)
    expect(a.value.status).toBe(200)
    const b = await good.request({
      host: '127.0.0.1',
      port: sim.port,
      method: 'POST',
      path: '/cgi-bin/blink.cgi',
      body: '{}',
    })
    if (!b.ok) throw new Error(b.error.message)
    expect(b.value.status).toBe(200)
    expect(b.value.body).toBe('{"ok":true}')
    expect(sim.requests.map((r) => r.path)).toEqual(['/cgi-bin/get_system_info.cgi', '/cgi-bin/blink.cgi'])
    expect(sim.requests[1]?.headers.authorization).toContain('nc=00000002')

    const bad = new DigestSession({ username: 'root', password: 'wrong' })
    const c = await bad.request({
      host: '127.0.0.1',
      port: sim.port,
      method: 'GET',
      path: '/cgi-bin/get_system_info.cgi',
    })
    expect(c.ok).toBe(false)
    if (!c.ok) {
      expect(reasonOf(c.error)).toBe('AUTH_FAILED')
      expect(c.error.code).toBe('UNAUTHORIZED')
      expect(c.error.message).toBe('Wrong username or password for the device web interface')
      expect(c.error.message).not.toContain('wrong"')
    }
    expect(sim.requests).toHaveLength(2)
  })
})
