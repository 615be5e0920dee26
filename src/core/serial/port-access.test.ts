import { describe, expect, it } from 'vitest'
import { describeOpenError, serialportOpener } from './port-access'
import { serialReasonOf } from './serial-error'

// Messages as @serialport/bindings-cpp formats them ("Error: <strerror>, cannot open <path>").
const eacces = Object.assign(new Error('Error: Permission denied, cannot open /dev/ttyACM0'), { code: 'EACCES' })

describe('describeOpenError', () => {
  it('tells a Linux user to join the dialout group on EACCES', () => {
    const e = describeOpenError('/dev/ttyACM0', eacces, 'linux')
    expect(e.code).toBe('FORBIDDEN')
    expect(serialReasonOf(e)).toBe('PORT_PERMISSION')
    expect(e.message).toMatch(/dialout group/)
    expect(e.message).toMatch(/usermod -aG dialout/)
  })

  it('recognises EACCES from the message alone', () => {
    const e = describeOpenError(
      '/dev/ttyUSB0',
      new Error('Error: Permission denied, cannot open /dev/ttyUSB0'),
      'linux',
    )
    expect(serialReasonOf(e)).toBe('PORT_PERMISSION')
  })

  it('reads Windows "Access denied" as a port held by another program', () => {
    const e = describeOpenError('COM3', new Error('Opening COM3: Access denied'), 'win32')
    expect(serialReasonOf(e)).toBe('PORT_BUSY')
    expect(e.message).toMatch(/in use by another program/)
  })

  it('names a busy port and a vanished port', () => {
    expect(
      serialReasonOf(
        describeOpenError(
          '/dev/ttyACM0',
          new Error('Error Resource temporarily unavailable Cannot lock port'),
          'linux',
        ),
      ),
    ).toBe('PORT_BUSY')
    const gone = describeOpenError(
      '/dev/ttyACM0',
      new Error('Error: No such file or directory, cannot open /dev/ttyACM0'),
      'linux',
    )
    expect(serialReasonOf(gone)).toBe('PORT_NOT_FOUND')
    expect(gone.message).toMatch(/unplugged/)
  })

  it('falls back to the raw message for anything else', () => {
    const e = describeOpenError('/dev/ttyACM0', 'weird', 'darwin')
    expect(e).toMatchObject({ code: 'UNAVAILABLE', message: 'Could not open /dev/ttyACM0: weird' })
  })
})

describe('serialportOpener (the real serialport binding)', () => {
  it('turns a path that does not exist into PORT_NOT_FOUND, without throwing', async () => {
    const r = await serialportOpener('linux')('/dev/hashyard-no-such-tty', 115200)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(serialReasonOf(r.error)).toBe('PORT_NOT_FOUND')
  })
})
