import type { SerialPortMock } from 'serialport'
import type { SimulatedEspRom } from './simulated-rom'

/**
 * Puts the simulated ROM on the far end of an open `SerialPortMock`: what the host writes through
 * the mock binding reaches the ROM, DTR/RTS changes reach its reset circuit, and its replies
 * arrive as received data. An unplug closes the stream with a disconnect error, as a real
 * unplug does (`@serialport/stream` emits 'close' with `disconnected: true`).
 */
export function linkSimulatedRom(mock: SerialPortMock, rom: SimulatedEspRom): void {
  const binding = mock.port
  if (!binding) throw new Error('Open the SerialPortMock before linking the simulated ROM.')
  const disconnected = () => Object.assign(new Error('device disconnected'), { disconnected: true })
  const write = binding.write.bind(binding)
  binding.write = async (buf: Buffer) => {
    if (rom.unplugged) throw disconnected()
    await write(buf)
    rom.receive(buf)
  }
  const set = binding.set.bind(binding)
  binding.set = async (opts: Parameters<typeof set>[0]) => {
    await set(opts)
    rom.setSignals({ dtr: opts.dtr ?? false, rts: opts.rts ?? false })
  }
  rom.onUnplug(() => {
    if (mock.isOpen) mock.close(undefined, disconnected())
  })
  rom.connect((bytes) => {
    if (binding.isOpen) binding.emitData(bytes)
  })
}
