/**
 * The byte stream the flasher drives: a USB-serial port (see `serialport-transport.ts`) or the
 * simulated ROM in tests. `setSignals` sets DTR and RTS together (one ioctl on a real port), which
 * is what the reset sequences in `reset.ts` assume.
 */
export interface BytePort {
  write(bytes: Uint8Array): Promise<void>
  /** Subscribes to incoming bytes; returns the unsubscribe function. */
  onData(cb: (chunk: Buffer) => void): () => void
  /** Subscribes to the port closing (an unplug passes the cause); returns the unsubscribe function. */
  onClose(cb: (cause?: Error) => void): () => void
  setSignals(signals: { dtr: boolean; rts: boolean }): Promise<void>
  close(): Promise<void>
}
