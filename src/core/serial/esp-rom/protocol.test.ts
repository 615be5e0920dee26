import { describe, expect, it } from 'vitest'
import {
  checksum,
  chipForMagic,
  dataPayload,
  describeLoaderError,
  encodeCommand,
  encodeResponse,
  flashBeginPayload,
  macFromWords,
  OP,
  parseMd5Reply,
  parseResponse,
  ROM_STATUS_BYTES,
  readRegPayload,
  STUB_STATUS_BYTES,
  spiAttachPayload,
  syncPayload,
} from './protocol'

const hex = (s: string) => Buffer.from(s, 'hex')

describe('command encoding', () => {
  it('encodes READ_REG as in the esptool trace example', () => {
    expect(encodeCommand(OP.READ_REG, readRegPayload(0x3ff40014)).toString('hex')).toBe('000a0400000000001400f43f')
  })

  it('encodes SYNC as in the esptool trace example (36-byte body)', () => {
    const packet = encodeCommand(OP.SYNC, syncPayload())
    expect(packet.subarray(0, 12).toString('hex')).toBe('000824000000000007071220')
    expect(packet.subarray(12).equals(Buffer.alloc(32, 0x55))).toBe(true)
  })

  it('computes the data checksum from the 0xEF seed over the data only', () => {
    expect(checksum(Buffer.alloc(0))).toBe(0xef)
    expect(checksum(Buffer.of(0xef))).toBe(0)
    expect(checksum(Buffer.of(0x01, 0x02, 0x04))).toBe(0xef ^ 0x07)
    const { payload, checksum: c } = dataPayload(3, Buffer.of(0xaa, 0x55))
    expect(payload.toString('hex')).toBe(`02000000${'03000000'}0000000000000000aa55`)
    expect(c).toBe(0xef ^ 0xaa ^ 0x55)
  })

  it('adds the fifth FLASH_BEGIN word only for chips that need it in ROM mode', () => {
    const p = { eraseSizeBytes: 0x6000, packetCount: 24, packetSizeBytes: 0x400, offset: 0x9000 }
    expect(flashBeginPayload(p).toString('hex')).toBe(['00600000', '18000000', '00040000', '00900000'].join(''))
    expect(flashBeginPayload({ ...p, encryptedWord: true }).length).toBe(20)
  })

  it('gives the ROM the extra zero word on SPI_ATTACH', () => {
    expect(spiAttachPayload(true).toString('hex')).toBe('0000000000000000')
    expect(spiAttachPayload(false).toString('hex')).toBe('00000000')
  })
})

describe('parseResponse', () => {
  it('parses the READ_REG reply of the esptool trace (2 status bytes)', () => {
    const r = parseResponse(hex('010a0200620100000000'), STUB_STATUS_BYTES)
    expect(r).toEqual({
      ok: true,
      value: { op: OP.READ_REG, value: 0x162, data: Buffer.alloc(0), status: 0, error: 0 },
    })
  })

  it('parses the SYNC reply of the esptool trace (ESP32 ROM, 4 status bytes)', () => {
    const r = parseResponse(hex('010804000712205500000000'), ROM_STATUS_BYTES)
    expect(r.ok === true && r.value.op).toBe(OP.SYNC)
  })

  it('returns the failure status and error code', () => {
    const r = parseResponse(encodeResponse(OP.FLASH_DATA, 0, Buffer.alloc(0), 1, 0x07, 4), ROM_STATUS_BYTES)
    expect(r.ok === true && [r.value.status, r.value.error]).toEqual([1, 0x07])
    expect(describeLoaderError(0x07)).toMatch(/checksum/)
    expect(describeLoaderError(0xc1)).toMatch(/checksum/)
    expect(describeLoaderError(0x99)).toMatch(/unknown error 0x99/)
  })

  it('rejects a reply whose size field disagrees with its length', () => {
    const bad = hex('010a0500620100000000')
    const r = parseResponse(bad, STUB_STATUS_BYTES)
    expect(r.ok).toBe(false)
  })

  it('rejects a reply too short for its status bytes, and a status byte above 1', () => {
    expect(parseResponse(hex('010a0200620100000000'), ROM_STATUS_BYTES).ok).toBe(false)
    expect(parseResponse(hex('010a0200620100000700'), STUB_STATUS_BYTES).ok).toBe(false)
  })

  it('routes frames that are not responses (the stub greeting "OHAI")', () => {
    expect(parseResponse(Buffer.from('OHAI'), ROM_STATUS_BYTES)).toEqual({ ok: 'not-a-response' })
  })
})

describe('chip identification', () => {
  it('knows the ESP32-S3 and ESP32 detection magic', () => {
    expect(chipForMagic(0x9)?.name).toBe('ESP32-S3')
    expect(chipForMagic(0x00f01d83)?.name).toBe('ESP32')
    expect(chipForMagic(0x12345678)).toBeUndefined()
  })

  it('assembles the MAC as esptool does', () => {
    expect(macFromWords(0x7c123456, 0x00002458)).toBe('24:58:7c:12:34:56')
  })

  it('parses ROM (hex text) and stub (raw) MD5 replies', () => {
    const md5 = '0123456789abcdef0123456789abcdef'
    expect(parseMd5Reply(Buffer.from(md5))).toBe(md5)
    expect(parseMd5Reply(Buffer.from(md5, 'hex'))).toBe(md5)
    expect(parseMd5Reply(Buffer.from('zz'))).toBeUndefined()
  })
})
