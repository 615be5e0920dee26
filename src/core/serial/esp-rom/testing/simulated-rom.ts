import { createHash } from 'node:crypto'
import type { NvsEntry } from '../../nvs/format'
import { readNvs } from '../../nvs/reader'
import { writeNvs } from '../../nvs/writer'
import type { BytePort } from '../byte-port'
import { ESP_MINER_NVS, ESP_MINER_PARTITIONS, encodePartitionTable, PARTITION_TABLE_OFFSET } from '../partition-table'
import {
  CHIP_DETECT_MAGIC_REG,
  CHIPS,
  type ChipName,
  checksum,
  encodeResponse,
  FLASH_SECTOR_SIZE,
  OP,
  READ_FLASH_SLOW_BLOCK,
  ROM_STATUS_BYTES,
} from '../protocol'
import { SlipDecoder, slipEncode } from '../slip'

/**
 * A simulated ESP32-family ROM serial bootloader for tests: a flash array, the two reset circuits,
 * and the documented command set (SYNC, READ_REG, SPI_ATTACH, SPI_SET_PARAMS, FLASH_BEGIN/DATA/END,
 * READ_FLASH_SLOW, SPI_FLASH_MD5) with 4 status bytes, as the ROM answers. It also plays a tiny
 * ESP-Miner firmware: booted normally, it prints the log lines ESP-Miner and ESP-IDF print when
 * joining Wi-Fi, using the SSID found in its own NVS partition.
 *
 * Faults can be injected to prove the host notices them (a garbage reply, a reply whose length
 * lies, damaged read data, a missing reply, an unplug in the middle of a write).
 */
export type RomFault =
  | { kind: 'garbage-reply'; op: number }
  | { kind: 'bad-length-reply'; op: number }
  | { kind: 'corrupt-read-data' }
  | { kind: 'no-reply'; op: number }
  | { kind: 'unplug-on-flash-data'; seq: number }

export type ResetCircuit = 'auto-program' | 'usb-jtag'

export interface SimulatedRomOptions {
  chip?: ChipName
  mac?: string
  flashSizeBytes?: number
  /** The `nvs` partition content; by default built with `writeNvs` from `nvsEntries`. */
  nvsImage?: Buffer
  nvsEntries?: NvsEntry[]
  resetCircuit?: ResetCircuit
  /** The IP the simulated firmware reports once it has joined Wi-Fi. */
  firmwareIp?: string
  /** False: the firmware fails to join its SSID (reason 201, no AP found) and never reports an IP. */
  wifiReachable?: boolean
}

type Mode = 'off' | 'reset' | 'download' | 'firmware'

export class SimulatedEspRom {
  readonly flash: Buffer
  readonly chip: (typeof CHIPS)[number]
  private readonly macWords: [number, number]
  private readonly resetCircuit: ResetCircuit
  private readonly firmwareIp: string
  private readonly wifiReachable: boolean
  private readonly decoder = new SlipDecoder()
  private mode: Mode = 'off'
  private dtr = false
  private rts = false
  private downloadLatch = false
  private spiAttached = false
  private write: { offset: number; size: number; packets: number; packetSize: number; nextSeq: number } | undefined
  private faults: RomFault[] = []
  private out: ((bytes: Buffer) => void) | undefined
  private unplugHooks: (() => void)[] = []
  /** Set once the simulated cable has been pulled; a new link is needed to talk again. */
  unplugged = false
  /** Every command op received, in order (for assertions about what the host did). */
  readonly received: number[] = []
  /** Everything sent as unframed text (boot banners, firmware log). */
  readonly consoleText: string[] = []

