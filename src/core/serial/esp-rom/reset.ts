import type { BytePort } from './byte-port'

/**
 * How to put the chip into the ROM download mode (or back into its firmware) with DTR/RTS.
 *
 * `classic`: boards with a USB-UART bridge (CP210x, CH340, CH9102, FTDI) and the usual two-
 * transistor auto-program circuit, where RTS low-pulls EN and DTR low-pulls IO0 unless both are
 * asserted (esptool `ClassicReset`). DTR and RTS change together here, as in esptool's
 * `UnixTightReset`, so the chip leaves reset with IO0 already low.
 *
 * `usb-jtag`: the ESP32-S3/C3 built-in USB-Serial/JTAG controller (USB id 303a:1001), which reads
 * the two lines itself (esptool `USBJTAGSerialReset`: idle, IO0 request, reset, release).
 */
export type ResetStrategy = 'classic' | 'usb-jtag'

export type Delay = (ms: number) => Promise<void>
export const realDelay: Delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export async function resetIntoBootloader(
  port: BytePort,
  strategy: ResetStrategy,
  delay: Delay,
  stepMs = 100,
): Promise<void> {
  if (strategy === 'classic') {
    await port.setSignals({ dtr: false, rts: true }) // EN low: chip held in reset
    await delay(stepMs)
    await port.setSignals({ dtr: true, rts: false }) // EN released with IO0 low: download mode
    await delay(stepMs / 2)
    await port.setSignals({ dtr: false, rts: false }) // IO0 released
    return
  }
  await port.setSignals({ dtr: false, rts: false })
  await delay(stepMs)
  await port.setSignals({ dtr: true, rts: false }) // request download mode
  await delay(stepMs)
  await port.setSignals({ dtr: false, rts: true }) // reset
  await delay(stepMs)
  await port.setSignals({ dtr: false, rts: false }) // run
}

/** Pulses EN with IO0 high, so the chip boots its firmware (esptool `HardReset`). */
export async function hardReset(port: BytePort, strategy: ResetStrategy, delay: Delay, stepMs = 100): Promise<void> {
  await port.setSignals({ dtr: false, rts: true })
  // The USB-Serial/JTAG controller needs longer to see the edges (esptool waits 200 ms there).
  await delay(strategy === 'usb-jtag' ? stepMs * 2 : stepMs)
  await port.setSignals({ dtr: false, rts: false })
}
