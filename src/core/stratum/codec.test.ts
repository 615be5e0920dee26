import { describe, expect, it } from 'vitest'
import { type DecodedItem, LineDecoder, type StratumCodecError } from './codec'

function decodeChunks(chunks: Buffer[], maxLineBytes?: number): DecodedItem[] {
  const d = new LineDecoder(maxLineBytes === undefined ? {} : { maxLineBytes })
  const out: DecodedItem[] = []
  for (const c of chunks) d.push(c, (i) => out.push(i))
  return out
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8')
const errCodes = (items: DecodedItem[]): string[] =>
  items.filter((i): i is StratumCodecError => i.kind === 'error').map((i) => i.code)

// ESP-Miner's pipelined handshake (research §1.1), verbatim shapes.
const HANDSHAKE =
  '{"id": 1, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}\n' +
  '{"id": 2, "method": "mining.subscribe", "params": ["bitaxe/BM1370/v2.4.5"]}\n' +
  '{"id": 3, "method": "mining.authorize", "params": ["bc1qexample.worker", "x"]}\n'

describe('LineDecoder framing', () => {
  it('decodes several coalesced lines from one chunk, in order', () => {
    const out = decodeChunks([b(HANDSHAKE)])
    expect(out.map((m) => (m.kind === 'request' ? m.method : m.kind))).toEqual([
      'mining.configure',
      'mining.subscribe',
      'mining.authorize',
    ])
    expect(out[1]).toEqual({ kind: 'request', id: 2, method: 'mining.subscribe', params: ['bitaxe/BM1370/v2.4.5'] })
  })

  it('gives the same result for every possible split point and for byte-by-byte delivery', () => {
    const whole = b(HANDSHAKE)
    const expected = decodeChunks([whole])
    for (let cut = 1; cut < whole.length; cut++) {
      expect(decodeChunks([whole.subarray(0, cut), whole.subarray(cut)])).toEqual(expected)
    }
    const bytes = [...whole].map((x) => Buffer.from([x]))
    expect(decodeChunks(bytes)).toEqual(expected)
  })

  it('accepts \\r\\n line ends and skips empty and blank lines', () => {
    const out = decodeChunks([b('\n\r\n   \n{"id":1,"method":"mining.subscribe","params":[]}\r\n\n')])
    expect(out).toEqual([{ kind: 'request', id: 1, method: 'mining.subscribe', params: [] }])
  })

  it('splits a \\r\\n across chunks correctly', () => {
    const out = decodeChunks([b('{"id":7,"method":"mining.subscribe"}\r'), b('\n')])
    expect(out).toEqual([{ kind: 'request', id: 7, method: 'mining.subscribe', params: [] }])
  })

  it('keeps an unterminated tail until its newline arrives', () => {
    const d = new LineDecoder()
    const out: DecodedItem[] = []
    d.push(b('{"id":1,"method":"mining.sub'), (i) => out.push(i))
    expect(out).toEqual([])
    expect(d.bufferedBytes).toBe(28)
    d.push(b('scribe"}\n'), (i) => out.push(i))
    expect(out).toHaveLength(1)
    expect(d.bufferedBytes).toBe(0)
  })
})

describe('LineDecoder limits', () => {
  it('reports a line over the limit once, skips it, and resumes after its newline', () => {
    const long = `{"id":1,"method":"x","params":["${'a'.repeat(200)}"]}`
    const out = decodeChunks([b(`${long}\n{"id":2,"method":"mining.subscribe"}\n`)], 100)
    expect(errCodes(out)).toEqual(['STRATUM_LINE_TOO_LONG'])
    expect(out[1]).toMatchObject({ kind: 'request', id: 2 })
  })

  it('accepts a line of exactly the limit, with or without \\r', () => {
    const line = `{"id":1,"method":"m","params":["${'a'.repeat(100 - 35)}"]}`
    expect(line.length).toBe(100)
    expect(errCodes(decodeChunks([b(`${line}\n`)], 100))).toEqual([])
    expect(errCodes(decodeChunks([b(`${line}\r\n`)], 100))).toEqual([])
    expect(errCodes(decodeChunks([b(`${line} \n`)], 100))).toEqual(['STRATUM_LINE_TOO_LONG'])
  })

  it('never buffers more than the limit while a 10 MB line streams in', () => {
    const d = new LineDecoder({ maxLineBytes: 16 * 1024 })
    const out: DecodedItem[] = []
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let maxBuffered = 0
    for (let sent = 0; sent < 10 * 1024 * 1024; sent += chunk.length) {
      d.push(chunk, (i) => out.push(i))
      maxBuffered = Math.max(maxBuffered, d.bufferedBytes)
    }
    d.push(b('\n{"id":9,"method":"mining.subscribe"}\n'), (i) => out.push(i))
    expect(maxBuffered).toBeLessThanOrEqual(16 * 1024)
    expect(errCodes(out)).toEqual(['STRATUM_LINE_TOO_LONG'])
    expect(out[1]).toMatchObject({ kind: 'request', id: 9 })
  })

  it('trips the limit on an unterminated tail that grows across small chunks', () => {
    const d = new LineDecoder({ maxLineBytes: 50 })
    const out: DecodedItem[] = []
    for (let i = 0; i < 10; i++) d.push(b('0123456789'), (x) => out.push(x))
    expect(errCodes(out)).toEqual(['STRATUM_LINE_TOO_LONG'])
    expect(d.bufferedBytes).toBe(0)
  })

  it('reports an over-long line whose end arrives in a later chunk', () => {
    const out = decodeChunks(
      [b(`{"id":1,"params":["${'x'.repeat(40)}`), b(`${'y'.repeat(40)}"]}\n{"id":2,"method":"m"}\n`)],
      60,
    )
    expect(errCodes(out)).toEqual(['STRATUM_LINE_TOO_LONG'])
    expect(out[1]).toMatchObject({ kind: 'request', id: 2, method: 'm' })
  })
})

describe('LineDecoder malformed input', () => {
  it('rejects invalid JSON and continues with the next line', () => {
    const out = decodeChunks([b('{"id":1,"method":\n{"id":2,"method":"mining.subscribe"}\n')])
    expect(errCodes(out)).toEqual(['STRATUM_BAD_JSON'])
    expect(out[1]).toMatchObject({ kind: 'request', id: 2 })
  })

  it('rejects text that is not JSON at all (an HTTP request line)', () => {
    expect(errCodes(decodeChunks([b('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]))).toEqual([
      'STRATUM_BAD_JSON',
      'STRATUM_BAD_JSON',
    ])
  })

  it('rejects invalid UTF-8 (a lone continuation byte, a truncated sequence, an overlong form)', () => {
    for (const bad of [[0x80], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const line = Buffer.concat([b('{"id":1,"method":"'), Buffer.from(bad), b('"}\n')])
      expect(errCodes(decodeChunks([line]))).toEqual(['STRATUM_BAD_UTF8'])
    }
  })

  it('accepts valid multi-byte UTF-8 split across chunks', () => {
    const line = b('{"id":1,"method":"mining.subscribe","params":["miner ₿ ü"]}\n')
    const cut = line.indexOf(0xe2) + 1
    const out = decodeChunks([line.subarray(0, cut), line.subarray(cut)])
    expect(out).toEqual([{ kind: 'request', id: 1, method: 'mining.subscribe', params: ['miner ₿ ü'] }])
  })

  it('survives binary garbage with newlines and NULs, then decodes the next good line', () => {
    const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x01, 0x02, 0x7b, 0x0a, 0x00, 0x00, 0x0d, 0x0a])
    const out = decodeChunks([garbage, b('{"id":3,"method":"mining.subscribe"}\n')])
    expect(errCodes(out)).toEqual(['STRATUM_BAD_UTF8', 'STRATUM_BAD_JSON', 'STRATUM_BAD_JSON'])
    expect(out.at(-1)).toMatchObject({ kind: 'request', id: 3 })
  })

  it('recognises a TLS ClientHello on the plain port', () => {
    const hello = Buffer.from('16030100c4010000c00303', 'hex')
    expect(errCodes(decodeChunks([hello]))).toEqual(['STRATUM_TLS_ON_PLAIN_PORT'])
  })

  it('distinguishes JSON that is not an object', () => {
    for (const s of ['[1,2,3]', '"mining.subscribe"', '42', 'null', 'true']) {
      expect(errCodes(decodeChunks([b(`${s}\n`)]))).toEqual(['STRATUM_NOT_AN_OBJECT'])
    }
  })

  it('rejects ids that cannot be echoed, keeping the id when it can', () => {
    expect(errCodes(decodeChunks([b('{"id":{"a":1},"method":"m"}\n')]))).toEqual(['STRATUM_BAD_ID'])
    expect(errCodes(decodeChunks([b('{"id":[1],"method":"m"}\n')]))).toEqual(['STRATUM_BAD_ID'])
    expect(errCodes(decodeChunks([b(`{"id":"${'x'.repeat(65)}","method":"m"}\n`)]))).toEqual(['STRATUM_BAD_ID'])
    const badParams = decodeChunks([b('{"id":"abc","method":"m","params":{"a":1}}\n')])
    expect(badParams).toEqual([
      { kind: 'error', code: 'STRATUM_BAD_PARAMS', message: 'params must be an array', id: 'abc', lineBytes: 42 },
    ])
  })

  it('rejects a missing or non-string method but decodes responses from the miner', () => {
    expect(errCodes(decodeChunks([b('{"id":1,"params":[]}\n')]))).toEqual(['STRATUM_BAD_METHOD'])
    expect(errCodes(decodeChunks([b('{"id":1,"method":7}\n')]))).toEqual(['STRATUM_BAD_METHOD'])
    expect(errCodes(decodeChunks([b('{"id":1,"method":""}\n')]))).toEqual(['STRATUM_BAD_METHOD'])
    expect(decodeChunks([b('{"id":42,"result":"pong","error":null}\n')])).toEqual([
      { kind: 'response', id: 42, result: 'pong', error: null },
    ])
  })

  it('echoes string and null ids verbatim and tolerates the jsonrpc field', () => {
    const out = decodeChunks([
      b('{"jsonrpc":"2.0","id":"a-1","method":"mining.subscribe"}\n{"id":null,"method":"x"}\n'),
    ])
    expect(out).toEqual([
      { kind: 'request', id: 'a-1', method: 'mining.subscribe', params: [] },
      { kind: 'request', id: null, method: 'x', params: [] },
    ])
  })

  it('does not throw on deeply nested JSON within the limit', () => {
    const deep = `{"id":1,"method":"m","params":${'['.repeat(5000)}${']'.repeat(5000)}}`
    expect(decodeChunks([b(`${deep}\n`)])[0]).toMatchObject({ kind: 'request', id: 1 })
  })
})
