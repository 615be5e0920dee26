import { describe, expect, it } from 'vitest'
import { serialReasonOf } from '../serial-error'
import { formatNvsCsv, parseNvsCsv } from './csv'
import { nvsFixture } from './testing/fixtures'

describe('parseNvsCsv', () => {
  it('reads quoted JSON values with doubled quotes (bitaxe-pools-v2.15.csv)', () => {
    const r = parseNvsCsv(nvsFixture('bitaxe-pools-v2.15.csv').toString('utf8'))
    expect(r.ok).toBe(true)
    if (!r.ok) return
    const pool = r.value.find((e) => e.key === 'pool_1')
    expect(pool?.type).toBe('string')
    expect(JSON.parse(String(pool?.value))).toEqual({
      url: '192.168.1.20',
      port: 3333,
      user: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.home',
      pass: 'x',
    })
    expect(r.value.find((e) => e.key === 'sec_idx')).toEqual({
      namespace: 'main',
      key: 'sec_idx',
      type: 'u16',
      value: 1,
    })
  })

  it('skips comment lines, accepts CRLF, and decodes hex2bin/base64/binary blobs and 64-bit ints', () => {
    const text =
      'key,type,encoding,value\r\n# a comment\r\nns,namespace,,\r\nh,data,hex2bin,00ff\r\nb,data,base64,AQI=\r\nr,data,binary,hi\r\nbig,data,u64,18446744073709551615\r\n'
    const r = parseNvsCsv(text)
    expect(r).toEqual({
      ok: true,
      value: [
        { namespace: 'ns', key: 'h', type: 'blob', value: Uint8Array.of(0, 255) },
        { namespace: 'ns', key: 'b', type: 'blob', value: Uint8Array.of(1, 2) },
        { namespace: 'ns', key: 'r', type: 'blob', value: Uint8Array.of(0x68, 0x69) },
        { namespace: 'ns', key: 'big', type: 'u64', value: 18446744073709551615n },
      ],
    })
  })

  it.each([
    ['a missing header', 'main,namespace,,\n'],
    ['a data row before any namespace', 'key,type,encoding,value\nk,data,u8,1\n'],
    ['a file row', 'key,type,encoding,value\nmain,namespace,,\nk,file,string,/etc/passwd\n'],
    ['an unknown encoding', 'key,type,encoding,value\nmain,namespace,,\nk,data,float,1.5\n'],
    ['a non-integer', 'key,type,encoding,value\nmain,namespace,,\nk,data,u16,abc\n'],
    ['odd hex', 'key,type,encoding,value\nmain,namespace,,\nk,data,hex2bin,abc\n'],
    ['an unclosed quote', 'key,type,encoding,value\nmain,namespace,,\nk,data,string,"abc\n'],
  ])('rejects %s', (_name, text) => {
    const r = parseNvsCsv(text)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('NVS_BAD_CSV')
  })

  it('formats entries back into CSV that parses to the same entries', () => {
    const r = parseNvsCsv(nvsFixture('bitaxe-pools-v2.15.csv').toString('utf8'))
    if (!r.ok) throw new Error(r.error.message)
    const withBlob = [...r.value, { namespace: 'x', key: 'b', type: 'blob' as const, value: Uint8Array.of(9, 8) }]
    expect(parseNvsCsv(formatNvsCsv(withBlob))).toEqual({ ok: true, value: withBlob })
  })
})
