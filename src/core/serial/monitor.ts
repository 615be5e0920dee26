import type { Result } from '../../shared/errors'
import { ok } from '../../shared/errors'
import type { Logger } from '../logger'
import type { BytePort } from './esp-rom/byte-port'
import { type Delay, hardReset, type ResetStrategy, realDelay } from './esp-rom/reset'
import { SlipDecoder } from './esp-rom/slip'
import { type MinerLogEvent, MinerLogScanner, parseMinerLogLine } from './log-parser'
import type { PortOpener } from './port-access'
import { serialErr } from './serial-error'

/** ESP-IDF's console runs at 115200 baud, like the ROM bootloader; ESP-Miner keeps the default. */
export const MONITOR_BAUD = 115200

export type MonitorState = 'open' | 'closed' | 'unplugged' | 'flashing' | 'monitoring'

export type MonitorFrame =
  | { kind: 'line'; seq: number; tsMs: number; path: string; text: string; event?: MinerLogEvent }
  | { kind: 'state'; seq: number; tsMs: number; path: string; state: MonitorState; message: string }

export interface SerialMonitorsOptions {
  open: PortOpener
  /** Recent frames kept per port for replay. Default 1000. */
  ringLines?: number
  /** Ports whose history is kept once closed; the oldest closed history is dropped beyond this. Default 16. */
  maxPorts?: number
  /** Longest line kept; the rest of a longer line is cut. Default 1024 characters. */
  maxLineChars?: number
  /** Masks known passwords in device output before it leaves the core. */
  redact?: (text: string) => string
  logger?: Logger
  now?: () => number
}

