import { describe, expect, it } from 'vitest'
import { parseNodeEndpoint } from './endpoint'

describe('parseNodeEndpoint', () => {
  it.each([
    ['http://127.0.0.1:8332', 'mainnet', { host: '127.0.0.1', port: 8332, path: '/', display: '127.0.0.1:8332' }],
    ['127.0.0.1:18443', 'mainnet', { host: '127.0.0.1', port: 18443, path: '/' }],
    ['umbrel.local', 'mainnet', { host: 'umbrel.local', port: 8332 }],
    ['umbrel.local', 'testnet', { port: 18332 }],
    ['umbrel.local', 'testnet4', { port: 48332 }],
    ['umbrel.local', 'signet', { port: 38332 }],
    ['localhost', 'regtest', { port: 18443 }],
    ['[::1]:8332', 'mainnet', { host: '::1', port: 8332, display: '[::1]:8332' }],
    ['  http://node:8332/wallet/mining  ', 'mainnet', { host: 'node', path: '/wallet/mining' }],
    ['http://alice:p%40ss@node:8332', 'mainnet', { user: 'alice', password: 'p@ss', display: 'node:8332' }],
  ] as const)('reads %s (%s)', (input, network, expected) => {
    const r = parseNodeEndpoint(input, network)
    expect(r.ok).toBe(true)
    if (r.ok) expect(r.value).toMatchObject(expected)
  })

  it.each([
    ['', 'empty'],
    ['https://node:8332', 'plain http'],
    ['ftp://node', 'Unsupported scheme'],
    ['http://node:70000', 'not a valid node address'],
    ['http://no de', 'not a valid node address'],
  ])('refuses %j with NODE_CONFIG (%s)', (input, words) => {
    const r = parseNodeEndpoint(input)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe('NODE_CONFIG')
    expect(r.error.message).toContain(words)
  })

  it('never puts credentials in the display form', () => {
    const r = parseNodeEndpoint('http://alice:secret@node:8332')
    expect(r.ok && r.value.display).toBe('node:8332')
  })
})
