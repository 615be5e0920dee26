import { describe, expect, it } from 'vitest'
import {
  classifySubmitReply,
  parseConfigureResult,
  parseNotify,
  parseReconnect,
  parseSetDifficulty,
  parseSetExtranonce,
  parseSubscribeResult,
} from './upstream-messages'

describe('upstream message decoding', () => {
  it('reads subscribe results of every shape seen in the wild (research §1.2)', () => {
    // ckpool: one tuple; public-pool: one tuple list; DATUM/Antpool: two tuples, en2 size 8.
    const ck = parseSubscribeResult([[['mining.notify', '6e0b0a3c']], '6e0b0a3c', 8])
    expect(ck).toEqual({
      ok: true,
      value: { extranonce1: Buffer.from('6e0b0a3c', 'hex'), extranonce2Size: 8, sessionId: '6e0b0a3c' },
    })
    const datum = parseSubscribeResult([
      [
        ['mining.notify', 'ab1'],
        ['mining.set_difficulty', 'ab2'],
      ],
      'deadbeef',
      8,
    ])
    expect(datum.ok && datum.value.sessionId).toBe('ab1')
    const single = parseSubscribeResult([['mining.notify', 'ae6812eb4cd7735a302a8a9dd95cf71f'], 'f8002c90', 4])
    expect(single.ok && single.value.sessionId).toBe('ae6812eb4cd7735a302a8a9dd95cf71f')
    expect(parseSubscribeResult([null, '08000002', 4]).ok).toBe(true)
    expect(parseSubscribeResult([[], 'xyz', 4])).toEqual({ ok: false, message: expect.stringMatching(/extranonce1/) })
    expect(parseSubscribeResult([[], '00', 0])).toEqual({
      ok: false,
      message: expect.stringMatching(/extranonce2_size/),
    })
    expect(parseSubscribeResult('nope').ok).toBe(false)
  })

  it('validates notify fields and tolerates a 10th param', () => {
    const p = ['1a', '0'.repeat(64), '01', '02', ['f'.repeat(64)], '20000000', '1703a30c', '66a0e1f2', true]
    expect(parseNotify(p)).toMatchObject({ ok: true, value: { jobId: '1a', version: 0x20000000, clean: true } })
    expect(parseNotify([...p.slice(0, 8), 'extra', false])).toMatchObject({ ok: true, value: { clean: false } })
    expect(parseNotify(p.slice(0, 8)).ok).toBe(false)
    expect(parseNotify([...p.slice(0, 4), ['zz'], ...p.slice(5)])).toEqual({
      ok: false,
      message: expect.stringMatching(/branch/),
    })
    expect(parseNotify([...p.slice(0, 5), '2000000000', ...p.slice(6)]).ok).toBe(false)
    expect(parseNotify([...p.slice(0, 8), 'yes']).ok).toBe(false)
  })

  it('reads set_difficulty, set_extranonce, configure and client.reconnect', () => {
    expect(parseSetDifficulty([512])).toEqual({ ok: true, value: 512 })
    expect(parseSetDifficulty(['0.5'])).toEqual({ ok: true, value: 0.5 })
    expect(parseSetDifficulty([0]).ok).toBe(false)
    expect(parseSetExtranonce(['abcd', 4])).toEqual({
      ok: true,
      value: { extranonce1: Buffer.from('abcd', 'hex'), extranonce2Size: 4 },
    })
    expect(parseSetExtranonce(['abc', 4]).ok).toBe(false)
    expect(parseConfigureResult({ 'version-rolling': true, 'version-rolling.mask': '1fffe000' }, null)).toBe(0x1fffe000)
    expect(parseConfigureResult({ 'version-rolling': false }, null)).toBe(0)
    expect(parseConfigureResult(null, [-3, 'Method not found', null])).toBe(0)
    expect(parseReconnect([])).toEqual({ ok: true, value: { waitS: 0 } })
    // ckpool sends the port as a string.
    expect(parseReconnect(['eu.pool.example', '3333', 0])).toEqual({
      ok: true,
      value: { host: 'eu.pool.example', port: 3333, waitS: 0 },
    })
    expect(parseReconnect(['a b', 1]).ok).toBe(false)
    expect(parseReconnect(['host', 70000]).ok).toBe(false)
  })

  it('classifies submit replies from every pool family (research §1.4)', () => {
    expect(classifySubmitReply(true, null)).toEqual({ accepted: true })
    expect(classifySubmitReply(null, [23, 'Difficulty too low', ''])).toEqual({
      accepted: false,
      kind: 'low-difficulty',
      code: 23,
      message: 'Difficulty too low',
    })
    expect(classifySubmitReply(null, [21, 'stale-prevblk', null])).toMatchObject({ kind: 'stale' })
    expect(classifySubmitReply(null, [22, 'duplicate', null])).toMatchObject({ kind: 'duplicate' })
    expect(classifySubmitReply(null, [23, 'high-hash', null])).toMatchObject({ kind: 'low-difficulty' })
    // ckpool: result false + reject-reason, or an error string.
    expect(classifySubmitReply(false, null, 'Above target')).toMatchObject({
      kind: 'low-difficulty',
      message: 'Above target',
    })
    expect(classifySubmitReply(false, null, 'Stale')).toMatchObject({ kind: 'stale' })
    expect(classifySubmitReply(false, 'Invalid nonce2 length')).toMatchObject({ kind: 'bad-share' })
    // miningcore: an error object.
    expect(classifySubmitReply(null, { code: 22, message: 'duplicate share', data: null })).toMatchObject({
      kind: 'duplicate',
      code: 22,
    })
    expect(classifySubmitReply(null, [24, 'Unauthorized worker', null])).toMatchObject({ kind: 'unauthorized' })
    expect(classifySubmitReply(false, null)).toMatchObject({ accepted: false, kind: 'other', message: 'rejected' })
    expect(classifySubmitReply(null, [20, 'evil\u0000\u001b[2Jtext', null]).message).toBe('evil[2Jtext')
  })
})
