/**
 * What the serial module knows about a miner that has just joined Wi-Fi after its settings were
 * written over USB. The devices module subscribes (`onSerialDeviceOnline`) to add it to the fleet
 * by IP and MAC; no password is ever part of it.
 */
export interface SerialDeviceOnline {
  /** The data folder of the core that wrote it: several cores can run in one process (tests). */
  dataDir: string
  path: string
  mac: string
  chip: string
  ip: string
  tsMs: number
  hostname?: string
  /** The pool the device was pointed at, and the full `account.worker` it will use. */
  pool?: { url: string; port: number; user: string }
}

type Listener = (d: SerialDeviceOnline) => void
const listeners = new Set<Listener>()

/** Subscribes to devices coming online after a USB write; returns the unsubscribe function. */
export function onSerialDeviceOnline(cb: Listener): () => void {
  listeners.add(cb)
  return () => listeners.delete(cb)
}

/** Called by the serial module. A failing listener does not stop the others; its error is returned. */
export function emitSerialDeviceOnline(d: SerialDeviceOnline): unknown[] {
  const errors: unknown[] = []
  for (const cb of [...listeners]) {
    try {
      cb(d)
    } catch (e) {
      errors.push(e)
    }
  }
  return errors
}
