import { SerialPortMock } from 'serialport'
import { ok } from '../../../shared/errors'
import { serialPortTransport } from '../esp-rom/serialport-transport'
import { linkSimulatedRom } from '../esp-rom/testing/serialport-mock-link'
import { SimulatedEspRom, type SimulatedRomOptions } from '../esp-rom/testing/simulated-rom'
import { parseNvsCsv } from '../nvs/csv'
import { nvsFixture } from '../nvs/testing/fixtures'
import { describeOpenError, type PortOpener } from '../port-access'
import type { PortLister, RawPortInfo } from '../ports'
import { serialErr } from '../serial-error'

interface Plugged {
  rom: SimulatedEspRom
  info: RawPortInfo
}

/**
 * A technician's bench for tests: simulated ESP32 boards plugged into USB ports. The port list and
 * the opener are what the serial module is given instead of the OS's; every byte still goes
 * through `serialport`'s stream and its mock binding (`SerialPortMock`) to the simulated ROM.
 */
export class SimulatedBench {
  readonly #plugged = new Map<string, Plugged>()
  /** Set to make the next open fail like the OS would (e.g. EACCES); mapped as on Linux. */
  failNextOpen: Error | undefined

  plug(
    path: string,
    rom: SimulatedEspRom,
    usb: Partial<Omit<RawPortInfo, 'path'>> = { vendorId: '303a', productId: '1001', manufacturer: 'Espressif' },
  ): void {
    SerialPortMock.binding.createPort(path, {
      ...(usb.vendorId ? { vendorId: usb.vendorId } : {}),
      ...(usb.productId ? { productId: usb.productId } : {}),
    })
    this.#plugged.set(path, { rom, info: { path, ...usb } })
    rom.onUnplug(() => {
      if (this.#plugged.get(path)?.rom === rom) this.#plugged.delete(path)
    })
  }

  /** Pulls the cable: the port disappears from the list and an open stream closes. */
  unplug(path: string): void {
    const p = this.#plugged.get(path)
    this.#plugged.delete(path)
    p?.rom.unplug()
  }

  readonly lister: PortLister = async () => [...this.#plugged.values()].map((p) => ({ ...p.info }))

  readonly opener: PortOpener = async (path, baudRate) => {
    const fail = this.failNextOpen
    this.failNextOpen = undefined
    if (fail) return { ok: false, error: describeOpenError(path, fail, 'linux') }
    const p = this.#plugged.get(path)
    if (!p) return serialErr('PORT_NOT_FOUND', `${path} is no longer there: the device was unplugged.`)
    const mock = new SerialPortMock({ path, baudRate, autoOpen: false })
    const opened = await new Promise<Error | null>((resolve) => mock.open((e) => resolve(e ?? null)))
    if (opened) return serialErr('PORT_ERROR', `Could not open ${path}: ${opened.message}`)
    linkSimulatedRom(mock, p.rom)
    return ok(serialPortTransport(mock))
  }

  /** Forgets every mock port (call after each test). */
  reset(): void {
    this.#plugged.clear()
    SerialPortMock.binding.reset()
  }
}

/** A Bitaxe-like ESP32-S3 whose NVS is built from one of the CSV fixtures in test/fixtures/nvs. */
export function simulatedBitaxe(
  csvFixture: 'bitaxe-legacy.csv' | 'bitaxe-pools-v2.15.csv' = 'bitaxe-legacy.csv',
  opts: Omit<SimulatedRomOptions, 'nvsEntries' | 'nvsImage'> = {},
): SimulatedEspRom {
  const csv = parseNvsCsv(nvsFixture(csvFixture).toString('utf8'))
  if (!csv.ok) throw new Error(csv.error.message)
  return new SimulatedEspRom({ chip: 'ESP32-S3', mac: '24:58:7c:aa:bb:cc', ...opts, nvsEntries: csv.value })
}