  constructor(opts: SimulatedRomOptions = {}) {
    const chipName = opts.chip ?? 'ESP32-S3'
    const chip = CHIPS.find((c) => c.name === chipName)
    if (!chip) throw new Error(`unknown chip ${chipName}`)
    this.chip = chip
    this.resetCircuit = opts.resetCircuit ?? (chipName === 'ESP32-S3' ? 'usb-jtag' : 'auto-program')
    this.firmwareIp = opts.firmwareIp ?? '192.168.1.77'
    this.wifiReachable = opts.wifiReachable ?? true
    this.flash = Buffer.alloc(opts.flashSizeBytes ?? 4 * 1024 * 1024, 0xff)
    encodePartitionTable(ESP_MINER_PARTITIONS).copy(this.flash, PARTITION_TABLE_OFFSET)
    let nvs = opts.nvsImage
    if (!nvs) {
      const built = writeNvs(opts.nvsEntries ?? [], ESP_MINER_NVS.size)
      if (!built.ok) throw new Error(built.error.message)
      nvs = built.value
    }
    nvs.copy(this.flash, ESP_MINER_NVS.offset)
    const mac = Buffer.from((opts.mac ?? '24:58:7c:12:34:56').split(':').map((h) => Number.parseInt(h, 16)))
    // Inverse of esptool's read_mac: bytes = (word1 >> 0..15 as big-endian) ++ word0.
    this.macWords = [mac.readUInt32BE(2), mac.readUInt16BE(0)]
  }

  inject(fault: RomFault): void {
    this.faults.push(fault)
  }

  /** Powers the board (as when it is plugged in): it boots its firmware, IO0 being high. */
  connect(out: (bytes: Buffer) => void): void {
    this.out = out
    this.unplugged = false
    this.mode = 'off'
    this.boot(false)
  }

  onUnplug(hook: () => void): void {
    this.unplugHooks.push(hook)
  }

  /** Pulls the simulated cable: the link must fail every further write. */
  unplug(): void {
    if (this.unplugged) return
    this.unplugged = true
    this.mode = 'off'
    for (const h of this.unplugHooks.splice(0)) h()
  }

  /** Makes the running firmware print one log line (to test what the monitor shows). */
  firmwareSays(line: string): void {
    if (this.mode === 'firmware') this.text(`${line}\r\n`)
  }

  get currentMode(): Mode {
    return this.mode
  }

  setSignals(s: { dtr: boolean; rts: boolean }): void {
    this.dtr = s.dtr
    this.rts = s.rts
    if (this.unplugged) return
    if (this.dtr && !this.rts) this.downloadLatch = true
    const enLow = this.rts && !this.dtr
    if (enLow) {
      this.mode = 'reset'
      return
    }
    if (this.mode === 'reset') {
      // Leaving reset: the auto-program circuit samples IO0 now; the USB-Serial/JTAG controller
      // remembers a download request made (DTR set, RTS clear) before the reset.
      const io0Low = this.dtr && !this.rts
      const download = this.resetCircuit === 'usb-jtag' ? this.downloadLatch || io0Low : io0Low
      this.boot(download)
    }
  }

  /** Bytes from the host. */
  receive(bytes: Uint8Array): void {
    if (this.unplugged || this.mode !== 'download') return
    for (const ev of this.decoder.push(bytes)) {
      if (ev.type === 'frame') this.handle(ev.data)
      if (this.unplugged) return
    }
  }

