import type { SerialFlashFrame, SerialMonitorFrame } from '../../shared/contract/serial'
import { AppFailure, type Result } from '../../shared/errors'
import type { Logger } from '../logger'
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

/** Set to `1` to run the serial module against simulated boards instead of real ports (demos, the Chromium test). */
export const SIMULATE_SERIAL_ENV = 'HASHYARD_SIMULATE_SERIAL'

/**
 * The USB-serial module: list ports, monitor them, read and write ESP-Miner settings through the
 * ESP32 ROM bootloader, keep and restore NVS backups. Tests pass `open` and `list` for the
 * simulated bench; the default talks to real ports through `serialport`, or to simulated boards
 * when `HASHYARD_SIMULATE_SERIAL=1` (see docs/serial.md).
 */
export function createSerialModule(opts: SerialModuleOptions = {}): CoreModuleDef {
  return {
    name: 'serial',
    async start(ctx) {
      const sim =
        !opts.open && !opts.list && process.env[SIMULATE_SERIAL_ENV] === '1'
          ? await simulatedBoards(ctx.logger)
          : undefined
      const service = new SerialService({
        dataDir: ctx.dataDir,
        open: opts.open ?? sim?.open ?? serialportOpener(),
        list: opts.list ?? sim?.list ?? defaultLister,
        logger: ctx.logger,
        events: ctx.events,
        ...(opts.flasher ? { flasher: opts.flasher } : {}),
        ...(opts.watchIntervalMs !== undefined ? { watchIntervalMs: opts.watchIntervalMs } : {}),
        ...(opts.ipWaitMs !== undefined ? { ipWaitMs: opts.ipWaitMs } : {}),
        ...(opts.monitorRingLines !== undefined ? { monitorRingLines: opts.monitorRingLines } : {}),
        ...(opts.onDeviceOnline || sim
          ? {
              onDeviceOnline: (d: SerialDeviceOnline) => {
                opts.onDeviceOnline?.(d)
                sim?.deviceOnline(d.path)
              },
            }
          : {}),
      })
      return {
        handlers: serialHandlers(service),
        topics: serialTopics(service),
        stop: async () => {
          await service.stop()
          sim?.stop()
        },
      }
    },
  }
}

/**
 * The boards of `HASHYARD_SIMULATE_SERIAL=1`: the simulated ROM bootloader and ESP-Miner log of
 * `esp-rom/testing/simulated-rom.ts` behind `serialport`'s mock binding, so every byte takes the
 * same path as with a real port. One AxeOS ≤ 2.14 board is plugged at start; when it has been
 * written and reports its IP, a second one (AxeOS ≥ 2.15 pool slots) is "plugged in", so bench
 * mode can be shown. The boards report loopback addresses
 * (127.0.77.x): nothing on the network is contacted when the fleet picks them up.
 * Loaded on demand: production never imports the simulator.
 */
async function simulatedBoards(logger: Logger) {
  const [{ SimulatedBench }, { SimulatedEspRom }, { parseNvsCsv }] = await Promise.all([
    import('./testing/simulated-bench'),
    import('./esp-rom/testing/simulated-rom'),
    import('./nvs/csv'),
  ])
  const common =
    'asicfrequency,data,u16,525\nasicvoltage,data,u16,1150\nasicmodel,data,string,BM1366\ndevicemodel,data,string,ultra\nboardversion,data,string,204\n'
  // The same values as test/fixtures/nvs/bitaxe-legacy.csv and bitaxe-pools-v2.15.csv (Espressif's generator inputs).
  const boards = [
    'hostname,data,string,bitaxe-rack2-07\nwifissid,data,string,FarmNet 2.4\nwifipass,data,string,correct horse battery\nstratumurl,data,string,192.168.1.20\nstratumport,data,u16,3333\nstratumuser,data,string,bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rack2-07\nstratumpass,data,string,x\nfbstratumurl,data,string,public-pool.io\nfbstratumport,data,u16,21496\nfbstratumuser,data,string,bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.rack2-07\nfbstratumpass,data,string,x\n',
    'hostname,data,string,bitaxe-home\nwifissid,data,string,Home\nwifipass,data,string,hunter22\npool_1,data,string,"{""url"":""192.168.1.20"",""port"":3333,""user"":""bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq.home"",""pass"":""x""}"\nprim_idx,data,u16,0\nsec_idx,data,u16,1\n',
  ]
  const bench = new SimulatedBench()
  let plugged = 0
  const plugNext = (): void => {
    const n = plugged
    const settings = boards[n]
    if (settings === undefined) return
    const csv = parseNvsCsv(`key,type,encoding,value\nmain,namespace,,\n${settings}${common}`)
    if (!csv.ok) throw new Error(csv.error.message)
    const path = `/dev/ttyACM${n}`
    bench.plug(
      path,
      new SimulatedEspRom({
        chip: 'ESP32-S3',
        mac: `24:58:7c:5e:a0:0${n + 1}`,
        firmwareIp: `127.0.77.${n + 1}`,
        nvsEntries: csv.value,
      }),
      { vendorId: '303a', productId: '1001', manufacturer: 'Espressif (simulated)', serialNumber: `SIM-${n + 1}` },
    )
    plugged++
    logger.warn('simulated serial board plugged in', { path })
  }
  logger.warn(
    `${SIMULATE_SERIAL_ENV}=1: serial ports are SIMULATED (ESP32-S3 boards on serialport's mock binding); no real serial port is listed or opened`,
  )
  plugNext()
  return {
    open: bench.opener,
    list: bench.lister,
    /** The technician plugs the next board in once the newest one is on the network. */
    deviceOnline: (path: string) => {
      if (path === `/dev/ttyACM${plugged - 1}`) plugNext()
    },
    stop: () => bench.reset(),
  }
}

export const serialModule: CoreModuleDef = createSerialModule()
