import { createHash } from 'node:crypto'
import type { AppError, Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import type { Logger } from '../../logger'
import { serialErr, serialError } from '../serial-error'
import type { BytePort } from './byte-port'
import {
  ESP_MINER_NVS,
  findEspMinerNvs,
  PARTITION_TABLE_MAX_BYTES,
  PARTITION_TABLE_OFFSET,
  type Partition,
  parsePartitionTable,
} from './partition-table'
import {
  CHIP_DETECT_MAGIC_REG,
  type ChipSpec,
  chipForMagic,
  dataPayload,
  describeLoaderError,
  encodeCommand,
  flashBeginPayload,
  macFromWords,
  md5Payload,
  OP,
  OP_NAME,
  parseMd5Reply,
  parseResponse,
  READ_FLASH_SLOW_BLOCK,
  type Response,
  ROM_FLASH_WRITE_SIZE,
  ROM_STATUS_BYTES,
  readFlashSlowPayload,
  readRegPayload,
  spiAttachPayload,
  spiSetParamsPayload,
  syncPayload,
} from './protocol'
import { type Delay, hardReset, type ResetStrategy, realDelay, resetIntoBootloader } from './reset'
import { SlipDecoder, slipEncode } from './slip'

export interface ChipInfo {
  chip: ChipSpec['name']
  /** Base MAC, `aa:bb:cc:dd:ee:ff`: the key under which a device's backup is kept. */
  mac: string
}

export type FlashPhase = 'connect' | 'read' | 'erase' | 'write' | 'verify' | 'reset'

export interface FlashProgress {
  phase: FlashPhase
  doneBytes: number
  totalBytes: number
}

export type ProgressFn = (p: FlashProgress) => void

/** Every limit is an option with the default esptool uses (`loader.py` timeouts). */
export interface FlasherOptions {
  resetStrategy?: ResetStrategy
  /** Reset-and-sync rounds before giving up (each round alternates the strategy after the first two). */
  connectAttempts?: number
  /** SYNC commands per round (esptool sends up to 7, 100 ms apart). */
  syncsPerAttempt?: number
  syncTimeoutMs?: number
  commandTimeoutMs?: number
  /** Erasing is slow: FLASH_BEGIN waits this long per MiB (esptool `ERASE_REGION_TIMEOUT_PER_MB`). */
  eraseTimeoutMsPerMib?: number
  md5TimeoutMsPerMib?: number
  /** Length of one DTR/RTS step; tests shorten it, hardware needs ~100 ms. */
  resetStepMs?: number
  delay?: Delay
  /** Declared to the ROM with SPI_SET_PARAMS; only bounds its reads and writes. */
  flashSizeBytes?: number
  /** After writing, also read the region back byte for byte (slow on the ROM: 64 bytes a command). */
  readBackAfterWrite?: boolean
  logger?: Logger
}

const DEFAULTS = {
  resetStrategy: 'classic' as ResetStrategy,
  connectAttempts: 4,
  syncsPerAttempt: 7,
  syncTimeoutMs: 100,
  commandTimeoutMs: 3000,
  eraseTimeoutMsPerMib: 30_000,
  md5TimeoutMsPerMib: 8000,
  resetStepMs: 100,
  flashSizeBytes: 4 * 1024 * 1024,
  readBackAfterWrite: false,
}

type Incoming = { kind: 'frame'; data: Buffer } | { kind: 'garbage'; message: string }

const MIB = 1024 * 1024

/**
 * Drives the ESP32-family ROM serial bootloader over a byte port: reset into download mode, sync,
 * identify the chip, attach flash, read (64-byte READ_FLASH_SLOW commands, checked afterwards with
 * SPI_FLASH_MD5), write (FLASH_BEGIN/FLASH_DATA, verified with SPI_FLASH_MD5) and hard-reset.
 *
 * Failures come back as values with a plain message. Writes are never retried: after a timeout the
 * state of the flash is unknown (devices.md §7). Nothing here logs NVS contents or passwords.
 */
export class EspRomFlasher {
  private readonly o: typeof DEFAULTS & { delay: Delay; logger?: Logger }
  private readonly decoder = new SlipDecoder()
  private readonly inbox: Incoming[] = []
  private wake: (() => void) | undefined
  private closedBy: Error | undefined | null = null
  private readonly unsubscribe: (() => void)[] = []
  private chip: ChipSpec | undefined
  private strategyInUse: ResetStrategy

  constructor(
    private readonly port: BytePort,
    options: FlasherOptions = {},
  ) {
    const { logger, delay, ...rest } = options
    this.o = { ...DEFAULTS, ...stripUndefined(rest), delay: delay ?? realDelay, ...(logger ? { logger } : {}) }
    this.strategyInUse = this.o.resetStrategy
    this.unsubscribe.push(port.onData((chunk) => this.receive(chunk)))
    this.unsubscribe.push(
      port.onClose((cause) => {
        this.closedBy = cause
        this.notify()
      }),
    )
  }

  /** Stops listening to the port (does not close it: the caller owns it). */
  dispose(): void {
    for (const u of this.unsubscribe.splice(0)) u()
  }

  get chipInfo(): ChipSpec | undefined {
    return this.chip
  }

  // ---- connection -------------------------------------------------------------------------

  async connect(onProgress?: ProgressFn): Promise<Result<ChipInfo>> {
    const attempts = Math.max(1, this.o.connectAttempts)
    let synced = false
    for (let a = 0; a < attempts && !synced; a++) {
      // Try the configured sequence twice, then alternate: a board guess from USB ids can be wrong.
      const strategy = a < 2 ? this.o.resetStrategy : a % 2 === 0 ? this.o.resetStrategy : other(this.o.resetStrategy)
      onProgress?.({ phase: 'connect', doneBytes: a, totalBytes: attempts })
      const closed = this.closedError('while connecting')
      if (closed) return { ok: false, error: closed }
      try {
        await resetIntoBootloader(this.port, strategy, this.o.delay, this.o.resetStepMs)
      } catch (e) {
        return serialErr('PORT_ERROR', `Could not set DTR/RTS on the serial port: ${messageOf(e)}`)
      }
      this.inbox.length = 0
      for (let s = 0; s < this.o.syncsPerAttempt; s++) {
        const r = await this.command(OP.SYNC, syncPayload(), 0, this.o.syncTimeoutMs)
        if (r.ok) {
          synced = true
          this.strategyInUse = strategy
          break
        }
        const reason = (r.error.details as { reason?: string } | undefined)?.reason
        if (reason === 'PORT_CLOSED' || reason === 'PORT_ERROR') return r
      }
    }
    if (!synced) {
      return serialErr(
        'ROM_SYNC_FAILED',
        'The device did not answer in download mode. Check the USB cable (a data cable, not charge-only), then hold BOOT while pressing RESET and try again.',
      )
    }
    await this.o.delay(Math.min(this.o.resetStepMs, 50))
    this.inbox.length = 0

    const magic = await this.command(OP.READ_REG, readRegPayload(CHIP_DETECT_MAGIC_REG))
    if (!magic.ok) return magic
    const chip = chipForMagic(magic.value.value)
    if (!chip) {
      return serialErr(
        'ROM_NOT_SUPPORTED',
        `Unknown chip (magic 0x${magic.value.value.toString(16)}); only ESP32, ESP32-S2, ESP32-S3 and ESP32-C3 are supported.`,
      )
    }
    this.chip = chip
    const w0 = await this.command(OP.READ_REG, readRegPayload(chip.macRegs[0]))
    if (!w0.ok) return w0
    const w1 = await this.command(OP.READ_REG, readRegPayload(chip.macRegs[1]))
    if (!w1.ok) return w1
    const attach = await this.command(OP.SPI_ATTACH, spiAttachPayload(true))
    if (!attach.ok) return attach
    const params = await this.command(OP.SPI_SET_PARAMS, spiSetParamsPayload(this.o.flashSizeBytes))
    if (!params.ok) return params
    const info = { chip: chip.name, mac: macFromWords(w0.value.value, w1.value.value) }
    this.o.logger?.info('esp rom connected', { chip: info.chip, mac: info.mac, reset: this.strategyInUse })
    return ok(info)
  }

  /** Leaves download mode and boots the firmware. */
  async hardReset(onProgress?: ProgressFn): Promise<Result<null>> {
    onProgress?.({ phase: 'reset', doneBytes: 0, totalBytes: 1 })
    try {
      await hardReset(this.port, this.strategyInUse, this.o.delay, this.o.resetStepMs)
    } catch (e) {
      return serialErr('PORT_ERROR', `Could not reset the device: ${messageOf(e)}`)
    }
    onProgress?.({ phase: 'reset', doneBytes: 1, totalBytes: 1 })
    return ok(null)
  }

  // ---- flash access -----------------------------------------------------------------------

  async flashMd5(offset: number, length: number): Promise<Result<string>> {
    const r = await this.command(
      OP.SPI_FLASH_MD5,
      md5Payload(offset, length),
      0,
      this.scaled(this.o.md5TimeoutMsPerMib, length),
    )
    if (!r.ok) return r
    const md5 = parseMd5Reply(r.value.data)
    if (!md5) return serialErr('ROM_BAD_RESPONSE', 'The device sent a corrupted MD5 reply.')
    return ok(md5)
  }

  /**
   * Reads flash with the ROM's 64-byte READ_FLASH_SLOW, then asks the chip for the MD5 of the
   * same region: SLIP has no checksum, so this is what catches bytes damaged on the way.
   */
  async readFlash(offset: number, length: number, onProgress?: ProgressFn): Promise<Result<Buffer>> {
    const bad = this.checkRange(offset, length)
    if (bad) return { ok: false, error: bad }
    const out = Buffer.alloc(length)
    for (let done = 0; done < length; ) {
      const n = Math.min(READ_FLASH_SLOW_BLOCK, length - done)
      const r = await this.command(OP.READ_FLASH_SLOW, readFlashSlowPayload(offset + done, n))
      if (!r.ok) return r
      // The ROM always answers with a 64-byte buffer, however many bytes were asked for.
      if (r.value.data.length < n) {
        return serialErr('ROM_BAD_RESPONSE', `The device sent ${r.value.data.length} bytes where ${n} were expected.`)
      }
      r.value.data.copy(out, done, 0, n)
      done += n
      onProgress?.({ phase: 'read', doneBytes: done, totalBytes: length })
    }
    const md5 = await this.flashMd5(offset, length)
    if (!md5.ok) return md5
    if (md5.value !== createHash('md5').update(out).digest('hex')) {
      return serialErr(
        'VERIFY_FAILED',
        'The data read from the device was damaged on the way (MD5 mismatch). Try again or use another cable.',
      )
    }
    return ok(out)
  }

  /**
   * Erases and writes `data` at `offset` (FLASH_BEGIN, FLASH_DATA × n), then verifies with
   * SPI_FLASH_MD5 and, if configured, a byte-for-byte read-back. FLASH_END is not sent: on the
   * ROM loader it leaves download mode (esptool skips it too), and we still need to verify.
   */
  async writeFlash(offset: number, data: Uint8Array, onProgress?: ProgressFn): Promise<Result<null>> {
    const chip = this.chip
    if (!chip) return serialErr('BAD_ARGUMENT', 'Connect to the device before writing.')
    if (offset % 0x1000 !== 0) return serialErr('BAD_ARGUMENT', 'Flash writes must start on a 4 KiB sector boundary.')
    const bad = this.checkRange(offset, data.length)
    if (bad) return { ok: false, error: bad }
    const image = padTo(Buffer.from(data), 4)
    const packetCount = Math.ceil(image.length / ROM_FLASH_WRITE_SIZE)
    onProgress?.({ phase: 'erase', doneBytes: 0, totalBytes: image.length })
    const begin = await this.command(
      OP.FLASH_BEGIN,
      flashBeginPayload({
        eraseSizeBytes: image.length,
        packetCount,
        packetSizeBytes: ROM_FLASH_WRITE_SIZE,
        offset,
        encryptedWord: chip.romFlashBeginEncryptedWord,
      }),
      0,
      this.scaled(this.o.eraseTimeoutMsPerMib, image.length),
    )
    if (!begin.ok) return this.duringWrite(begin.error, offset, 0, packetCount)
    for (let seq = 0; seq < packetCount; seq++) {
      const chunk = Buffer.alloc(ROM_FLASH_WRITE_SIZE, 0xff)
      image.copy(chunk, 0, seq * ROM_FLASH_WRITE_SIZE, Math.min(image.length, (seq + 1) * ROM_FLASH_WRITE_SIZE))
      const { payload, checksum } = dataPayload(seq, chunk)
      const r = await this.command(OP.FLASH_DATA, payload, checksum)
      if (!r.ok) return this.duringWrite(r.error, offset, seq, packetCount)
      onProgress?.({
        phase: 'write',
        doneBytes: Math.min(image.length, (seq + 1) * ROM_FLASH_WRITE_SIZE),
        totalBytes: image.length,
      })
    }
    onProgress?.({ phase: 'verify', doneBytes: 0, totalBytes: image.length })
    const md5 = await this.flashMd5(offset, image.length)
    if (!md5.ok) return md5
    if (md5.value !== createHash('md5').update(image).digest('hex')) {
      return serialErr(
        'VERIFY_FAILED',
        'The flash does not hold what was written (MD5 mismatch). Do not unplug; restore the backup.',
      )
    }
    if (this.o.readBackAfterWrite) {
      const back = await this.readFlash(offset, image.length, (p) => onProgress?.({ ...p, phase: 'verify' }))
      if (!back.ok) return back
      if (!back.value.equals(image))
        return serialErr('VERIFY_FAILED', 'Reading the flash back did not match what was written.')
    }
    onProgress?.({ phase: 'verify', doneBytes: image.length, totalBytes: image.length })
    return ok(null)
  }

  // ---- partitions -------------------------------------------------------------------------

  async readPartitionTable(): Promise<Result<Partition[]>> {
    const raw = await this.readFlash(PARTITION_TABLE_OFFSET, PARTITION_TABLE_MAX_BYTES)
    if (!raw.ok) return raw
    return parsePartitionTable(raw.value)
  }

  /** Reads ESP-Miner's `nvs` partition after checking the table puts it at 0x9000, size 0x6000. */
  async readNvsPartition(onProgress?: ProgressFn): Promise<Result<Buffer>> {
    const nvs = await this.nvsPartition()
    if (!nvs.ok) return nvs
    return this.readFlash(nvs.value.offset, nvs.value.size, onProgress)
  }

  /** Writes a whole `nvs` image (exactly 0x6000 bytes) where the partition table says it lives. */
  async writeNvsPartition(image: Uint8Array, onProgress?: ProgressFn): Promise<Result<null>> {
    if (image.length !== ESP_MINER_NVS.size) {
      return serialErr(
        'BAD_ARGUMENT',
        `An NVS image for this device must be ${ESP_MINER_NVS.size} bytes; got ${image.length}.`,
      )
    }
    const nvs = await this.nvsPartition()
    if (!nvs.ok) return nvs
    return this.writeFlash(nvs.value.offset, image, onProgress)
  }

  private async nvsPartition(): Promise<Result<Partition>> {
    const table = await this.readPartitionTable()
    if (!table.ok) return table
    return findEspMinerNvs(table.value)
  }

  // ---- command/response -------------------------------------------------------------------

  private async command(
    op: number,
    data: Uint8Array,
    chk = 0,
    timeoutMs = this.o.commandTimeoutMs,
  ): Promise<Result<Response>> {
    const name = OP_NAME.get(op) ?? `0x${op.toString(16)}`
    const closed = this.closedError(`before ${name}`)
    if (closed) return { ok: false, error: closed }
    try {
      await this.port.write(slipEncode(encodeCommand(op, data, chk)))
    } catch (e) {
      return {
        ok: false,
        error: this.closedError(`while sending ${name}`) ?? portClosed(`while sending ${name}: ${messageOf(e)}`),
      }
    }
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const next = await this.nextIncoming(deadline)
      if (next === 'closed')
        return { ok: false, error: this.closedError(`waiting for the reply to ${name}`) ?? portClosed('') }
      if (next === 'timeout')
        return serialErr('ROM_TIMEOUT', `The device did not answer ${name} within ${timeoutMs} ms.`, { op })
      if (next.kind === 'garbage') {
        return serialErr('ROM_BAD_RESPONSE', `The device sent a corrupted reply to ${name}: ${next.message}`, { op })
      }
      const r = parseResponse(next.data, ROM_STATUS_BYTES)
      if (r.ok === 'not-a-response') continue
      if (!r.ok) return serialErr('ROM_BAD_RESPONSE', `${r.error.message} (waiting for ${name})`, { op })
      // Replies to earlier commands (SYNC answers several times) are skipped, as esptool does.
      if (r.value.op !== op) continue
      if (r.value.status !== 0) {
        return serialErr('ROM_COMMAND_FAILED', `${name} failed: ${describeLoaderError(r.value.error)}.`, {
          op,
          code: r.value.error,
        })
      }
      return ok(r.value)
    }
  }

  private receive(chunk: Buffer): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.type === 'frame') this.inbox.push({ kind: 'frame', data: ev.data })
      else if (ev.type === 'error') this.inbox.push({ kind: 'garbage', message: ev.message })
      // Noise is the chip's own boot text; it is not needed here and may hold anything, so it is dropped.
    }
    this.notify()
  }

  private notify(): void {
    const w = this.wake
    this.wake = undefined
    w?.()
  }

  private async nextIncoming(deadline: number): Promise<Incoming | 'timeout' | 'closed'> {
    for (;;) {
      const item = this.inbox.shift()
      if (item) return item
      if (this.closedBy !== null) return 'closed'
      const left = deadline - Date.now()
      if (left <= 0) return 'timeout'
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(t)
          resolve()
        }
      })
    }
  }

  private closedError(when: string): AppError | undefined {
    if (this.closedBy === null) return undefined
    const cause = this.closedBy ? `: ${this.closedBy.message}` : ''
    return portClosed(`${when}${cause}`)
  }

  private duringWrite(e: AppError, offset: number, seq: number, packets: number): Result<null> {
    const reason = (e.details as { reason?: string } | undefined)?.reason
    const where = `at 0x${offset.toString(16)} (block ${seq + 1} of ${packets})`
    if (reason === 'PORT_CLOSED' || reason === 'PORT_ERROR') {
      return serialErr(
        'PORT_CLOSED',
        `The device was unplugged or the port closed while writing ${where}. Its settings may be half written; the backup taken before writing is intact and can be restored.`,
        { offset, block: seq, blocks: packets },
      )
    }
    return {
      ok: false,
      error: { ...e, message: `${e.message} Writing stopped ${where}; restore the backup before using the device.` },
    }
  }

  private checkRange(offset: number, length: number): AppError | undefined {
    if (
      !Number.isInteger(offset) ||
      !Number.isInteger(length) ||
      offset < 0 ||
      length <= 0 ||
      offset + length > this.o.flashSizeBytes
    ) {
      return serialError(
        'BAD_ARGUMENT',
        `Flash range 0x${offset.toString(16)}+${length} is outside the ${this.o.flashSizeBytes}-byte flash.`,
      )
    }
    return undefined
  }

  private scaled(msPerMib: number, bytes: number): number {
    return Math.max(this.o.commandTimeoutMs, Math.ceil((msPerMib * bytes) / MIB))
  }
}

function portClosed(detail: string): AppError {
  return serialError('PORT_CLOSED', `The serial port closed ${detail}`.trim())
}

function other(s: ResetStrategy): ResetStrategy {
  return s === 'classic' ? 'usb-jtag' : 'classic'
}

function padTo(b: Buffer, align: number): Buffer {
  const rem = b.length % align
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(align - rem, 0xff)])
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
