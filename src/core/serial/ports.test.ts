import { SerialPortMock } from 'serialport'
import { afterEach, describe, expect, it } from 'vitest'
import { guessBoard, listSerialPorts, type PortChanges, type RawPortInfo, SerialPortWatcher } from './ports'

afterEach(() => SerialPortMock.binding.reset())

describe('guessBoard', () => {
  it.each([
    ['303a', '1001', 'esp-usb-jtag', 'usb-jtag'],
    ['0x303A', '0x1001', 'esp-usb-jtag', 'usb-jtag'],
    ['10C4', 'EA60', 'cp210x', 'classic'],
    ['1a86', '7523', 'ch340', 'classic'],
    ['1a86', '55d4', 'ch9102', 'classic'],
    ['0403', '6001', 'ftdi', 'classic'],
    ['303a', '4001', 'esp-usb-jtag', 'usb-jtag'],
    ['046d', 'c52b', 'unknown', undefined],
    [undefined, undefined, 'unknown', undefined],
  ] as const)('%s:%s is %s', (v, p, bridge, reset) => {
    const g = guessBoard(v, p)
    expect(g.bridge).toBe(bridge)
    expect(g.resetStrategy).toBe(reset)
  })
})

describe('listSerialPorts', () => {
  it('lists serialport’s ports with ids, serial number and a board guess, likely miners first', async () => {
    SerialPortMock.binding.createPort('/dev/ttyUSB0', { vendorId: '10c4', productId: 'ea60' })
    SerialPortMock.binding.createPort('/dev/ttyS0')
    SerialPortMock.binding.createPort('/dev/ttyACM0', {
      vendorId: '303a',
      productId: '1001',
      manufacturer: 'Espressif',
    })
    const r = await listSerialPorts(() => SerialPortMock.list())
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.map((p) => [p.path, p.board.bridge])).toEqual([
      ['/dev/ttyACM0', 'esp-usb-jtag'],
      ['/dev/ttyUSB0', 'cp210x'],
      ['/dev/ttyS0', 'unknown'],
    ])
    expect(r.value[0]).toMatchObject({
      vendorId: '303a',
      productId: '1001',
      manufacturer: 'Espressif',
      serialNumber: '3',
    })
  })

  it('turns a failing lister into an error value', async () => {
    const r = await listSerialPorts(async () => {
      throw new Error('udev unavailable')
    })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.message).toMatch(/udev unavailable/)
  })
})

describe('SerialPortWatcher', () => {
  it('reports a plug and an unplug, and nothing when nothing changed', async () => {
    let ports: RawPortInfo[] = [{ path: '/dev/ttyS0' }]
    const changes: PortChanges[] = []
    const w = new SerialPortWatcher((c) => changes.push(c), { lister: async () => ports })
    await w.poll()
    ports = [...ports, { path: '/dev/ttyACM0', vendorId: '303a', productId: '1001', serialNumber: 'F4:12:FA' }]
    await w.poll()
    await w.poll()
    ports = [{ path: '/dev/ttyS0' }]
    await w.poll()
    expect(changes.map((c) => [c.added.map((p) => p.path), c.removed.map((p) => p.path)])).toEqual([
      [['/dev/ttyS0'], []],
      [['/dev/ttyACM0'], []],
      [[], ['/dev/ttyACM0']],
    ])
  })

  it('sees a different board on the same path as an unplug plus a plug', async () => {
    let ports: RawPortInfo[] = [{ path: '/dev/ttyACM0', serialNumber: 'A' }]
    const changes: PortChanges[] = []
    const w = new SerialPortWatcher((c) => changes.push(c), { lister: async () => ports })
    await w.poll()
    ports = [{ path: '/dev/ttyACM0', serialNumber: 'B' }]
    await w.poll()
    expect(changes[1]?.added.map((p) => p.serialNumber)).toEqual(['B'])
    expect(changes[1]?.removed.map((p) => p.serialNumber)).toEqual(['A'])
  })
})
