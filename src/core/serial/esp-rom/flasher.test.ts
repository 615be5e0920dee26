import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseNvsCsv } from '../nvs/csv'
import { nvsFixture } from '../nvs/testing/fixtures'
import { serialReasonOf } from '../serial-error'
import { EspRomFlasher, type FlasherOptions, type FlashProgress } from './flasher'
import { ESP_MINER_PARTITIONS, encodePartitionTable } from './partition-table'
import { OP } from './protocol'
import { directPort, SimulatedEspRom, type SimulatedRomOptions } from './testing/simulated-rom'

const legacyEntries = () => {
  const r = parseNvsCsv(nvsFixture('bitaxe-legacy.csv').toString('utf8'))
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

/** Fast DTR/RTS steps: the simulator models edges, not timing. */
const FAST: FlasherOptions = { resetStepMs: 1 }

function setup(romOpts: SimulatedRomOptions = {}, opts: FlasherOptions = {}) {
  const rom = new SimulatedEspRom({ nvsEntries: legacyEntries(), ...romOpts })
  const port = directPort(rom)
  const flasher = new EspRomFlasher(port, { ...FAST, resetStrategy: 'usb-jtag', ...opts })
  return { rom, port, flasher }
}

async function connected(romOpts: SimulatedRomOptions = {}, opts: FlasherOptions = {}) {
  const s = setup(romOpts, opts)
  const c = await s.flasher.connect()
  if (!c.ok) throw new Error(c.error.message)
  return { ...s, chip: c.value }
}

describe('EspRomFlasher.connect', () => {
  it('resets an ESP32-S3 over USB-Serial/JTAG into download mode, syncs, and reads chip and MAC', async () => {
    const { rom, chip } = await connected({ mac: 'f4:12:fa:01:02:03' })
    expect(chip).toEqual({ chip: 'ESP32-S3', mac: 'f4:12:fa:01:02:03' })
    expect(rom.currentMode).toBe('download')
    expect(rom.received.slice(0, 1)).toEqual([OP.SYNC])
    expect(rom.received).toContain(OP.SPI_ATTACH)
  })

  it('uses the classic DTR/RTS sequence on a board with a USB-UART bridge', async () => {
    const { chip } = await connected({ chip: 'ESP32', resetCircuit: 'auto-program' }, { resetStrategy: 'classic' })
    expect(chip.chip).toBe('ESP32')
  })

  it('falls back to the other reset sequence when the guessed one does not work', async () => {
    const { chip } = await connected({ resetCircuit: 'auto-program' }, { resetStrategy: 'usb-jtag', syncTimeoutMs: 20 })
    expect(chip.chip).toBe('ESP32-S3')
  })

  it('says clearly when the chip never answers', async () => {
    const { flasher } = setup(
      { resetCircuit: 'auto-program' },
      { resetStrategy: 'usb-jtag', connectAttempts: 1, syncsPerAttempt: 2, syncTimeoutMs: 20 },
    )
    const r = await flasher.connect()
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe('ROM_SYNC_FAILED')
      expect(r.error.message).toMatch(/BOOT/)
    }
  })
})

