import { SerialPort } from 'serialport'
import type { AppError, Result } from '../../shared/errors'
import { ok } from '../../shared/errors'
import type { BytePort } from './esp-rom/byte-port'
import { serialPortTransport } from './esp-rom/serialport-transport'
import { serialErr, serialError } from './serial-error'

/**
 * Opens a serial port by path and hands back the byte stream. Injected into the serial module:
 * production opens `serialport`'s SerialPort, tests open a `SerialPortMock` with the simulated ROM
 * behind it. Failures are values with a message a technician can act on.
 */
export type PortOpener = (path: string, baudRate: number) => Promise<Result<BytePort>>

/**
 * Turns an open failure into advice. The causes differ per OS: on Linux, EACCES means the user is
 * not in the group owning /dev/tty* (`dialout` on Debian/Ubuntu/Fedora, `uucp` on Arch); on
 * Windows, "Access denied" means another program holds the COM port.
 */
export function describeOpenError(path: string, e: unknown, platform: NodeJS.Platform = process.platform): AppError {
  const text = e instanceof Error ? e.message : String(e)
  const code = typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : ''
  const denied = code === 'EACCES' || /EACCES|permission denied|access denied/i.test(text)
  const busy = code === 'EBUSY' || /EBUSY|resource busy|cannot lock port|port is locked/i.test(text)
  const missing = code === 'ENOENT' || /ENOENT|no such file|file not found|cannot find the file/i.test(text)
  if (denied && platform === 'linux') {
    return serialError(
      'PORT_PERMISSION',
      `Hashyard may not open ${path}: your user is not allowed to use serial ports. Add it to the dialout group (sudo usermod -aG dialout $USER; on Arch the group is uucp), then log out and back in.`,
      { path },
    )
  }
  if (denied && platform === 'win32') {
    return serialError(
      'PORT_BUSY',
      `${path} is in use by another program (a serial monitor, Arduino IDE, a web flasher). Close it and try again.`,
      { path },
    )
  }
  if (denied) return serialError('PORT_PERMISSION', `Hashyard may not open ${path}: ${text}`, { path })
  if (busy) {
    return serialError(
      'PORT_BUSY',
      `${path} is in use by another program (a serial monitor, esptool, a web flasher). Close it and try again.`,
      { path },
    )
  }
  if (missing) {
    return serialError('PORT_NOT_FOUND', `${path} is no longer there: the device was unplugged.`, { path })
  }
  return serialError('PORT_ERROR', `Could not open ${path}: ${text}`, { path })
}

/** The production opener: a real serial port through `serialport`'s native binding. */
export function serialportOpener(platform: NodeJS.Platform = process.platform): PortOpener {
  return async (path, baudRate) => {
    let stream: SerialPort
    try {
      stream = new SerialPort({ path, baudRate, autoOpen: false })
    } catch (e) {
      return { ok: false, error: describeOpenError(path, e, platform) }
    }
    const failed = await new Promise<Error | null>((resolve) => stream.open((e) => resolve(e ?? null)))
    if (failed) return { ok: false, error: describeOpenError(path, failed, platform) }
    return ok(serialPortTransport(stream))
  }
}

/** An opener that refuses everything; for hosts without serial access. */
export const noSerialAccess: PortOpener = async (path) =>
  serialErr('PORT_ERROR', `Serial ports are not available on this host (asked for ${path}).`)
