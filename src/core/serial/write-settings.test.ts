import { SerialPortMock } from 'serialport'
import { afterEach, describe, expect, it } from 'vitest'
import { EspRomFlasher } from './esp-rom/flasher'
import { serialPortTransport } from './esp-rom/serialport-transport'
import { linkSimulatedRom } from './esp-rom/testing/serialport-mock-link'
import { SimulatedEspRom } from './esp-rom/testing/simulated-rom'
import { type MinerLogEvent, MinerLogScanner } from './log-parser'
import { parseNvsCsv } from './nvs/csv'
import { readNvs } from './nvs/reader'
import { nvsFixture } from './nvs/testing/fixtures'
import { serialReasonOf } from './serial-error'
import { type DeviceBackup, restoreBackupOverUsb, writeSettingsOverUsb } from './write-settings'

const PATH = '/dev/ttyACM0'
const NVS = { offset: 0x9000, size: 0x6000 }

function legacyRom() {
  const csv = parseNvsCsv(nvsFixture('bitaxe-legacy.csv').toString('utf8'))
  if (!csv.ok) throw new Error(csv.error.message)
  return new SimulatedEspRom({
    chip: 'ESP32-S3',
    mac: '24:58:7c:aa:bb:cc',
    nvsEntries: csv.value,
    firmwareIp: '192.168.1.77',
  })
}

/** Opens a SerialPortMock on PATH, puts the simulated ROM behind it, and wraps it for the flasher. */
async function plug(rom: SimulatedEspRom) {
  const mock = new SerialPortMock({ path: PATH, baudRate: 115200, autoOpen: false })
  await new Promise<void>((resolve, reject) => mock.open((err) => (err ? reject(err) : resolve())))
  linkSimulatedRom(mock, rom)
  const port = serialPortTransport(mock)
  const flasher = new EspRomFlasher(port, { resetStrategy: 'usb-jtag', resetStepMs: 1 })
  return { mock, port, flasher }
}

/** Resolves with the first log event matching `want`, as the serial monitor would see it. */
function waitForLog(
  port: ReturnType<typeof serialPortTransport>,
  want: (e: MinerLogEvent) => boolean,
): Promise<MinerLogEvent[]> {
  const scanner = new MinerLogScanner()
  const seen: MinerLogEvent[] = []
  return new Promise((resolve) => {
    const off = port.onData((chunk) => {
      seen.push(...scanner.push(chunk).events)
      if (seen.some(want)) {
        off()
        resolve(seen)
      }
    })
  })
}

const nvsOf = (rom: SimulatedEspRom) => Buffer.from(rom.flash.subarray(NVS.offset, NVS.offset + NVS.size))

// The binding comes from SerialPortMock itself: importing @serialport/binding-mock here would load
// its ESM build, a second module instance with its own (empty) port list.
afterEach(() => {
  SerialPortMock.binding.reset()
})

