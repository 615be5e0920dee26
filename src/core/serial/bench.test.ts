import { describe, expect, it } from 'vitest'
import { nextWorkerName, toPoolTarget } from './bench'

describe('nextWorkerName (bench mode)', () => {
  it('increments the trailing number and keeps its padding', () => {
    expect(nextWorkerName('rack1-01')).toBe('rack1-02')
    expect(nextWorkerName('rack1-09')).toBe('rack1-10')
    expect(nextWorkerName('bench007')).toBe('bench008')
  })

  it('widens the number when it overflows its padding', () => {
    expect(nextWorkerName('r-99')).toBe('r-100')
    expect(nextWorkerName('9')).toBe('10')
  })

  it('touches only the trailing number, not one inside the name', () => {
    expect(nextWorkerName('rack12-a')).toBe('rack12-a-2')
    expect(nextWorkerName('s21-rack3-004')).toBe('s21-rack3-005')
  })

  it('handles numbers beyond 2^53 exactly', () => {
    expect(nextWorkerName('w99999999999999999999')).toBe('w100000000000000000000')
  })
})

describe('toPoolTarget', () => {
  it('splits stratum+tcp://host:port into what AxeOS stores', () => {
    expect(toPoolTarget({ url: 'stratum+tcp://10.0.0.2:3333', user: 'bc1qacct' })).toEqual({
      ok: true,
      value: { url: '10.0.0.2', port: 3333, user: 'bc1qacct', password: undefined },
    })
  })

  it('takes a bare host with a separate port, and appends the worker name', () => {
    const r = toPoolTarget({ url: 'solo.example.org', port: 4333, user: 'bc1qacct', password: 'x' }, 'rack1-01')
    expect(r).toEqual({
      ok: true,
      value: { url: 'solo.example.org', port: 4333, user: 'bc1qacct.rack1-01', password: 'x' },
    })
  })

  it('replaces an existing worker part instead of stacking a second one', () => {
    const r = toPoolTarget({ url: 'pool.example', port: 3333, user: 'acct.old' }, 'rack1-02')
    expect(r.ok && r.value.user).toBe('acct.rack1-02')
  })

  it('refuses TLS URLs, a missing port, and a port that disagrees with the URL', () => {
    const tls = toPoolTarget({ url: 'stratum+ssl://pool.example:443', user: 'a' })
    expect(tls.ok).toBe(false)
    if (!tls.ok) expect(tls.error.message).toMatch(/cannot be set over USB/)
    const none = toPoolTarget({ url: 'pool.example', user: 'a' })
    expect(!none.ok && none.error.message).toMatch(/needs a port/)
    const spaced = toPoolTarget({ url: 'pool example', port: 3333, user: 'a' })
    expect(!spaced.ok && spaced.error.message).toMatch(/bare host name or IP/)
    const clash = toPoolTarget({ url: 'pool.example:3333', port: 4444, user: 'a' })
    expect(!clash.ok && clash.error.message).toMatch(/says port 3333 but the port field says 4444/)
  })
})