interface Session {
  path: string
  port: BytePort | undefined
  /** `handed-over`: the flasher owns the port; only text outside SLIP frames is shown. */
  mode: 'text' | 'handed-over'
  ring: MonitorFrame[]
  scanner: MinerLogScanner
  slip: SlipDecoder
  offs: (() => void)[]
  lastIp?: string
  closing: boolean
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: device output is shown as text; control characters are dropped.
const CONTROL = /\u001b\[[0-9;?]*[A-Za-z]|[\u0000-\u0008\u000b-\u001f\u007f]/g

/**
 * The serial monitors of every port: each open port streams the device's log as lines into a
 * bounded ring (per port) and to subscribers, with the lines ESP-Miner prints about its IP and
 * Wi-Fi recognised. A port can be lent to the flasher (`borrow`) and given back: while lent, the
 * monitor keeps showing the text the chip prints outside SLIP frames (ROM banners, then the
 * firmware's boot log after the final reset) so the IP line of the reboot is not missed.
 *
 * Frames are numbered by one counter across ports, which is what `sinceSeq` replays against.
 */
export class SerialMonitors {
  readonly #o: Required<Omit<SerialMonitorsOptions, 'logger'>> & { logger?: Logger }
  readonly #sessions = new Map<string, Session>()
  readonly #opening = new Map<string, Promise<Result<{ path: string; baudRate: number }>>>()
  readonly #listeners = new Set<(f: MonitorFrame) => void>()
  #seq = 0
  /** Highest seq dropped from any ring: a replay from before it cannot be complete. */
  #droppedSeq = 0

  constructor(opts: SerialMonitorsOptions) {
    this.#o = {
      ringLines: 1000,
      maxPorts: 16,
      maxLineChars: 1024,
      redact: (t) => t,
      now: Date.now,
      ...opts,
    }
  }

  get lastSeq(): number {
    return this.#seq
  }

  /** `busy` while the flasher holds the port. */
  state(path: string): 'closed' | 'open' | 'busy' {
    const s = this.#sessions.get(path)
    if (!s?.port) return 'closed'
    return s.mode === 'handed-over' ? 'busy' : 'open'
  }

  lastIp(path: string): string | undefined {
    return this.#sessions.get(path)?.lastIp
  }

  /** Recent frames of one port, oldest first. */
  lines(path: string): MonitorFrame[] {
    return [...(this.#sessions.get(path)?.ring ?? [])]
  }

  /** Opens the port at 115200 baud; a no-op when it is already open. */
  open(path: string): Promise<Result<{ path: string; baudRate: number }>> {
    if (this.#sessions.get(path)?.port) return Promise.resolve(ok({ path, baudRate: MONITOR_BAUD }))
    const pending = this.#opening.get(path)
    if (pending) return pending
    const p = this.#open(path).finally(() => this.#opening.delete(path))
    this.#opening.set(path, p)
    return p
  }

  async #open(path: string): Promise<Result<{ path: string; baudRate: number }>> {
    const opened = await this.#o.open(path, MONITOR_BAUD)
    if (!opened.ok) return opened
    const port = opened.value
    const s = this.#session(path)
    s.port = port
    s.mode = 'text'
    s.closing = false
    s.scanner = new MinerLogScanner(this.#o.maxLineChars)
    s.offs.push(
      port.onData((chunk) => this.#receive(s, chunk)),
      port.onClose((cause) => this.#closed(s, cause)),
    )
    this.#emitState(s, 'open', `Monitoring ${path} at ${MONITOR_BAUD} baud.`)
    return ok({ path, baudRate: MONITOR_BAUD })
  }

  /** Closes the port; refused while the flasher holds it (closing then would break a write). */
  async close(path: string): Promise<Result<{ wasOpen: boolean }>> {
    const s = this.#sessions.get(path)
    if (!s?.port) return ok({ wasOpen: false })
    if (s.mode === 'handed-over') {
      return serialErr(
        'PORT_IN_USE_BY_HASHYARD',
        `Settings are being read or written on ${path}; the monitor closes when that is finished.`,
      )
    }
    const port = s.port
    s.closing = true
    await port.close()
    // A port whose close event did not fire (a mock, an odd driver) is still marked closed.
    this.#closed(s, undefined)
    return ok({ wasOpen: true })
  }

  async closeAll(): Promise<void> {
    for (const s of [...this.#sessions.values()]) {
      if (!s.port) continue
      s.closing = true
      s.mode = 'text'
      await s.port
        .close()
        .catch((e: unknown) => this.#o.logger?.warn('closing a serial port failed', { path: s.path, error: String(e) }))
      this.#closed(s, undefined)
    }
  }

  /**
   * Lends the open port to the flasher. `giveBack` returns it to plain-text monitoring; it is
   * safe to call after the port closed (an unplug during the write).
   */
  borrow(path: string, why: string): Result<{ port: BytePort; giveBack: () => void }> {
    const s = this.#sessions.get(path)
    if (!s?.port) return serialErr('PORT_CLOSED', `${path} is not open.`)
    if (s.mode === 'handed-over') {
      return serialErr('PORT_IN_USE_BY_HASHYARD', `Another operation is already using ${path}; wait for it to finish.`)
    }
    const port = s.port
    s.mode = 'handed-over'
    s.slip = new SlipDecoder()
    this.#emitState(s, 'flashing', why)
    let given = false
    return ok({
      port,
      giveBack: () => {
        if (given) return
        given = true
        if (s.port !== port) return
        s.mode = 'text'
        this.#emitState(s, 'monitoring', 'Back to showing the device log.')
      },
    })
  }

  /** Reboots the device into its firmware by pulsing EN with DTR/RTS (esptool's hard reset). */
  async reset(path: string, strategy: ResetStrategy, delay: Delay = realDelay, stepMs = 100): Promise<Result<null>> {
    const s = this.#sessions.get(path)
    if (!s?.port) return serialErr('PORT_CLOSED', `${path} is not open.`)
    if (s.mode === 'handed-over') {
      return serialErr('PORT_IN_USE_BY_HASHYARD', `Settings are being read or written on ${path}; try again after.`)
    }
    this.#emitState(s, 'monitoring', 'Resetting the device (DTR/RTS).')
    try {
      await hardReset(s.port, strategy, delay, stepMs)
    } catch (e) {
      return serialErr(
        'PORT_ERROR',
        `Could not reset the device on ${path}: ${e instanceof Error ? e.message : String(e)}`,
      )
    }
    return ok(null)
  }

  /** Every frame still held after `sinceSeq` (all of them without it), across ports, in order. */
  replay(sinceSeq: number | undefined): MonitorFrame[] | 'gone' {
    if (sinceSeq !== undefined && sinceSeq < this.#droppedSeq) return 'gone'
    const all = [...this.#sessions.values()].flatMap((s) => s.ring)
    return all.filter((f) => sinceSeq === undefined || f.seq > sinceSeq).sort((a, b) => a.seq - b.seq)
  }

  onFrame(cb: (f: MonitorFrame) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /**
   * Calls `cb` with the frames of one port numbered after `afterSeq`, first those already held,
   * then live ones, until it returns true or the returned function is called.
   */
  watch(path: string, afterSeq: number, cb: (f: MonitorFrame) => boolean): () => void {
    let done = false
    for (const f of this.lines(path)) {
      if (f.seq > afterSeq && cb(f)) return () => {}
    }
    const off = this.onFrame((f) => {
      if (done || f.path !== path || f.seq <= afterSeq) return
      if (cb(f)) {
        done = true
        off()
      }
    })
    return () => {
      done = true
      off()
    }
  }

  #session(path: string): Session {
    let s = this.#sessions.get(path)
    if (!s) {
      s = {
        path,
        port: undefined,
        mode: 'text',
        ring: [],
        scanner: new MinerLogScanner(this.#o.maxLineChars),
        slip: new SlipDecoder(),
        offs: [],
        closing: false,
      }
      this.#sessions.set(path, s)
      this.#forgetOldPorts()
    }
    return s
  }

  /** Keeps the history of at most `maxPorts` ports; the oldest closed ones go first. */
  #forgetOldPorts(): void {
    const closed = [...this.#sessions.values()].filter((s) => !s.port)
    let excess = this.#sessions.size - this.#o.maxPorts
    for (const s of closed) {
      if (excess <= 0) break
      const last = s.ring.at(-1)
      if (last) this.#droppedSeq = Math.max(this.#droppedSeq, last.seq)
      this.#sessions.delete(s.path)
      excess--
    }
  }

  #receive(s: Session, chunk: Buffer): void {
    if (s.mode === 'text') {
      this.#text(s, chunk)
      return
    }
    for (const ev of s.slip.push(chunk)) if (ev.type === 'noise') this.#text(s, ev.data)
  }

  #text(s: Session, bytes: Buffer): void {
    for (const raw of s.scanner.push(bytes).lines) {
      const event = parseMinerLogLine(raw)
      const text = this.#o.redact(raw.replace(CONTROL, ''))
      if (event?.kind === 'ip') s.lastIp = event.ip
      this.#emit(s, (seq, tsMs) =>
        event
          ? { kind: 'line', seq, tsMs, path: s.path, text, event: redactEvent(event, this.#o.redact) }
          : { kind: 'line', seq, tsMs, path: s.path, text },
      )
    }
  }

  #closed(s: Session, cause: Error | undefined): void {
    if (!s.port) return
    for (const off of s.offs.splice(0)) off()
    s.port = undefined
    s.mode = 'text'
    const unplugged = !s.closing
    s.closing = false
    if (unplugged) {
      this.#o.logger?.info('serial port closed by the device', { path: s.path, cause: cause?.message })
      this.#emitState(s, 'unplugged', `${s.path} went away (unplugged or reset by the OS).`)
    } else this.#emitState(s, 'closed', `Stopped monitoring ${s.path}.`)
    this.#forgetOldPorts()
  }

  #emitState(s: Session, state: MonitorState, message: string): void {
    this.#emit(s, (seq, tsMs) => ({ kind: 'state', seq, tsMs, path: s.path, state, message }))
  }

  #emit(s: Session, make: (seq: number, tsMs: number) => MonitorFrame): void {
    const f = make(++this.#seq, this.#o.now())
    s.ring.push(f)
    if (s.ring.length > this.#o.ringLines) {
      const dropped = s.ring.shift()
      if (dropped) this.#droppedSeq = Math.max(this.#droppedSeq, dropped.seq)
    }
    for (const cb of this.#listeners) cb(f)
  }
}

function redactEvent(e: MinerLogEvent, redact: (t: string) => string): MinerLogEvent {
  return 'ssid' in e ? { ...e, ssid: redact(e.ssid) } : e
}
