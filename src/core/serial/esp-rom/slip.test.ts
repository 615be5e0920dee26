import { describe, expect, it } from 'vitest'
import { SlipDecoder, slipEncode } from './slip'

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex')

describe('slipEncode', () => {
  it('frames the READ_REG packet of the esptool trace example byte for byte', () => {
    // esptool docs, "Tracing Esptool Serial Communications": Write 14 bytes: c0000a0400000000001400f43fc0
    expect(slipEncode(hex('000a0400000000001400f43f')).toString('hex')).toBe('c0000a0400000000001400f43fc0')
  })

  it('escapes 0xC0 and 0xDB inside the packet', () => {
    expect(slipEncode(Buffer.of(0x01, 0xc0, 0xdb, 0x02)).toString('hex')).toBe('c001dbdcdbdd02c0')
  })
})

describe('SlipDecoder', () => {
  it('decodes the SYNC replies of the esptool trace, several coalesced in one read', () => {
    const wire = hex(
      'c0 010804000712205500000000 c0 c0 010804000712205500000000 c0 c0 010804000712205500000000 c0'.replace(/ /g, ''),
    )
    const events = new SlipDecoder().push(wire)
    expect(events.map((e) => e.type)).toEqual(['frame', 'frame', 'frame'])
    expect(events[0]?.type === 'frame' && events[0].data.toString('hex')).toBe('010804000712205500000000')
  })

  it('keeps state across chunks, even split inside an escape', () => {
    const d = new SlipDecoder()
    expect(d.push(Buffer.of(0xc0, 0x01, 0xdb))).toEqual([])
    expect(d.push(Buffer.of(0xdc, 0x02))).toEqual([])
    const ev = d.push(Buffer.of(0xc0))
    expect(ev).toEqual([{ type: 'frame', data: Buffer.of(0x01, 0xc0, 0x02) }])
  })

  it('reports boot text between frames as noise, not as a frame', () => {
    const d = new SlipDecoder()
    const ev = d.push(Buffer.concat([Buffer.from('waiting for download\r\n'), Buffer.of(0xc0, 0x01, 0x02, 0xc0)]))
    expect(ev).toEqual([
      { type: 'noise', data: Buffer.from('waiting for download\r\n') },
      { type: 'frame', data: Buffer.of(0x01, 0x02) },
    ])
  })

  it('reports an invalid escape and drops that frame but not the next one', () => {
    const d = new SlipDecoder()
    const ev = d.push(Buffer.of(0xc0, 0x01, 0xdb, 0x42, 0x00, 0xc0, 0xc0, 0x05, 0xc0))
    expect(ev.map((e) => e.type)).toEqual(['error', 'frame'])
    expect(ev[1]).toEqual({ type: 'frame', data: Buffer.of(0x05) })
  })

  it('reports a frame that ends right after an escape byte', () => {
    const ev = new SlipDecoder().push(Buffer.of(0xc0, 0x01, 0xdb, 0xc0))
    expect(ev).toEqual([{ type: 'error', reason: 'BAD_ESCAPE', message: expect.any(String) }])
  })

  it('drops an over-long frame with an error instead of growing without bound', () => {
    const d = new SlipDecoder({ maxFrameBytes: 8 })
    const ev = d.push(Buffer.concat([Buffer.of(0xc0), Buffer.alloc(20, 1), Buffer.of(0xc0, 0xc0, 0x07, 0xc0)]))
    expect(ev.map((e) => (e.type === 'error' ? e.reason : e.type))).toEqual(['FRAME_TOO_LONG', 'frame'])
  })

  it('round-trips every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    expect(new SlipDecoder().push(slipEncode(all))).toEqual([{ type: 'frame', data: all }])
  })
})
