import { describe, expect, it } from 'vitest'
import { fixtureText } from '../../../../test/support/sim-devices/fixtures'
import { reasonOf } from '../device-error'
import { at } from '../field-map'
import {
  checkStatus,
  decodeReply,
  encodeRequest,
  endOfFirstObject,
  escapeParam,
  joinParams,
  readStatus,
  splitMulti,
} from './codec'

const S19_STATS = fixtureText('antminer/rpc_stats_s19pro_bmminer_49.0.1.3.json')

function decode(text: string) {
  const r = decodeReply(Buffer.from(text, 'utf8'))
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe('cgminer codec: requests', () => {
  it('encodes a command with no framing and no newline', () => {
    expect(encodeRequest({ command: 'summary' }).toString()).toBe('{"command":"summary"}')
    expect(encodeRequest({ command: 'switchpool', parameter: 1 }).toString()).toBe(
      '{"command":"switchpool","parameter":1}',
    )
    expect(encodeRequest({ command: 'stats', extra: { new_api: true } }).toString()).toBe(
      '{"new_api":true,"command":"stats"}',
    )
  })

  it('escapes commas and backslashes inside one parameter (cgminer addpool)', () => {
    expect(escapeParam('a,b\\c')).toBe('a\\,b\\\\c')
    expect(joinParams(['stratum+tcp://h:3333', 'acct.w1', 'p,w'])).toBe('stratum+tcp://h:3333,acct.w1,p\\,w')
  })
})

describe('cgminer codec: replies', () => {
  it('strips the trailing NUL and parses a captured reply unchanged', () => {
    const d = decode(`${S19_STATS}\u0000`)
    expect(d.repairs).toEqual([])
    expect(d.json).toEqual(JSON.parse(S19_STATS))
  })

  it('parses a reply without the NUL (forks omit it)', () => {
    expect(decode(S19_STATS).json).toEqual(JSON.parse(S19_STATS))
  })

  it('repairs the bmminer missing comma between STATS objects', () => {
    const compact = JSON.stringify(JSON.parse(S19_STATS))
    const broken = compact.replace('"Type":"Antminer S19 Pro"},{', '"Type":"Antminer S19 Pro"}{')
    expect(broken).not.toBe(compact)
    const d = decode(`${broken}\u0000`)
    expect(d.repairs).toEqual(['missing comma between objects }{ (bmminer STATS)'])
    expect(d.json).toEqual(JSON.parse(S19_STATS))
  })

  it('repairs bare inf and nan (Avalon)', () => {
    const d = decode(
      '{"STATUS":[{"STATUS":"S","Code":9}],"DEVS":[{"Temperature":inf,"MHS 5s":-nan,"x":[nan,1]}],"id":1}',
    )
    expect(at(d.json, 'DEVS', 0)).toEqual({
      Temperature: 0,
      'MHS 5s': 0,
      x: [0, 1],
    })
  })

  it('cuts trailing garbage after the object', () => {
    const d = decode('{"STATUS":[{"STATUS":"S","Code":11}],"id":1}\u0000\u0000garbage')
    expect(d.repairs).toEqual([])
    const g = decode('{"STATUS":[{"STATUS":"S","Code":11}],"id":1}}]junk')
    expect(g.repairs).toContain('trailing garbage after the object')
    expect(readStatus(g.json).code).toBe(11)
  })

  it('repairs a trailing comma and raw newlines (btminer)', () => {
    const d = decode('{"STATUS":[{"STATUS":"S","Code":7,}],\n"id":1}')
    expect(readStatus(d.json).code).toBe(7)
  })

  it('closes a truncated reply at its last comma', () => {
    const d = decode('{"STATUS":"S","Code":131,"Msg":"ok","Description":"x","When":17')
    expect(readStatus(d.json)).toMatchObject({ severity: 'S', code: 131, msg: 'ok' })
  })

  it('returns an error value for empty and hopeless replies', () => {
    const empty = decodeReply(Buffer.from('\u0000'))
    expect(empty.ok).toBe(false)
    if (!empty.ok) expect(reasonOf(empty.error)).toBe('BAD_REPLY')
    const junk = decodeReply(Buffer.from('<html>nope</html>'))
    expect(junk.ok).toBe(false)
    if (!junk.ok) expect(reasonOf(junk.error)).toBe('BAD_JSON')
  })

  it('finds the end of the first object, ignoring braces inside strings', () => {
    expect(endOfFirstObject('{"a":"}{"}xyz')).toBe(10)
    expect(endOfFirstObject('{"a":1')).toBe(-1)
  })
})

describe('cgminer codec: STATUS', () => {
  it('reads array, string and object STATUS forms', () => {
    expect(readStatus(JSON.parse(S19_STATS))).toMatchObject({ severity: 'S', code: 70, description: 'cgminer 1.0.0' })
    expect(readStatus({ STATUS: 'RESTART', id: 1 }).severity).toBe('RESTART')
    expect(readStatus(JSON.parse(fixtureText('whatsminer/v2api_get_version_20210322.json')))).toMatchObject({
      severity: 'S',
      code: 131,
    })
    expect(readStatus(JSON.parse(fixtureText('antminer/cgi_summary_s23hyd_captured.json'))).severity).toBe('S')
  })

  it('turns access denied (code 45) into ACCESS_DENIED and other E into COMMAND_FAILED', () => {
    const denied = checkStatus('addpool', {
      STATUS: [
        { STATUS: 'E', When: 1, Code: 45, Msg: "Access denied to 'addpool' command", Description: 'cgminer 1.0.0' },
      ],
      id: 1,
    })
    expect(denied.ok).toBe(false)
    if (!denied.ok) {
      expect(reasonOf(denied.error)).toBe('ACCESS_DENIED')
      expect(denied.error.code).toBe('FORBIDDEN')
    }
    const invalid = checkStatus('frobnicate', { STATUS: [{ STATUS: 'E', Code: 14, Msg: 'Invalid command' }] })
    if (invalid.ok) throw new Error('expected an error')
    expect(reasonOf(invalid.error)).toBe('COMMAND_FAILED')
  })

  it('splits a multi-command reply into per-command results', () => {
    const summary = JSON.parse(fixtureText('antminer/rpc_summary_s19pro_bmminer_49.0.1.3.json'))
    const json = {
      summary: [summary],
      addpool: [{ STATUS: [{ STATUS: 'E', Code: 45, Msg: "Access denied to 'addpool' command" }] }],
      id: 1,
    }
    const parts = splitMulti(json, ['summary', 'addpool', 'pools'])
    expect(parts.summary?.ok).toBe(true)
    expect(parts.addpool?.ok).toBe(false)
    expect(parts.pools?.ok).toBe(false)
  })
})
