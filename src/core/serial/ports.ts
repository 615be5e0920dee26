import { SerialPort } from 'serialport'
import type { Result } from '../../shared/errors'
import { ok } from '../../shared/errors'
import type { ResetStrategy } from './esp-rom/reset'
import { serialErr } from './serial-error'

/** What `SerialPort.list()` returns for one port (serialport's PortInfo), as far as we use it. */
export interface RawPortInfo {
  path: string
  manufacturer?: string | undefined
  serialNumber?: string | undefined
  vendorId?: string | undefined
  productId?: string | undefined
}

export type PortLister = () => Promise<RawPortInfo[]>

export type UsbBridge = 'esp-usb-jtag' | 'esp-usb-otg' | 'cp210x' | 'ch340' | 'ch9102' | 'ch343' | 'ftdi' | 'unknown'

export interface BoardGuess {
  bridge: UsbBridge
  /** For the UI: "ESP32-S3 (native USB): Bitaxe, NerdQAxe…". */
  label: string
  /** Which DTR/RTS sequence reaches the bootloader through this bridge; undefined when unknown. */
  resetStrategy: ResetStrategy | undefined
  /** Whether an ESP-Miner board commonly sits behind this bridge. */
  likelyMiner: boolean
}

export interface SerialPortEntry extends RawPortInfo {
  vendorId?: string
  productId?: string
  board: BoardGuess
}

/**
 * USB ids (vendor:product, lower-case hex) of the bridges found on ESP32 boards. Bitaxe and most
 * ESP-Miner boards use the ESP32-S3's own USB-Serial/JTAG controller (Espressif 303a:1001);
 * older or third-party boards put a UART bridge in front of the chip.
 */
const KNOWN: Record<string, Omit<BoardGuess, 'likelyMiner'> & { likelyMiner: boolean }> = {
  '303a:1001': {
    bridge: 'esp-usb-jtag',
    label: 'ESP32-S3/C3 native USB (Bitaxe, NerdQAxe, …)',
    resetStrategy: 'usb-jtag',
    likelyMiner: true,
  },
  '303a:0002': {
    bridge: 'esp-usb-otg',
    label: 'ESP32-S2/S3 USB-OTG download mode',
    resetStrategy: 'classic',
    likelyMiner: true,
  },
  '10c4:ea60': {
    bridge: 'cp210x',
    label: 'Silicon Labs CP210x USB-UART (ESP32 dev board)',
    resetStrategy: 'classic',
    likelyMiner: true,
  },
  '1a86:7523': {
    bridge: 'ch340',
    label: 'WCH CH340 USB-UART (ESP32 dev board)',
    resetStrategy: 'classic',
    likelyMiner: true,
  },
  '1a86:55d4': {
    bridge: 'ch9102',
    label: 'WCH CH9102 USB-UART (ESP32 dev board)',
    resetStrategy: 'classic',
    likelyMiner: true,
  },
  '1a86:55d3': {
    bridge: 'ch343',
    label: 'WCH CH343 USB-UART (ESP32 dev board)',
    resetStrategy: 'classic',
    likelyMiner: true,
  },
  '0403:6001': { bridge: 'ftdi', label: 'FTDI FT232R USB-UART', resetStrategy: 'classic', likelyMiner: false },
  '0403:6010': {
    bridge: 'ftdi',
    label: 'FTDI FT2232 USB-UART (ESP-Prog)',
    resetStrategy: 'classic',
    likelyMiner: false,
  },
  '0403:6015': { bridge: 'ftdi', label: 'FTDI FT-X USB-UART', resetStrategy: 'classic', likelyMiner: false },
}

/** Normalises "0x303A", "303A" or "303a" to "303a". */
function normId(id: string | undefined): string | undefined {
  if (!id) return undefined
  const h = id.trim().toLowerCase().replace(/^0x/, '')
  return /^[0-9a-f]{1,4}$/.test(h) ? h.padStart(4, '0') : undefined
}

export function guessBoard(vendorId: string | undefined, productId: string | undefined): BoardGuess {
  const v = normId(vendorId)
  const p = normId(productId)
  const known = v && p ? KNOWN[`${v}:${p}`] : undefined
  if (known) return known
  if (v === '303a')
    return { bridge: 'esp-usb-jtag', label: 'Espressif USB device', resetStrategy: 'usb-jtag', likelyMiner: true }
  return {
    bridge: 'unknown',
    label: v && p ? `USB serial device ${v}:${p}` : 'Serial port',
    resetStrategy: undefined,
    likelyMiner: false,
  }
}

export const defaultLister: PortLister = () => SerialPort.list()

export async function listSerialPorts(lister: PortLister = defaultLister): Promise<Result<SerialPortEntry[]>> {
  let raw: RawPortInfo[]
  try {
    raw = await lister()
  } catch (e) {
    return serialErr('PORT_ERROR', `Could not list serial ports: ${e instanceof Error ? e.message : String(e)}`)
  }
  return ok(
    raw
      .filter((p) => typeof p.path === 'string' && p.path.length > 0)
      .map((p) => {
        const vendorId = normId(p.vendorId)
        const productId = normId(p.productId)
        const entry: SerialPortEntry = { path: p.path, board: guessBoard(vendorId, productId) }
        if (vendorId) entry.vendorId = vendorId
        if (productId) entry.productId = productId
        if (p.serialNumber) entry.serialNumber = p.serialNumber
        if (p.manufacturer) entry.manufacturer = p.manufacturer
        return entry
      })
      .sort((a, b) => Number(b.board.likelyMiner) - Number(a.board.likelyMiner) || a.path.localeCompare(b.path)),
  )
}

export interface PortChanges {
  added: SerialPortEntry[]
  removed: SerialPortEntry[]
  current: SerialPortEntry[]
}

/**
 * Polls the port list and reports plugs and unplugs (no OS hotplug API is portable across Linux,
 * macOS and Windows; serialport itself offers none). A port is the same port while its path and
 * USB serial number stay the same.
 */
export class SerialPortWatcher {
  private known = new Map<string, SerialPortEntry>()
  private timer: ReturnType<typeof setInterval> | undefined
  private polling = false

  constructor(
    private readonly onChange: (c: PortChanges) => void,
    private readonly opts: { lister?: PortLister; intervalMs?: number; onError?: (message: string) => void } = {},
  ) {}

  /** One poll; emits only when something changed. */
  async poll(): Promise<Result<PortChanges>> {
    const r = await listSerialPorts(this.opts.lister)
    if (!r.ok) return r
    const next = new Map(r.value.map((p) => [`${p.path}\u0000${p.serialNumber ?? ''}`, p]))
    const added = [...next].filter(([k]) => !this.known.has(k)).map(([, p]) => p)
    const removed = [...this.known].filter(([k]) => !next.has(k)).map(([, p]) => p)
    this.known = next
    const changes = { added, removed, current: r.value }
    if (added.length > 0 || removed.length > 0) this.onChange(changes)
    return ok(changes)
  }

  start(): void {
    if (this.timer) return
    const tick = async () => {
      if (this.polling) return
      this.polling = true
      try {
        const r = await this.poll()
        if (!r.ok) this.opts.onError?.(r.error.message)
      } finally {
        this.polling = false
      }
    }
    void tick()
    this.timer = setInterval(() => void tick(), this.opts.intervalMs ?? 1500)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
