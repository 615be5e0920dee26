import { describe, expect, it } from 'vitest'
import { adviceFor, buildWriteRequest, EMPTY_FORM, jobFraction, nextBenchPort, splitPoolAddress } from './usb-form'

describe('splitPoolAddress', () => {
  it('fixes up a pasted stratum+tcp URL into host and port', () => {
    expect(splitPoolAddress(' stratum+tcp://pool.example.com:3333/ ')).toEqual({
      host: 'pool.example.com',
      port: 3333,
      fixed: true,
    })
    expect(splitPoolAddress('STRATUM+TCP://10.0.0.5:21496')).toEqual({ host: '10.0.0.5', port: 21496, fixed: true })
    expect(splitPoolAddress('192.168.1.20:3333')).toEqual({ host: '192.168.1.20', port: 3333, fixed: true })
  })
  it('leaves a bare host alone', () => {
    expect(splitPoolAddress('public-pool.io')).toEqual({ host: 'public-pool.io', fixed: false })
  })
  it('refuses TLS and other schemes, paths and out-of-range ports with a reason', () => {
    expect(splitPoolAddress('stratum+ssl://pool.example.com:4333')).toEqual({ error: 'usb.err.tls' })
    expect(splitPoolAddress('http://pool.example.com')).toEqual({ error: 'usb.err.scheme' })
    expect(splitPoolAddress('pool.example.com/path')).toEqual({ error: 'usb.err.host' })
    expect(splitPoolAddress('pool.example.com:70000')).toEqual({ error: 'usb.err.port' })
    expect(splitPoolAddress('<img src=x>')).toEqual({ error: 'usb.err.host' })
  })
})

describe('buildWriteRequest', () => {
  const form = {
    ...EMPTY_FORM,
    ssid: 'FarmNet',
    wifiPassword: 'wifi-secret',
    poolUrl: 'stratum+tcp://10.0.0.5:3333',
    poolUser: 'bc1qxyz',
    poolPassword: 'x',
    workerName: 'rack1-01',
  }
  it('builds Wi-Fi, pool and worker name, splitting the pasted URL', () => {
    expect(buildWriteRequest(form, '/dev/ttyACM0', 'job-1')).toEqual({
      ok: true,
      value: {
        path: '/dev/ttyACM0',
        jobId: 'job-1',
        wifi: { ssid: 'FarmNet', password: 'wifi-secret' },
        pool: { url: '10.0.0.5', port: 3333, user: 'bc1qxyz', password: 'x' },
        workerName: 'rack1-01',
      },
    })
  })
  it('leaves empty passwords out so the device keeps its own', () => {
    const r = buildWriteRequest({ ...form, wifiPassword: '', poolPassword: '' }, '/dev/ttyACM0', 'j')
    expect(r.ok && r.value.wifi).toEqual({ ssid: 'FarmNet' })
    expect(r.ok && r.value.pool).toEqual({ url: '10.0.0.5', port: 3333, user: 'bc1qxyz' })
  })
  it('takes the port from the port field when the address has none', () => {
    const r = buildWriteRequest({ ...form, poolUrl: 'pool.example.com', poolPort: '21496' }, 'p', 'j')
    expect(r.ok && r.value.pool?.port).toBe(21496)
  })
  it('names the field at fault', () => {
    const bad = (patch: Partial<typeof form>) => {
      const r = buildWriteRequest({ ...form, ...patch }, 'p', 'j')
      return r.ok ? {} : r.errors
    }
    expect(bad({ poolPort: '4444' })).toEqual({ poolPort: 'usb.err.portMismatch' })
    expect(bad({ poolUrl: 'pool.example.com' })).toEqual({ poolPort: 'usb.err.portMissing' })
    expect(bad({ poolUser: ' ' })).toEqual({ poolUser: 'usb.err.user' })
    expect(bad({ workerName: 'rack.1' })).toEqual({ workerName: 'usb.err.worker' })
    expect(bad({ ssid: 'x'.repeat(33) })).toEqual({ ssid: 'usb.err.ssid' })
    expect(bad({ ssid: '', poolUrl: '', poolUser: '', poolPassword: '', workerName: '' })).toEqual({
      ssid: 'usb.err.ssidMissing',
    })
    expect(bad({ poolUrl: '', wifiPassword: '' })).toEqual({ poolUrl: 'usb.err.poolMissing' })
    expect(buildWriteRequest(EMPTY_FORM, 'p', 'j')).toEqual({ ok: false, errors: { form: 'usb.err.nothing' } })
  })
})

describe('jobFraction', () => {
  it('moves forward through the steps with the bytes and never back', () => {
    const a = jobFraction('write', 'read', 12288, 24576)
    const b = jobFraction('write', 'write', 0, 24576, a)
    const c = jobFraction('write', 'reset', 0, 1, b)
    expect(a).toBeGreaterThan(0)
    expect(b).toBeGreaterThan(a)
    expect(c).toBeGreaterThan(b)
    expect(c).toBeLessThan(1)
    expect(jobFraction('write', 'connect', 0, 4, c)).toBe(c)
    expect(jobFraction('write', 'done', 1, 1, c)).toBe(1)
    expect(jobFraction('write', 'online', 1, 1)).toBe(1)
  })
})

describe('adviceFor', () => {
  it('tells a Linux user about dialout and everyone else what to do', () => {
    expect(adviceFor('PORT_PERMISSION', 'FORBIDDEN')).toBe('usb.advice.permission')
    expect(adviceFor('PORT_CLOSED', 'UNAVAILABLE')).toBe('usb.advice.unplugged')
    expect(adviceFor('NVS_PARTITION_MISSING', 'CONFLICT')).toBe('usb.advice.layout')
    expect(adviceFor(undefined, 'INVALID_PARAMS')).toBe('usb.advice.input')
    expect(adviceFor(undefined, 'INTERNAL')).toBe('usb.advice.generic')
  })
})

describe('nextBenchPort', () => {
  const port = (path: string, likelyMiner = true, monitor = 'closed') => ({ path, board: { likelyMiner }, monitor })
  it('picks a miner port that was not there when the last device finished', () => {
    const known = new Set(['/dev/ttyACM0'])
    expect(nextBenchPort([port('/dev/ttyACM0'), port('/dev/ttyACM1')], known)).toBe('/dev/ttyACM1')
  })
  it('ignores ports that do not look like a miner, or that are busy', () => {
    const known = new Set<string>()
    expect(nextBenchPort([port('/dev/ttyS0', false), port('/dev/ttyACM1', true, 'busy')], known)).toBeUndefined()
  })
})