  private boot(download: boolean): void {
    this.downloadLatch = false
    this.spiAttached = false
    this.write = undefined
    if (download) {
      this.mode = 'download'
      this.text(
        'ESP-ROM:esp32s3-20210327\r\nrst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n',
      )
      return
    }
    this.mode = 'firmware'
    this.text('ESP-ROM:esp32s3-20210327\r\nrst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n')
    const nvs = readNvs(this.flash.subarray(ESP_MINER_NVS.offset, ESP_MINER_NVS.offset + ESP_MINER_NVS.size))
    const ssid = nvs.ok
      ? nvs.value.entries.find((e) => e.namespace === 'main' && e.key === 'wifissid')?.value
      : undefined
    // Line formats from bitaxeorg/ESP-Miner components/connect/connect.c and ESP-IDF esp_netif_handlers.c.
    const lines =
      typeof ssid === 'string' && ssid.length > 0 && !this.wifiReachable
        ? [
            'I (1203) connect: Configuring Wi-Fi STA',
            'I (1310) connect: Connecting...',
            `I (4310) connect: Could not connect to '${ssid}' [rssi -127]: reason 201`,
          ]
        : typeof ssid === 'string' && ssid.length > 0
          ? [
              'I (1203) connect: Configuring Wi-Fi STA',
              'I (1310) connect: Connecting...',
              'I (2544) connect: Acquiring IP...',
              `I (3561) esp_netif_handlers: sta ip: ${this.firmwareIp}, mask: 255.255.255.0, gw: 192.168.1.1`,
              `I (3562) connect: IPv4 Address: ${this.firmwareIp}`,
              `I (3563) connect: Connected to SSID: ${ssid}`,
            ]
          : [
              'I (1203) connect: No WiFi SSID provided, running in AP-only mode',
              'I (1250) connect: Configuration Access Point enabled',
            ]
    this.text(`${lines.map((l) => `\u001b[0;32m${l}\u001b[0m`).join('\r\n')}\r\n`)
  }

  private text(s: string): void {
    this.consoleText.push(s)
    this.send(Buffer.from(s, 'latin1'))
  }

  private send(bytes: Buffer): void {
    if (this.unplugged) return
    const out = this.out
    // Reply asynchronously, like a real device on the other end of a cable.
    if (out) setImmediate(() => !this.unplugged && out(bytes))
  }

  private takeFault<K extends RomFault['kind']>(
    kind: K,
    match: (f: Extract<RomFault, { kind: K }>) => boolean,
  ): boolean {
    const i = this.faults.findIndex((f) => f.kind === kind && match(f as Extract<RomFault, { kind: K }>))
    if (i === -1) return false
    this.faults.splice(i, 1)
    return true
  }

  private reply(op: number, value: number, data: Uint8Array = Buffer.alloc(0), status = 0, error = 0): void {
    if (this.takeFault('no-reply', (f) => f.op === op)) return
    if (this.takeFault('garbage-reply', (f) => f.op === op)) {
      this.send(Buffer.from([0xc0, 0x01, op, 0xdb, 0x42, 0x00, 0xc0]))
      return
    }
    const packet = encodeResponse(op, value, data, status, error, ROM_STATUS_BYTES)
    if (this.takeFault('bad-length-reply', (f) => f.op === op)) packet.writeUInt16LE(packet.readUInt16LE(2) + 3, 2)
    this.send(slipEncode(packet))
  }

  private fail(op: number, error: number): void {
    this.reply(op, 0, Buffer.alloc(0), 1, error)
  }

  private handle(frame: Buffer): void {
    if (frame.length < 8 || frame[0] !== 0x00) return
    const op = frame[1] as number
    const size = frame.readUInt16LE(2)
    const chk = frame.readUInt32LE(4)
    const data = frame.subarray(8)
    this.received.push(op)
    if (size !== data.length) {
      this.fail(op, 0x05)
      return
    }
    const w = (i: number) => (data.length >= (i + 1) * 4 ? data.readUInt32LE(i * 4) : -1)
    switch (op) {
      case OP.SYNC: {
        const expected = Buffer.concat([Buffer.of(0x07, 0x07, 0x12, 0x20), Buffer.alloc(32, 0x55)])
        if (!data.equals(expected)) return
        // The ROM answers one SYNC several times; hosts must skip the extra replies.
        for (let i = 0; i < 8; i++) this.reply(OP.SYNC, 0x20120707)
        return
      }
      case OP.READ_REG: {
        const addr = w(0) >>> 0
        let value = 0
        if (addr === CHIP_DETECT_MAGIC_REG) value = this.chip.magic[0] as number
        else if (addr === this.chip.macRegs[0]) value = this.macWords[0]
        else if (addr === this.chip.macRegs[1]) value = this.macWords[1]
        this.reply(op, value)
        return
      }
      case OP.WRITE_REG:
      case OP.CHANGE_BAUDRATE:
        this.reply(op, 0)
        return
      case OP.SPI_ATTACH:
        // The ROM loader takes two words here (esptool docs, "SPI Attach command").
        if (data.length !== 8) {
          this.fail(op, 0x05)
          return
        }
        this.spiAttached = true
        this.reply(op, 0)
        return
      case OP.SPI_SET_PARAMS:
        if (data.length !== 24) {
          this.fail(op, 0x05)
          return
        }
        this.reply(op, 0)
        return
      case OP.FLASH_BEGIN: {
        const words = this.chip.romFlashBeginEncryptedWord ? 5 : 4
        if (!this.spiAttached || data.length !== words * 4) {
          this.fail(op, 0x05)
          return
        }
        const [size, packets, packetSize, offset] = [w(0), w(1), w(2), w(3)]
        if (offset % FLASH_SECTOR_SIZE !== 0 || offset + size > this.flash.length) {
          this.fail(op, 0x05)
          return
        }
        const eraseEnd = Math.min(this.flash.length, offset + Math.ceil(size / FLASH_SECTOR_SIZE) * FLASH_SECTOR_SIZE)
        this.flash.fill(0xff, offset, eraseEnd)
        this.write = { offset, size, packets, packetSize, nextSeq: 0 }
        this.reply(op, 0)
        return
      }
      case OP.FLASH_DATA: {
        const wr = this.write
        if (!wr) {
          this.fail(op, 0x05)
          return
        }
        const [len, seq] = [w(0), w(1)]
        const body = data.subarray(16)
        if (this.takeFault('unplug-on-flash-data', (f) => f.seq === seq)) {
          this.unplug()
          return
        }
        if (len !== body.length || len !== wr.packetSize || seq !== wr.nextSeq || seq >= wr.packets) {
          this.fail(op, 0x05)
          return
        }
        if ((chk & 0xff) !== checksum(body) || chk > 0xff) {
          this.fail(op, 0x07)
          return
        }
        const at = wr.offset + seq * wr.packetSize
        const n = Math.max(0, Math.min(body.length, this.flash.length - at))
        body.copy(this.flash, at, 0, n)
        wr.nextSeq++
        this.reply(op, 0)
        return
      }
      case OP.FLASH_END:
        this.reply(op, 0)
        this.write = undefined
        // Sent to the ROM, FLASH_END leaves the loader (esptool skips it for that reason).
        if (w(0) === 1 || w(0) === 0) this.boot(false)
        return
      case OP.READ_FLASH_SLOW: {
        const [offset, len] = [w(0), w(1)]
        if (!this.spiAttached || len > READ_FLASH_SLOW_BLOCK || offset + len > this.flash.length) {
          this.fail(op, 0x0a)
          return
        }
        const block = Buffer.alloc(READ_FLASH_SLOW_BLOCK, 0)
        this.flash.copy(block, 0, offset, offset + len)
        if (this.takeFault('corrupt-read-data', () => true)) block[0] = (block[0] as number) ^ 0x01
        this.reply(op, 0, block)
        return
      }
      case OP.SPI_FLASH_MD5: {
        const [offset, len] = [w(0), w(1)]
        if (!this.spiAttached || offset + len > this.flash.length) {
          this.fail(op, 0x05)
          return
        }
        const hex = createHash('md5')
          .update(this.flash.subarray(offset, offset + len))
          .digest('hex')
        this.reply(op, 0, Buffer.from(hex, 'latin1'))
        return
      }
      default:
        // Stub-only commands (READ_FLASH 0xD2, ERASE_*) are unknown to the ROM.
        this.fail(op, 0x05)
        return
    }
  }
}

/** An in-memory cable between a host BytePort and the simulated ROM (no serialport involved). */
export function directPort(rom: SimulatedEspRom): BytePort {
  const dataCbs = new Set<(chunk: Buffer) => void>()
  const closeCbs = new Set<(cause?: Error) => void>()
  let open = true
  const closeWith = (cause?: Error) => {
    if (!open) return
    open = false
    for (const cb of closeCbs) cb(cause)
  }
  rom.onUnplug(() => closeWith(new Error('device disconnected')))
  rom.connect((bytes) => {
    if (open) for (const cb of dataCbs) cb(bytes)
  })
  return {
    async write(bytes) {
      if (!open || rom.unplugged) throw new Error('Port is not open')
      rom.receive(bytes)
    },
    onData(cb) {
      dataCbs.add(cb)
      return () => dataCbs.delete(cb)
    },
    onClose(cb) {
      closeCbs.add(cb)
      return () => closeCbs.delete(cb)
    },
    async setSignals(s) {
      if (!open) throw new Error('Port is not open')
      rom.setSignals(s)
    },
    async close() {
      closeWith()
    },
  }
}
