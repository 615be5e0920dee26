/**
 * The ESP serial bootloader protocol (ROM loader and esptool's stub), as documented in esptool's
 * "Serial Protocol" page: command packets `00 op size(u16) checksum(u32) data`, responses
 * `01 op size(u16) value(u32) data`, the data ending in status bytes (4 from the ESP32-family ROM,
 * 2 from the stub). Pure encoders and parsers over Buffers; the flasher does the I/O.
 */
import type { Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'

export const OP = {
  FLASH_BEGIN: 0x02,
  FLASH_DATA: 0x03,
  FLASH_END: 0x04,
  MEM_BEGIN: 0x05,
  MEM_END: 0x06,
  MEM_DATA: 0x07,
  SYNC: 0x08,
  WRITE_REG: 0x09,
  READ_REG: 0x0a,
  SPI_SET_PARAMS: 0x0b,
  SPI_ATTACH: 0x0d,
  /** ROM-only, 64 bytes per command (esptool `ESP32ROM.read_flash_slow`). */
  READ_FLASH_SLOW: 0x0e,
  CHANGE_BAUDRATE: 0x0f,
  SPI_FLASH_MD5: 0x13,
  GET_SECURITY_INFO: 0x14,
  /** Stub-only commands. */
  ERASE_FLASH: 0xd0,
  ERASE_REGION: 0xd1,
  READ_FLASH: 0xd2,
  RUN_USER_CODE: 0xd3,
} as const

export type OpName = keyof typeof OP
export const OP_NAME = new Map<number, OpName>(Object.entries(OP).map(([k, v]) => [v, k as OpName]))

/** The ESP32, S2, S3, C3… ROM ends every response with 4 status bytes; the stub (and ESP8266) with 2. */
export const ROM_STATUS_BYTES = 4
export const STUB_STATUS_BYTES = 2

/** Block size of FLASH_DATA with the ROM loader (esptool `ESPLoader.FLASH_WRITE_SIZE`). */
export const ROM_FLASH_WRITE_SIZE = 0x400
export const STUB_FLASH_WRITE_SIZE = 0x4000
export const READ_FLASH_SLOW_BLOCK = 64
export const FLASH_SECTOR_SIZE = 0x1000

/** The 36-byte SYNC body: 07 07 12 20 then 32 × 0x55 (used by the chip for baud detection). */
export function syncPayload(): Buffer {
  return Buffer.concat([Buffer.of(0x07, 0x07, 0x12, 0x20), Buffer.alloc(32, 0x55)])
}

/** Seed 0xEF XORed with every byte of the "data to write" (not the 16-byte data-command header). */
export function checksum(data: Uint8Array): number {
  let c = 0xef
  for (const b of data) c ^= b
  return c
}

/** An unframed command packet; wrap it with `slipEncode` before sending. */
export function encodeCommand(op: number, data: Uint8Array = Buffer.alloc(0), chk = 0): Buffer {
  const out = Buffer.alloc(8 + data.length)
  out[0] = 0x00
  out[1] = op
  out.writeUInt16LE(data.length, 2)
  out.writeUInt32LE(chk >>> 0, 4)
  out.set(data, 8)
  return out
}

const words = (...ws: number[]): Buffer => {
  const b = Buffer.alloc(ws.length * 4)
  ws.forEach((w, i) => {
    b.writeUInt32LE(w >>> 0, i * 4)
  })
  return b
}

export function readRegPayload(address: number): Buffer {
  return words(address)
}

export function writeRegPayload(address: number, value: number, mask = 0xffffffff, delayUs = 0): Buffer {
  return words(address, value, mask, delayUs)
}

/** SPI_ATTACH: 0 = the default flash pins; the ROM loader wants a second, zero word. */
export function spiAttachPayload(isRom: boolean): Buffer {
  return isRom ? words(0, 0) : words(0)
}

/** SPI_SET_PARAMS with the values esptool sends (`flash_set_parameters`): only the size varies. */
export function spiSetParamsPayload(totalSizeBytes: number): Buffer {
  return words(0, totalSizeBytes, 64 * 1024, 4 * 1024, 256, 0xffff)
}

export interface FlashBeginParams {
  eraseSizeBytes: number
  packetCount: number
  packetSizeBytes: number
  offset: number
  /**
   * Chips whose ROM supports encrypted writes (S2, S3, C3 and later) take a fifth word in ROM mode
   * (esptool `flash_begin`: `SUPPORTS_ENCRYPTED_FLASH and not IS_STUB`); the ESP32 takes four.
   */
  encryptedWord?: boolean
}

export function flashBeginPayload(p: FlashBeginParams): Buffer {
  const base = words(p.eraseSizeBytes, p.packetCount, p.packetSizeBytes, p.offset)
  return p.encryptedWord ? Buffer.concat([base, words(0)]) : base
}

/** FLASH_DATA / MEM_DATA body: size, sequence, 0, 0, then the data; the checksum covers the data only. */
export function dataPayload(seq: number, data: Uint8Array): { payload: Buffer; checksum: number } {
  return { payload: Buffer.concat([words(data.length, seq, 0, 0), data]), checksum: checksum(data) }
}

/** FLASH_END: 0 reboots, 1 leaves the loader for user code. Sending it to the ROM exits the loader. */
export function flashEndPayload(runUserCode: boolean): Buffer {
  return words(runUserCode ? 1 : 0)
}

export function memBeginPayload(totalSize: number, packetCount: number, packetSize: number, address: number): Buffer {
  return words(totalSize, packetCount, packetSize, address)
}

export function memEndPayload(execute: boolean, entry: number): Buffer {
  return words(execute ? 0 : 1, entry)
}

export function readFlashSlowPayload(offset: number, length: number): Buffer {
  return words(offset, length)
}

/** Stub READ_FLASH: offset, length, packet size, packets in flight (esptool `read_flash`). */
export function readFlashStubPayload(
  offset: number,
  length: number,
  packetSize = FLASH_SECTOR_SIZE,
  maxInFlight = 64,
): Buffer {
  return words(offset, length, packetSize, maxInFlight)
}

export function md5Payload(offset: number, length: number): Buffer {
  return words(offset, length, 0, 0)
}

export function changeBaudPayload(newBaud: number, oldBaudOrZeroForRom: number): Buffer {
  return words(newBaud, oldBaudOrZeroForRom)
}

export interface Response {
  op: number
  value: number
  /** The body without the status bytes. */
  data: Buffer
  status: number
  error: number
}

/**
 * Parses one decoded frame as a response. A frame that is not a response at all (the stub's
 * "OHAI" greeting, raw READ_FLASH data) is reported as `not-a-response` so the caller can route it;
 * a frame that claims to be a response but does not add up is an error.
 */
export function parseResponse(frame: Buffer, statusBytes: number): Result<Response> | { ok: 'not-a-response' } {
  if (frame.length < 8 || frame[0] !== 0x01) return { ok: 'not-a-response' }
  const op = frame[1] as number
  const size = frame.readUInt16LE(2)
  if (size !== frame.length - 8) {
    return serialErr(
      'ROM_BAD_RESPONSE',
      `The device sent a corrupted reply (length ${frame.length - 8}, header says ${size}).`,
    )
  }
  if (size < statusBytes) {
    return serialErr('ROM_BAD_RESPONSE', `The device sent a reply without status bytes (${size} bytes).`)
  }
  const body = frame.subarray(8)
  const statusAt = body.length - statusBytes
  const status = body[statusAt] as number
  const error = body[statusAt + 1] as number
  if (status > 1) {
    return serialErr('ROM_BAD_RESPONSE', `The device sent a corrupted reply (status byte 0x${status.toString(16)}).`)
  }
  return ok({ op, value: frame.readUInt32LE(4), data: Buffer.from(body.subarray(0, statusAt)), status, error })
}

/** An encoded response, for the simulated ROM and for tests. */
export function encodeResponse(
  op: number,
  value: number,
  data: Uint8Array,
  status: number,
  error: number,
  statusBytes: number,
): Buffer {
  const st = Buffer.alloc(statusBytes)
  st[0] = status
  st[1] = error
  const body = Buffer.concat([data, st])
  const out = Buffer.alloc(8 + body.length)
  out[0] = 0x01
  out[1] = op
  out.writeUInt16LE(body.length, 2)
  out.writeUInt32LE(value >>> 0, 4)
  body.copy(out, 8)
  return out
}

/** ROM loader error codes (esptool docs, "ROM Loader Errors"), in words a technician can act on. */
const ROM_ERRORS: Record<number, string> = {
  5: 'the bootloader rejected the message (invalid parameters or length)',
  6: 'the bootloader failed to act on the message',
  7: 'the bootloader saw an invalid checksum in the message',
  8: 'flash write error: what was written did not read back the same',
  9: 'flash read error',
  10: 'flash read length error: the request was too long',
  11: 'deflate error in compressed data',
}

/** Stub loader error codes (esptool `flasher_stub/include/stub_flasher.h`). */
const STUB_ERRORS: Record<number, string> = {
  192: 'bad data length',
  193: 'bad data checksum',
  194: 'bad block size',
  195: 'invalid command',
  196: 'SPI flash operation failed',
  197: 'could not unlock the SPI flash',
  198: 'not in flash mode',
  199: 'inflate error',
  200: 'not enough data',
  201: 'too much data',
  255: 'unknown command (the loader has no such command)',
}

export function describeLoaderError(code: number): string {
  return ROM_ERRORS[code] ?? STUB_ERRORS[code] ?? `unknown error 0x${code.toString(16).padStart(2, '0')}`
}

/** Chip detection by the magic word at 0x40001000 (esptool `CHIP_DETECT_MAGIC_VALUE`). */
export const CHIP_DETECT_MAGIC_REG = 0x40001000

export type ChipName = 'ESP32' | 'ESP32-S2' | 'ESP32-S3' | 'ESP32-C3'

export interface ChipSpec {
  name: ChipName
  magic: readonly number[]
  /** FLASH_BEGIN takes the extra "encrypted" word in ROM mode. */
  romFlashBeginEncryptedWord: boolean
  /** Two words whose bytes form the base MAC (esptool `read_mac`). */
  macRegs: readonly [number, number]
}

export const CHIPS: readonly ChipSpec[] = [
  { name: 'ESP32', magic: [0x00f01d83], romFlashBeginEncryptedWord: false, macRegs: [0x3ff5a004, 0x3ff5a008] },
  { name: 'ESP32-S2', magic: [0x000007c6], romFlashBeginEncryptedWord: true, macRegs: [0x3f41a044, 0x3f41a048] },
  { name: 'ESP32-S3', magic: [0x00000009], romFlashBeginEncryptedWord: true, macRegs: [0x60007044, 0x60007048] },
  {
    name: 'ESP32-C3',
    magic: [0x6921506f, 0x1b31506f, 0x4881606f, 0x4361606f],
    romFlashBeginEncryptedWord: true,
    macRegs: [0x60008844, 0x60008848],
  },
]

export function chipForMagic(magic: number): ChipSpec | undefined {
  return CHIPS.find((c) => c.magic.includes(magic >>> 0))
}

/** MAC as esptool prints it: the low 16 bits of the second word, then the first word, big-endian. */
export function macFromWords(word0: number, word1: number): string {
  const b = Buffer.alloc(8)
  b.writeUInt32BE(word1 >>> 0, 0)
  b.writeUInt32BE(word0 >>> 0, 4)
  return [...b.subarray(2)].map((x) => x.toString(16).padStart(2, '0')).join(':')
}

/** The ROM's SPI_FLASH_MD5 reply is 32 ASCII hex digits; the stub's is 16 raw bytes. */
export function parseMd5Reply(data: Buffer): string | undefined {
  if (data.length === 32 && /^[0-9a-fA-F]{32}$/.test(data.toString('latin1')))
    return data.toString('latin1').toLowerCase()
  if (data.length === 16) return data.toString('hex')
  return undefined
}
