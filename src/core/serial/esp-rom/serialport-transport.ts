import { SerialPort, type SerialPortMock } from 'serialport'
import type { Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'
import type { BytePort } from './byte-port'

/** The ROM bootloader always starts at 115200 baud (esptool docs, "Initial Synchronisation"). */
export const ROM_BAUD = 115200

/**
 * A BytePort over an open `serialport` stream: a real `SerialPort` on hardware, `SerialPortMock`
 * in tests. The stream must already be open. A stream "error" event is absorbed here (a failed
 * write already rejects its promise, an unplug also closes the stream) so it cannot crash the app.
 */
export function serialPortTransport(port: SerialPort | SerialPortMock): BytePort {
  port.on('error', () => {
    // Handled through the write rejection and the 'close' event.
  })
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (!port.isOpen) {
          reject(new Error('Port is not open'))
          return
        }
        port.write(Buffer.from(bytes), (err) => (err ? reject(err) : resolve()))
      }),
    onData(cb) {
      const h = (chunk: Buffer) => cb(chunk)
      port.on('data', h)
      return () => port.off('data', h)
    },
    onClose(cb) {
      const h = (err?: Error | null) => cb(err ?? undefined)
      port.on('close', h)
      return () => port.off('close', h)
    },
    setSignals: ({ dtr, rts }) =>
      new Promise<void>((resolve, reject) => {
        port.set({ dtr, rts }, (err) => (err ? reject(err) : resolve()))
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) {
          resolve()
          return
        }
        port.close(() => resolve())
      }),
  }
}

/** Opens a real serial port for the flasher (or the monitor) and wraps it. */
export async function openSerialPort(
  path: string,
  baudRate = ROM_BAUD,
): Promise<Result<{ port: BytePort; stream: SerialPort }>> {
  const stream = new SerialPort({ path, baudRate, autoOpen: false })
  const opened = await new Promise<Error | null>((resolve) => stream.open((err) => resolve(err ?? null)))
  if (opened) return serialErr('PORT_ERROR', `Could not open ${path}: ${opened.message}`)
  return ok({ port: serialPortTransport(stream), stream })
}
