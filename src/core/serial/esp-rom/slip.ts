/**
 * SLIP framing as the ESP ROM bootloader and esptool use it (esptool docs, "Serial Protocol",
 * Low Level Protocol): every packet starts and ends with 0xC0; inside, 0xC0 is sent as 0xDB 0xDC
 * and 0xDB as 0xDB 0xDD. Pure code: the decoder keeps its state across chunks and never touches
 * a port, so split and coalesced reads are handled the same way.
 */
export const SLIP_END = 0xc0
export const SLIP_ESC = 0xdb
export const SLIP_ESC_END = 0xdc
export const SLIP_ESC_ESC = 0xdd

export function slipEncode(packet: Uint8Array): Buffer {
  let extra = 0
  for (const b of packet) if (b === SLIP_END || b === SLIP_ESC) extra++
  const out = Buffer.alloc(packet.length + extra + 2)
  let o = 0
  out[o++] = SLIP_END
  for (const b of packet) {
    if (b === SLIP_END) {
      out[o++] = SLIP_ESC
      out[o++] = SLIP_ESC_END
    } else if (b === SLIP_ESC) {
      out[o++] = SLIP_ESC
      out[o++] = SLIP_ESC_ESC
    } else out[o++] = b
  }
  out[o] = SLIP_END
  return out
}

export type SlipEvent =
  | { type: 'frame'; data: Buffer }
  /** Bytes outside any frame: the chip's boot text, or line noise. */
  | { type: 'noise'; data: Buffer }
  | { type: 'error'; reason: 'BAD_ESCAPE' | 'FRAME_TOO_LONG'; message: string }

export interface SlipDecoderOptions {
  /** Longest decoded frame accepted; longer ones are dropped with an error event. */
  maxFrameBytes?: number
}

/** esptool's largest packets are 16 KiB stub writes plus headers; 64 KiB leaves room. */
export const DEFAULT_MAX_FRAME_BYTES = 0x10000 + 64

export class SlipDecoder {
  private readonly maxFrameBytes: number
  private inFrame = false
  private escaping = false
  private dropping = false
  private frame: number[] = []
  private noise: number[] = []

  constructor(opts: SlipDecoderOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES
  }

  push(chunk: Uint8Array): SlipEvent[] {
    const events: SlipEvent[] = []
    for (const b of chunk) {
      if (!this.inFrame) {
        if (b === SLIP_END) {
          this.flushNoise(events)
          this.startFrame()
        } else this.noise.push(b)
        continue
      }
      if (b === SLIP_END) {
        // An empty frame is a second 0xC0 in a row: the end of one packet and the start of the next.
        if (this.frame.length === 0 && !this.escaping && !this.dropping) continue
        if (!this.dropping) {
          if (this.escaping) {
            events.push({
              type: 'error',
              reason: 'BAD_ESCAPE',
              message: 'A SLIP frame ended in the middle of an escape.',
            })
          } else events.push({ type: 'frame', data: Buffer.from(this.frame) })
        }
        this.inFrame = false
        this.frame = []
        continue
      }
      if (this.dropping) continue
      if (this.escaping) {
        this.escaping = false
        if (b === SLIP_ESC_END) this.add(SLIP_END, events)
        else if (b === SLIP_ESC_ESC) this.add(SLIP_ESC, events)
        else {
          events.push({
            type: 'error',
            reason: 'BAD_ESCAPE',
            message: `Invalid SLIP escape 0xdb 0x${b.toString(16).padStart(2, '0')}.`,
          })
          this.dropping = true
        }
      } else if (b === SLIP_ESC) this.escaping = true
      else this.add(b, events)
    }
    this.flushNoise(events)
    return events
  }

  private startFrame(): void {
    this.inFrame = true
    this.escaping = false
    this.dropping = false
    this.frame = []
  }

  private add(b: number, events: SlipEvent[]): void {
    if (this.frame.length >= this.maxFrameBytes) {
      events.push({
        type: 'error',
        reason: 'FRAME_TOO_LONG',
        message: `A SLIP frame exceeded ${this.maxFrameBytes} bytes and was dropped.`,
      })
      this.dropping = true
      this.frame = []
      return
    }
    this.frame.push(b)
  }

  private flushNoise(events: SlipEvent[]): void {
    if (this.noise.length === 0) return
    events.push({ type: 'noise', data: Buffer.from(this.noise) })
    this.noise = []
  }
}
