import { describe, expect, it } from 'vitest'
import { applyPatch, defaultPoolConfig } from './pool-config'

const base = defaultPoolConfig()

function refusal(patch: Parameters<typeof applyPatch>[1], hasPassword = false): string {
  const r = applyPatch(base, patch, hasPassword)
  if (r.ok) throw new Error('expected a refusal')
  return r.error.message
}

describe('pool settings validation', () => {
  it('has the documented defaults: off, port 3333, TLS off on 4333 (the proxy has 3334), extranonce2 4, 30 s refresh', () => {
    expect(base).toMatchObject({
      enabled: false,
      network: 'mainnet',
      payoutAddress: null,
      host: '0.0.0.0',
      port: 3333,
      tls: { enabled: false, port: 4333 },
      extranonce2Size: 4,
      allowMinerPayout: false,
      templateRefreshS: 30,
      vardiff: { targetShareIntervalS: 7.5, startDifficulty: 1024 },
    })
  })

  it('names the mistake in a payout address', () => {
    expect(refusal({ payoutAddress: 'lnbc10u1pwjqwkkpp5…' })).toMatch(/Lightning/)
    expect(refusal({ payoutAddress: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5' })).toMatch(/typo|checksum/i)
    expect(refusal({ payoutAddress: 'tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx' })).toMatch(
      /testnet, testnet4 or signet address, but the pool runs on mainnet/,
    )
    const ok = applyPatch(base, { payoutAddress: '  bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 ' }, false)
    expect(ok.ok && ok.value.config.payoutAddress).toBe('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4')
  })

  it('checks the node address and the user/password pair', () => {
    expect(refusal({ node: { url: 'https://node:8332' } })).toMatch(/plain http/)
    expect(refusal({ node: { url: 'http://node:99999' } })).toMatch(/not a valid node address/)
    expect(refusal({ node: { url: 'http://node', user: 'me' } })).toMatch(/needs its password/)
    expect(refusal({ node: { url: 'http://node', password: 'pw' } })).toMatch(/needs its user/)
    const r = applyPatch(base, { node: { url: 'http://node', user: 'me', password: 'pw' } }, false)
    expect(r.ok && r.value.password).toBe('pw')
    // A stored password counts; removing it while a user is set is refused.
    expect(applyPatch(base, { node: { url: 'http://node', user: 'me' } }, true).ok).toBe(true)
    expect(refusal({ node: { url: 'http://node', user: 'me', password: null } }, true)).toMatch(/needs its password/)
  })

  it('refuses inconsistent ports, listen address and vardiff bounds', () => {
    expect(refusal({ tls: { enabled: true, port: 3333 } })).toMatch(/TLS port must differ/)
    expect(refusal({ host: 'my host' })).toMatch(/not an IP address/)
    expect(refusal({ vardiff: { minDifficulty: 10, maxDifficulty: 1 } })).toMatch(/minimum difficulty \(10\) is above/)
    expect(refusal({ vardiff: { startDifficulty: 2 ** 50 } })).toMatch(/start difficulty/)
  })

  it('says which running parts a change touches', () => {
    const r = applyPatch(base, { coinbaseTag: '/farm/', port: 3340 }, false)
    expect(r.ok && r.value.changed).toEqual({ node: false, payout: true, listener: true, refresh: false })
    const n = applyPatch(base, { node: { url: 'http://127.0.0.1:8332' }, templateRefreshS: 20 }, false)
    expect(n.ok && n.value.changed).toEqual({ node: true, payout: false, listener: false, refresh: true })
  })
})
