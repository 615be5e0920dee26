import type { SerialFlashFrame, SerialMonitorFrame } from '../../shared/contract/serial'
import { AppFailure, type Result } from '../../shared/errors'
import type { CoreModuleDef } from '../module'
import type { HandlerMap, TopicMap } from '../rpc/handlers'
import type { SerialDeviceOnline } from './device-online'
import type { FlasherOptions } from './esp-rom/flasher'
import { type PortOpener, serialportOpener } from './port-access'
import { defaultLister, type PortLister } from './ports'
import { SerialService } from './serial-service'

export { onSerialDeviceOnline, type SerialDeviceOnline } from './device-online'

export interface SerialModuleOptions {
  /** Opens a port by path. Production: serialport's SerialPort; tests: SerialPortMock + simulated ROM. */
  open?: PortOpener
  /** Lists ports. Production: `SerialPort.list()`. */
  list?: PortLister
  flasher?: Omit<FlasherOptions, 'logger' | 'resetStrategy'>
  watchIntervalMs?: number
  ipWaitMs?: number
  monitorRingLines?: number
  /** Called when a device whose settings were just written reports its IP (see also `onSerialDeviceOnline`). */
  onDeviceOnline?: (d: SerialDeviceOnline) => void
}

/** Turns a failure value into the throw the RPC layer converts back into an AppError. */
function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value
  throw new AppFailure(r.error.code, r.error.message, r.error.details)
}

export function serialHandlers(s: SerialService) {
  return {
    'serial.ports': async () => ({ ports: unwrap(await s.listPorts()) }),
    'serial.monitorOpen': async (p) => unwrap(await s.monitorOpen(p.path)),
    'serial.monitorClose': async (p) => unwrap(await s.monitorClose(p.path)),
    'serial.reset': async (p) => unwrap(await s.reset(p.path)),
    'serial.readSettings': async (p) => unwrap(await s.readSettings(p.path, p.jobId)),
    'serial.writeSettings': async (p) => unwrap(await s.writeSettings(p)),
    'serial.backups': async (p) => ({ backups: await s.listBackups(p.mac) }),
    'serial.restoreBackup': async (p) => unwrap(await s.restoreBackup(p.path, p.backupId, p.jobId)),
  } satisfies HandlerMap
}

export function serialTopics(s: SerialService) {
  return {
    'serialPorts.stream': {
      delivery: 'latest' as const,
      snapshot: () => ({ tsMs: Date.now(), ports: s.portsSnapshot() }),
      onChange: (cb: () => void) => s.onPortsChange(cb),
    },
    'serialMonitor.stream': {
      delivery: 'ordered' as const,
      replay: (p: { sinceSeq?: number | undefined }): SerialMonitorFrame[] | 'gone' => s.monitors.replay(p.sinceSeq),
      onFrame: (cb: (f: SerialMonitorFrame) => void) => s.monitors.onFrame(cb),
    },
    'serialFlash.stream': {
      delivery: 'ordered' as const,
      replay: (p: { sinceSeq?: number | undefined }): SerialFlashFrame[] | 'gone' => s.flashFrames.replay(p.sinceSeq),
      onFrame: (cb: (f: SerialFlashFrame) => void) => s.flashFrames.onFrame(cb),
    },
  } satisfies TopicMap
}

/**
 * The USB-serial module: list ports, monitor them, read and write ESP-Miner settings through the
 * ESP32 ROM bootloader, keep and restore NVS backups. Tests pass `open` and `list` for the
 * simulated bench; the default talks to real ports through `serialport`.
 */
export function createSerialModule(opts: SerialModuleOptions = {}): CoreModuleDef {
  return {
    name: 'serial',
    start(ctx) {
      const service = new SerialService({
        dataDir: ctx.dataDir,
        open: opts.open ?? serialportOpener(),
        list: opts.list ?? defaultLister,
        logger: ctx.logger,
        events: ctx.events,
        ...(opts.flasher ? { flasher: opts.flasher } : {}),
        ...(opts.watchIntervalMs !== undefined ? { watchIntervalMs: opts.watchIntervalMs } : {}),
        ...(opts.ipWaitMs !== undefined ? { ipWaitMs: opts.ipWaitMs } : {}),
        ...(opts.monitorRingLines !== undefined ? { monitorRingLines: opts.monitorRingLines } : {}),
        ...(opts.onDeviceOnline ? { onDeviceOnline: opts.onDeviceOnline } : {}),
      })
      return {
        handlers: serialHandlers(service),
        topics: serialTopics(service),
        stop: () => service.stop(),
      }
    },
  }
}

export const serialModule: CoreModuleDef = createSerialModule()
