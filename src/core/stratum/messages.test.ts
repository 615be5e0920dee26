import { describe, expect, it } from 'vitest'
import {
  difficultyFromPassword,
  encodeError,
  encodeNotify,
  encodeReconnect,
  encodeRefusal,
  encodeReject,
  encodeSetDifficulty,
  encodeSetExtranonce,
  encodeSetVersionMask,
  encodeSubscribeResult,
  encodeTrue,
  parseAuthorize,
  parseConfigure,
  parseSubmit,
  parseSubscribe,
  parseSuggestDifficulty,
  parseUint32,
  rejectCode,
} from './messages'

describe('client → server parameters', () => {
  it('parses mining.subscribe leniently and sanitises the user agent', () => {
    expect(parseSubscribe([])).toEqual({ userAgent: '' })
    expect(parseSubscribe(['bitaxe/BM1370/v2.4.5'])).toEqual({ userAgent: 'bitaxe/BM1370/v2.4.5' })
    expect(parseSubscribe(['cgminer/4.10.0', 'DEADBEEF'])).toEqual({
      userAgent: 'cgminer/4.10.0',
      sessionId: 'deadbeef',
    })
    expect(parseSubscribe(['evil\u001b[31m\nua', 5])).toEqual({ userAgent: 'evil[31mua' })
    expect(parseSubscribe([42])).toEqual({ userAgent: '' })
  })

  it('parses mining.authorize and refuses a missing user name', () => {
    expect(parseAuthorize(['addr.w', 'x'])).toEqual({ ok: true, value: { username: 'addr.w', password: 'x' } })
    expect(parseAuthorize(['addr'])).toEqual({ ok: true, value: { username: 'addr', password: '' } })
    expect(parseAuthorize([]).ok).toBe(false)
    expect(parseAuthorize(['  ']).ok).toBe(false)
    expect(parseAuthorize([{}]).ok).toBe(false)
    expect(parseAuthorize(['x'.repeat(129)]).ok).toBe(false)
    expect(parseAuthorize(['addr.w\u001b[2J'])).toEqual({ ok: false, message: 'username contains control characters' })
  })

  it('reads d=N from passwords in the common forms', () => {
    expect(difficultyFromPassword('d=512')).toBe(512)
    expect(difficultyFromPassword('x,d=2048')).toBe(2048)
    expect(difficultyFromPassword('x;d=0.001;y')).toBe(0.001)
    expect(difficultyFromPassword('D=1e3')).toBe(1000)
    expect(difficultyFromPassword('x')).toBeUndefined()
    expect(difficultyFromPassword('d=0')).toBeUndefined()
    expect(difficultyFromPassword('d=abc')).toBeUndefined()
    expect(difficultyFromPassword('pd=5')).toBeUndefined()
  })

  it('parses mining.configure as real firmware sends it', () => {
    // ESP-Miner: mask only.
    expect(parseConfigure([['version-rolling'], { 'version-rolling.mask': 'ffffffff' }])).toEqual({
      ok: true,
      value: {
        extensions: ['version-rolling'],
        versionRolling: { mask: 0xffffffff },
        subscribeExtranonce: false,
        info: false,
      },
    })
    // cpuminer: min-bit-count as a string; DATUM's example with subscribe-extranonce and minimum-difficulty.
    const c = parseConfigure([
      ['version-rolling', 'minimum-difficulty', 'subscribe-extranonce', 'info'],
      { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': '16', 'minimum-difficulty.value': 2048 },
    ])
    expect(c).toEqual({
      ok: true,
      value: {
        extensions: ['version-rolling', 'minimum-difficulty', 'subscribe-extranonce', 'info'],
        versionRolling: { mask: 0x1fffe000, minBitCount: 16 },
        minimumDifficulty: { value: 2048 },
        subscribeExtranonce: true,
        info: true,
      },
    })
    // BIP310: an absent mask means all bits; no params object at all is fine.
    expect(parseConfigure([['version-rolling']])).toMatchObject({
      ok: true,
      value: { versionRolling: { mask: 0xffffffff } },
    })
    expect(parseConfigure([['version-rolling'], { 'version-rolling.mask': 'zz' }]).ok).toBe(false)
    expect(parseConfigure(['version-rolling']).ok).toBe(false)
  })

  it('parses mining.suggest_difficulty as a number or numeric string', () => {
    expect(parseSuggestDifficulty([512])).toEqual({ ok: true, value: 512 })
    expect(parseSuggestDifficulty(['0.5'])).toEqual({ ok: true, value: 0.5 })
    for (const bad of [[], [0], [-1], ['x'], [null], [Number.POSITIVE_INFINITY]])
      expect(parseSuggestDifficulty(bad).ok).toBe(false)
  })

  it('parses mining.submit with 5 or 6 parameters, padding short hex and accepting numbers', () => {
    expect(parseSubmit(['w', '1', 'c7080000', '64b3f3ec', 'ed460d91', '00002000'])).toEqual({
      ok: true,
      value: {
        worker: 'w',
        jobId: '1',
        extranonce2Hex: 'c7080000',
        ntime: 0x64b3f3ec,
        nonce: 0xed460d91,
        versionBits: 0x2000,
      },
    })
    expect(parseSubmit(['w', '1', 'C7080000', '64B3F3EC', 'd91'])).toEqual({
      ok: true,
      value: { worker: 'w', jobId: '1', extranonce2Hex: 'c7080000', ntime: 0x64b3f3ec, nonce: 0xd91 },
    })
    expect(parseSubmit(['w', '1', '00', 1689514988, 3980791185])).toMatchObject({
      ok: true,
      value: { ntime: 1689514988, nonce: 3980791185 },
    })
    const bad: unknown[][] = [
      ['w', '1', '00', '00'],
      ['w', '1', '00', '00', '00', '00', '00'],
      [1, '1', '00', '00', '00'],
      ['w', '', '00', '00', '00'],
      ['w', '1', '0', '00', '00'],
      ['w', '1', 'zz', '00', '00'],
      ['w', '1', '00', '123456789', '00'],
      ['w', '1', '00', '00', -1],
      ['w', '1', '00', '00', 2 ** 32],
      ['w', '1', '00', '00', '00', 'nothex'],
    ]
    for (const p of bad) expect(parseSubmit(p).ok).toBe(false)
  })

  it('parses uint32 hex strictly', () => {
    expect(parseUint32('ffffffff')).toBe(0xffffffff)
    expect(parseUint32('0')).toBe(0)
    expect(parseUint32('')).toBeUndefined()
    expect(parseUint32('0x10')).toBeUndefined()
    expect(parseUint32(' 10')).toBeUndefined()
    expect(parseUint32(1.5)).toBeUndefined()
  })
})

describe('server → client lines', () => {
  it('encodes results and errors exactly, echoing ids verbatim', () => {
    expect(encodeTrue(5)).toBe('{"id":5,"result":true,"error":null}\n')
    expect(encodeTrue('abc')).toBe('{"id":"abc","result":true,"error":null}\n')
    expect(encodeError(null, 20, 'line is not JSON')).toBe(
      '{"id":null,"result":null,"error":[20,"line is not JSON",null]}\n',
    )
    expect(encodeReject(7, 'low-difficulty')).toBe(
      '{"id":7,"result":null,"error":[23,"Low difficulty share",null],"reject-reason":"low-difficulty"}\n',
    )
    expect(encodeReject(8, 'stale')).toBe(
      '{"id":8,"result":null,"error":[21,"Stale share",null],"reject-reason":"stale"}\n',
    )
    expect(encodeRefusal(3, 24, 'say "why"')).toBe('{"id":3,"result":false,"error":[24,"say \\"why\\"",null]}\n')
    expect(
      (['job-not-found', 'stale', 'duplicate', 'low-difficulty', 'unauthorized', 'not-subscribed'] as const).map(
        rejectCode,
      ),
    ).toEqual([21, 21, 22, 23, 24, 25])
  })

  it('encodes notifications in the shapes miners parse', () => {
    expect(encodeSubscribeResult(1, '57a6f098', 4)).toBe(
      '{"id":1,"result":[[["mining.set_difficulty","57a6f098"],["mining.notify","57a6f098"]],"57a6f098",4],"error":null}\n',
    )
    expect(encodeSetDifficulty(512)).toBe('{"id":null,"method":"mining.set_difficulty","params":[512]}\n')
    expect(encodeSetDifficulty(2 ** -20)).toBe(
      '{"id":null,"method":"mining.set_difficulty","params":[9.5367431640625e-7]}\n',
    )
    expect(encodeSetVersionMask(0x1fffe000)).toBe(
      '{"id":null,"method":"mining.set_version_mask","params":["1fffe000"]}\n',
    )
    expect(encodeSetVersionMask(0xe000)).toBe('{"id":null,"method":"mining.set_version_mask","params":["0000e000"]}\n')
    expect(encodeSetExtranonce('0a0b0c0d01', 3)).toBe(
      '{"id":null,"method":"mining.set_extranonce","params":["0a0b0c0d01",3]}\n',
    )
    expect(encodeReconnect()).toBe('{"id":null,"method":"client.reconnect","params":[]}\n')
    expect(encodeReconnect({ host: 'pool.lan', port: 3333 })).toBe(
      '{"id":null,"method":"client.reconnect","params":["pool.lan",3333,0]}\n',
    )
    expect(encodeNotify(['1', 'aa', 'bb', 'cc', ['dd'], '20000000', '192495f8', '64b3f3ec', false])).toBe(
      '{"id":null,"method":"mining.notify","params":["1","aa","bb","cc",["dd"],"20000000","192495f8","64b3f3ec",false]}\n',
    )
  })
})