describe('EspRomFlasher reads', () => {
  it('reads the partition table and the nvs partition, verified by the chip’s MD5', async () => {
    const { rom, flasher } = await connected()
    const table = await flasher.readPartitionTable()
    expect(table).toEqual({ ok: true, value: ESP_MINER_PARTITIONS })
    const progress: FlashProgress[] = []
    const nvs = await flasher.readNvsPartition((p) => progress.push(p))
    expect(nvs.ok && nvs.value.equals(rom.flash.subarray(0x9000, 0xf000))).toBe(true)
    expect(progress.at(-1)).toEqual({ phase: 'read', doneBytes: 0x6000, totalBytes: 0x6000 })
    // One MD5 check per read: the table above, the table again before nvs, then nvs itself.
    expect(rom.received.filter((op) => op === OP.SPI_FLASH_MD5).length).toBe(3)
  })

  it('detects read data damaged on the way (MD5 mismatch)', async () => {
    const { rom, flasher } = await connected()
    rom.inject({ kind: 'corrupt-read-data' })
    const r = await flasher.readNvsPartition()
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('VERIFY_FAILED')
  })

  it('detects a garbage reply (invalid SLIP escape)', async () => {
    const { rom, flasher } = await connected()
    rom.inject({ kind: 'garbage-reply', op: OP.READ_FLASH_SLOW })
    const r = await flasher.readPartitionTable()
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe('ROM_BAD_RESPONSE')
      expect(r.error.message).toMatch(/corrupted reply to READ_FLASH_SLOW/)
    }
  })

  it('detects a reply whose length field lies', async () => {
    const { rom, flasher } = await connected()
    rom.inject({ kind: 'bad-length-reply', op: OP.SPI_FLASH_MD5 })
    const r = await flasher.flashMd5(0x9000, 0x6000)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('ROM_BAD_RESPONSE')
  })

  it('times out with a plain message when a reply never comes', async () => {
    const { rom, flasher } = await connected({}, { commandTimeoutMs: 50 })
    rom.inject({ kind: 'no-reply', op: OP.SPI_FLASH_MD5 })
    const r = await flasher.flashMd5(0, 0x1000)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe('ROM_TIMEOUT')
      expect(r.error.message).toMatch(/did not answer SPI_FLASH_MD5/)
    }
  })

  it('refuses when the partition table puts nvs somewhere else', async () => {
    const moved = ESP_MINER_PARTITIONS.map((p) => (p.label === 'nvs' ? { ...p, offset: 0xa000 } : p))
    const s = setup()
    encodePartitionTable(moved).copy(s.rom.flash, 0x8000)
    await s.flasher.connect()
    const r = await s.flasher.readNvsPartition()
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('NVS_PARTITION_UNEXPECTED')
  })
})

describe('EspRomFlasher writes', () => {
  it('writes with FLASH_BEGIN/FLASH_DATA, verifies by MD5, and can read back byte for byte', async () => {
    const { rom, flasher } = await connected({}, { readBackAfterWrite: true })
    const image = Buffer.alloc(0x6000)
    for (let i = 0; i < image.length; i++) image[i] = (i * 31) & 0xff
    const progress: FlashProgress[] = []
    const r = await flasher.writeNvsPartition(image, (p) => progress.push(p))
    expect(r).toEqual({ ok: true, value: null })
    expect(rom.flash.subarray(0x9000, 0xf000).equals(image)).toBe(true)
    expect(rom.received.filter((op) => op === OP.FLASH_DATA).length).toBe(24)
    expect(rom.received).not.toContain(OP.FLASH_END)
    expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['erase', 'write', 'verify']))
    expect(createHash('md5').update(rom.flash.subarray(0, 0x8000)).digest('hex')).toBe(
      createHash('md5').update(Buffer.alloc(0x8000, 0xff)).digest('hex'),
    )
  })

  it('refuses an image of the wrong size and writes outside the flash', async () => {
    const { flasher } = await connected()
    const a = await flasher.writeNvsPartition(Buffer.alloc(0x5000))
    expect(a.ok).toBe(false)
    const b = await flasher.writeFlash(0x3ff000, Buffer.alloc(0x2000))
    expect(b.ok).toBe(false)
    if (!b.ok) expect(serialReasonOf(b.error)).toBe('BAD_ARGUMENT')
  })

  it('reports an unplug in the middle of a write and says the backup is intact', async () => {
    const { rom, flasher } = await connected()
    rom.inject({ kind: 'unplug-on-flash-data', seq: 5 })
    const r = await flasher.writeNvsPartition(Buffer.alloc(0x6000, 0x11))
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe('PORT_CLOSED')
      expect(r.error.message).toMatch(/unplugged.*block 6 of 24.*backup/)
    }
  })

  it('hard-resets into the firmware, which then logs joining Wi-Fi', async () => {
    const { rom, flasher } = await connected()
    expect((await flasher.hardReset()).ok).toBe(true)
    expect(rom.currentMode).toBe('firmware')
    expect(rom.consoleText.at(-1)).toMatch(/Connected to SSID: FarmNet 2\.4/)
  })
})
