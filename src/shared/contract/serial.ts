import { z } from 'zod'
import { method, topic } from '../contract-kit'

/**
 * USB serial: ports, the serial monitor, and writing Wi-Fi and pool settings into ESP-Miner
 * boards (Bitaxe, NerdQAxe…) through the ESP32 ROM bootloader. Handlers live in
 * `src/core/serial/module.ts`; docs/serial.md explains the flow and its safety checks.
 *
 * Security constraints, enforced in the core:
 * - `path` must be a port the core itself listed (`serial.ports`); any other path is refused, so
 *   a caller cannot make the core open arbitrary device files.
 * - Wi-Fi and pool passwords go in, never out: answers, frames and events carry `hasPassword`.
 */

const Empty = z.object({}).strict()

/** `/dev/ttyACM0`, `/dev/cu.usbmodem1101`, `COM3`… */
const PortPath = z.string().min(1).max(256)
const Mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/)
const JobId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/)
  .describe('Chosen by the caller to match progress frames before the answer arrives; generated when absent.')
const SinceSeq = z.object({ sinceSeq: z.number().int().min(0).optional() }).strict()

export const SerialBoardGuess = z.object({
  bridge: z.enum(['esp-usb-jtag', 'esp-usb-otg', 'cp210x', 'ch340', 'ch9102', 'ch343', 'ftdi', 'unknown']),
  label: z.string(),
  resetStrategy: z.enum(['classic', 'usb-jtag']).optional(),
  likelyMiner: z.boolean(),
})

export const SerialPortInfo = z.object({
  path: z.string(),
  vendorId: z.string().optional(),
  productId: z.string().optional(),
  serialNumber: z.string().optional(),
  manufacturer: z.string().optional(),
  board: SerialBoardGuess,
  /** `busy`: the flasher holds the port (reading or writing settings). */
  monitor: z.enum(['closed', 'open', 'busy']),
  /** Learnt from the ROM bootloader the last time settings were read or written here. */
  mac: Mac.optional(),
  /** Learnt from the device's log (ESP-Miner prints it when it joins Wi-Fi). */
  lastIp: z.string().optional(),
})
export type SerialPortInfo = z.infer<typeof SerialPortInfo>

/** What a line of an ESP-Miner log tells about the device's network state. */
export const MinerLogEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ip'), ip: z.string(), source: z.enum(['esp-miner', 'esp-netif']) }),
  z.object({ kind: z.literal('wifi-connected'), ssid: z.string() }),
  z.object({ kind: z.literal('wifi-connecting') }),
  z.object({ kind: z.literal('wifi-acquiring-ip') }),
  z.object({ kind: z.literal('wifi-failed'), ssid: z.string(), reason: z.number() }),
  z.object({ kind: z.literal('wifi-ip-timeout') }),
  z.object({ kind: z.literal('wifi-no-ssid') }),
  z.object({ kind: z.literal('ap-mode') }),
])

/**
 * One frame of the serial monitor. `seq` is the monitor's own counter across every port (for
 * `sinceSeq`); lines are device output, untrusted text, and must be rendered as text only.
 */
export const SerialMonitorFrame = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('line'),
    seq: z.number().int(),
    tsMs: z.number(),
    path: z.string(),
    text: z.string(),
    event: MinerLogEvent.optional(),
  }),
  z.object({
    kind: z.literal('state'),
    seq: z.number().int(),
    tsMs: z.number(),
    path: z.string(),
    state: z.enum(['open', 'closed', 'unplugged', 'flashing', 'monitoring']),
    message: z.string(),
  }),
])
export type SerialMonitorFrame = z.infer<typeof SerialMonitorFrame>

export const SerialFlashPhase = z.enum([
  'connect',
  'read',
  'backup',
  'erase',
  'write',
  'verify',
  'reset',
  'done',
  'failed',
  'waiting-for-ip',
  'online',
  'no-ip',
])

/** Progress of one job (read, write or restore) on one port; `done`/`failed` end the job. */
export const SerialFlashFrame = z.object({
  seq: z.number().int(),
  tsMs: z.number(),
  jobId: z.string(),
  path: z.string(),
  op: z.enum(['read', 'write', 'restore']),
  phase: SerialFlashPhase,
  doneBytes: z.number().int(),
  totalBytes: z.number().int(),
  message: z.string().optional(),
  mac: z.string().optional(),
  ip: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string(), reason: z.string().optional() }).optional(),
})
export type SerialFlashFrame = z.infer<typeof SerialFlashFrame>

export const PoolLayout = z.enum(['legacy', 'pool-slots'])

export const DevicePool = z.object({
  role: z.enum(['primary', 'fallback', 'other']),
  /** 1–8 on AxeOS ≥ 2.15 (`pool_N`); absent for the legacy `stratum*`/`fbstratum*` keys. */
  slot: z.number().int().optional(),
  url: z.string(),
  port: z.number().int().optional(),
  user: z.string(),
  hasPassword: z.boolean(),
})