describe('Write settings over USB (SerialPortMock + simulated ESP32-S3 ROM)', () => {
  it('reads, backs up, edits only Wi-Fi and pool keys, writes, verifies, and reboots into the firmware', async () => {
    SerialPortMock.binding.createPort(PATH, { vendorId: '303a', productId: '1001' })
    const rom = legacyRom()
    const original = nvsOf(rom)
    const { port, flasher, mock } = await plug(rom)
    const backups: DeviceBackup[] = []
    const phases = new Set<string>()
    // The board already booted once when plugged in (with the old SSID); wait for the new one.
    const log = waitForLog(port, (e) => e.kind === 'wifi-connected' && e.ssid === 'Bench')

    const r = await writeSettingsOverUsb(flasher, {
      change: {
        wifi: { ssid: 'Bench', password: 'bench-secret' },
        primaryPool: { url: '10.0.0.2', port: 3333, user: 'bc1qexample.bench-01', password: 'x' },
      },
      onBackup: (b) => {
        backups.push(b)
      },
      onProgress: (p) => phases.add(p.phase),
    })
    expect(r).toEqual({
      ok: true,
      value: {
        chip: 'ESP32-S3',
        mac: '24:58:7c:aa:bb:cc',
        layout: 'legacy',
        changedKeys: ['wifissid', 'wifipass', 'stratumurl', 'stratumport', 'stratumuser', 'stratumpass'],
      },
    })
    expect(backups).toHaveLength(1)
    expect(backups[0]?.image.equals(original)).toBe(true)
    expect([...phases]).toEqual(['connect', 'read', 'erase', 'write', 'verify', 'reset'])

    const after = readNvs(nvsOf(rom))
    const before = readNvs(original)
    if (!after.ok || !before.ok) throw new Error('unreadable nvs')
    const changed = after.value.entries
      .filter((e, i) => JSON.stringify(e) !== JSON.stringify(before.value.entries[i]))
      .map((e) => e.key)
    expect(changed).toEqual(['wifissid', 'wifipass', 'stratumurl', 'stratumuser'])

    const events = await log
    expect(events).toContainEqual({ kind: 'ip', ip: '192.168.1.77', source: 'esp-miner' })
    expect(events).toContainEqual({ kind: 'wifi-connected', ssid: 'Bench' })
    expect(rom.currentMode).toBe('firmware')
    flasher.dispose()
    await port.close()
    expect(mock.isOpen).toBe(false)
  })

  it('detects a corrupted reply arriving through the serial stream', async () => {
    SerialPortMock.binding.createPort(PATH)
    const rom = legacyRom()
    const { flasher, port } = await plug(rom)
    expect((await flasher.connect()).ok).toBe(true)
    rom.inject({ kind: 'garbage-reply', op: 0x0e })
    const r = await flasher.readNvsPartition()
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('ROM_BAD_RESPONSE')
    await port.close()
  })

  it('survives an unplug mid-write: clear error, backup intact, restored by a second flash', async () => {
    SerialPortMock.binding.createPort(PATH)
    const rom = legacyRom()
    const original = nvsOf(rom)
    const first = await plug(rom)
    let backup: DeviceBackup | undefined
    rom.inject({ kind: 'unplug-on-flash-data', seq: 7 })

    const r = await writeSettingsOverUsb(first.flasher, {
      change: { wifi: { ssid: 'Bench', password: 'bench-secret' } },
      onBackup: (b) => {
        backup = b
      },
    })
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe('PORT_CLOSED')
      expect(r.error.message).toMatch(/unplugged or the port closed while writing at 0x9000 \(block 8 of 24\)/)
      expect(r.error.message).not.toMatch(/bench-secret/)
    }
    expect(first.mock.isOpen).toBe(false)
    expect(backup?.image.equals(original)).toBe(true)
    expect(nvsOf(rom).equals(original)).toBe(false) // half-erased on the device

    const second = await plug(rom)
    // Plugged back in, the board first boots with the half-written partition (whose first page
    // already holds the new SSID); after the restore it must come up with the original one.
    const log = waitForLog(second.port, (e) => e.kind === 'wifi-connected' && e.ssid === 'FarmNet 2.4')
    const restored = await restoreBackupOverUsb(second.flasher, backup as DeviceBackup)
    expect(restored).toEqual({ ok: true, value: { chip: 'ESP32-S3', mac: '24:58:7c:aa:bb:cc' } })
    expect(nvsOf(rom).equals(original)).toBe(true)
    const events = await log
    expect(events.filter((e) => e.kind === 'wifi-connected')).toEqual([
      { kind: 'wifi-connected', ssid: 'Bench' },
      { kind: 'wifi-connected', ssid: 'FarmNet 2.4' },
    ])
    await second.port.close()
  })

  it('refuses to restore a backup onto a different device', async () => {
    SerialPortMock.binding.createPort(PATH)
    const rom = legacyRom()
    const { flasher, port } = await plug(rom)
    const r = await restoreBackupOverUsb(flasher, { mac: '00:11:22:33:44:55', image: nvsOf(rom) })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.message).toMatch(/belongs to 00:11:22:33:44:55/)
    await port.close()
  })
})