/** The settings an ESP-Miner device holds in NVS, without any secret. */
export const DeviceSettings = z.object({
  jobId: z.string(),
  chip: z.string(),
  mac: Mac,
  layout: PoolLayout,
  backupId: z.string(),
  hostname: z.string().optional(),
  wifi: z.object({ ssid: z.string().optional(), hasPassword: z.boolean() }),
  pools: z.array(DevicePool),
  asicModel: z.string().optional(),
  deviceModel: z.string().optional(),
  frequencyMhz: z.number().optional(),
  coreVoltageMv: z.number().optional(),
  boardVersion: z.string().optional(),
  /** Names of every key in the `main` namespace (values are not returned). */
  keys: z.array(z.string()),
  warnings: z.array(z.string()),
})
export type DeviceSettings = z.infer<typeof DeviceSettings>

/**
 * A pool as the technician picks it. `url` is a host name or IP, or `stratum+tcp://host:port`
 * (split here, because AxeOS stores host and port apart). `user` is the account part; the worker
 * name, when given, is appended as `user.worker`.
 */
export const SerialPoolInput = z
  .object({
    url: z.string().min(1).max(300),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).max(256),
    /** Absent: keep the password the device already has (AxeOS's own "*****" rule). */
    password: z.string().max(256).optional(),
  })
  .strict()

export const SerialBackupInfo = z.object({
  id: z.string(),
  mac: Mac,
  chip: z.string(),
  layout: PoolLayout.optional(),
  takenAtMs: z.number(),
  sizeBytes: z.number().int(),
  sha256: z.string(),
  reason: z.enum(['read', 'before-write']),
})
export type SerialBackupInfo = z.infer<typeof SerialBackupInfo>

export const serialContract = {
  'serial.ports': method(
    Empty,
    z.object({ ports: z.array(SerialPortInfo) }),
    'Serial ports with USB ids and a guess of the board behind each (likely miners first).',
  ),
  'serial.monitorOpen': method(
    z.object({ path: PortPath }).strict(),
    z.object({ path: z.string(), baudRate: z.number().int() }),
    'Opens the serial monitor on a port at 115200 baud; lines arrive on serialMonitor.stream.',
  ),
  'serial.monitorClose': method(
    z.object({ path: PortPath }).strict(),
    z.object({ path: z.string(), wasOpen: z.boolean() }),
    'Closes the serial monitor of a port (refused while settings are being written).',
  ),
  'serial.reset': method(
    z.object({ path: PortPath }).strict(),
    z.object({ path: z.string() }),
    'Reboots the device into its firmware with DTR/RTS; opens the monitor first so the boot log shows.',
  ),
  'serial.readSettings': method(
    z.object({ path: PortPath, jobId: JobId.optional() }).strict(),
    DeviceSettings,
    'Reads the nvs partition through the ROM bootloader, backs it up, reboots the device, and returns its settings without passwords.',
  ),
  'serial.writeSettings': method(
    z
      .object({
        path: PortPath,
        jobId: JobId.optional(),
        wifi: z
          .object({
            ssid: z.string().min(1).max(32),
            /** Absent: keep the device's current Wi-Fi password. */
            password: z.string().max(63).optional(),
          })
          .strict()
          .optional(),
        pool: SerialPoolInput.optional(),
        fallbackPool: SerialPoolInput.optional(),
        workerName: z
          .string()
          .regex(/^[A-Za-z0-9_@+:-]{1,32}$/)
          .optional(),
      })
      .strict(),
    z.object({
      jobId: z.string(),
      chip: z.string(),
      mac: Mac,
      layout: PoolLayout,
      changedKeys: z.array(z.string()),
      backupId: z.string(),
      verifiedBy: z.enum(['md5', 'md5+read-back']),
      /** Bench mode: the worker name to use for the next device (`rack1-01` → `rack1-02`). */
      nextWorkerName: z.string().optional(),
    }),
    'Backs up, then writes Wi-Fi and pool settings (only those keys), verifies, and reboots; progress on serialFlash.stream.',
  ),
  'serial.backups': method(
    z.object({ mac: Mac.optional() }).strict(),
    z.object({ backups: z.array(SerialBackupInfo) }),
    'NVS backups kept in the data folder, newest first (optionally of one device).',
  ),
  'serial.restoreBackup': method(
    z.object({ path: PortPath, backupId: z.string().max(128), jobId: JobId.optional() }).strict(),
    z.object({ jobId: z.string(), chip: z.string(), mac: Mac, backupId: z.string() }),
    'Writes a backup back to the device it came from (the MAC must match), verifies, and reboots.',
  ),

  'serialPorts.stream': topic(
    Empty,
    z.object({ tsMs: z.number(), ports: z.array(SerialPortInfo) }),
    'latest',
    'The serial port list, refreshed on plug, unplug and monitor changes.',
  ),
  'serialMonitor.stream': topic(
    SinceSeq,
    SerialMonitorFrame,
    'ordered',
    'Serial monitor lines and state changes of every open port (filter by path); without sinceSeq, replays the recent lines still held.',
  ),
  'serialFlash.stream': topic(
    SinceSeq,
    SerialFlashFrame,
    'ordered',
    'Progress of read, write and restore jobs (phases and bytes), then the IP the device reports after a write.',
  ),
} as const
