import { z } from 'zod'
import { method, topic } from '../contract-kit'

/**
 * Devices: discovery (scan), the device table, control (locate, reboot), credentials and bulk pool
 * changes. Security constraints:
 * - Every string a device or the network sent (hostname, model, pool URL, worker, user agent,
 *   error text) is untrusted text: the UI renders it as text only, never as HTML.
 * - Credentials and pool passwords are write-only: no method returns them, and the core never
 *   logs them.
 */

const Empty = z.object({}).strict()
const DeviceId = z.string().min(1).max(64)
/** Owner-typed labels: short, no control characters. */
const Label = z
  .string()
  .max(64)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
const Tag = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[\p{L}\p{N} _.:/+-]+$/u, 'letters, digits, space and _ . : / + - only')

export const DeviceVendor = z.enum([
  'antminer',
  'axeos',
  'nerdqaxe',
  'whatsminer',
  'braiins',
  'avalon',
  'luxos',
  'vnish',
  'epic',
  'auradine',
  'cgminer',
])
export type DeviceVendor = z.infer<typeof DeviceVendor>

const HashrateWindow = z.enum(['now', '5s', '15s', '30s', '1m', '5m', '10m', '15m', '30m', '1h', '24h', 'avg'])

export const DeviceStatusSchema = z.object({
  tsMs: z.number(),
  hashrates: z.array(z.object({ window: HashrateWindow, ths: z.number(), source: z.string() })),
  hashrateThs: z.number().nullable(),
  expectedHashrateThs: z.number().nullable(),
  boards: z.array(
    z.object({
      index: z.number(),
      hashrateThs: z.number().nullable(),
      boardTempC: z.number().nullable(),
      chipTempC: z.number().nullable(),
      chips: z.number().nullable(),
      serial: z.string().nullable(),
    }),
  ),
  fansRpm: z.array(z.number()),
  powerW: z.number().nullable(),
  uptimeS: z.number().nullable(),
  pools: z.array(
    z.object({
      index: z.number(),
      url: z.string(),
      user: z.string(),
      state: z.enum(['alive', 'dead', 'disabled', 'rejecting', 'unknown']),
      active: z.boolean(),
      priority: z.number().nullable(),
      accepted: z.number().nullable(),
      rejected: z.number().nullable(),
    }),
  ),
  accepted: z.number().nullable(),
  rejected: z.number().nullable(),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
})
export type DeviceStatusFrame = z.infer<typeof DeviceStatusSchema>

export const DeviceCapabilitiesSchema = z.object({
  setPools: z.boolean(),
  maxPools: z.number().int(),
  reboot: z.boolean(),
  locate: z.enum(['toggle', 'timed', 'none']),
  afterPoolWrite: z.enum(['restart', 'none', 'verify-then-reboot']),
})

export const DeviceLocation = z.object({
  site: z.string().nullable(),
  rack: z.string().nullable(),
  row: z.string().nullable(),
  slot: z.string().nullable(),
})

export const DeviceSource = z.enum(['scan', 'mdns', 'passive', 'manual'])

export const Device = z.object({
  id: z.string(),
  /** What the record is keyed by: `mac:…`, `serial:…`, `host:…` or `ip:…` (strongest known). */
  identityKey: z.string(),
  vendor: DeviceVendor.nullable(),
  /** The signature seen at detection, which may name firmware without its own driver (`hiveon`). */
  kind: z.string().nullable(),
  model: z.string().nullable(),
  firmware: z.string().nullable(),
  mac: z.string().nullable(),
  serial: z.string().nullable(),
  hostname: z.string().nullable(),
  ip: z.string().nullable(),
  httpPort: z.number().int().nullable(),
  rpcPort: z.number().int().nullable(),
  /** Whatsminer API v3 port when the device speaks it. */
  v3Port: z.number().int().nullable(),
  name: z.string().nullable(),
  location: DeviceLocation,
  tags: z.array(z.string()),
  source: DeviceSource,
  firstSeenMs: z.number(),
  lastSeenMs: z.number().nullable(),
  /** null until the first poll. */
  online: z.boolean().nullable(),
  offlineSinceMs: z.number().nullable(),
  lastError: z.string().nullable(),
  capabilities: DeviceCapabilitiesSchema.nullable(),
  status: DeviceStatusSchema.nullable(),
  /** Last stratum worker and user agent seen by the local pool or proxy (passive matching). */
  worker: z.string().nullable(),
  userAgent: z.string().nullable(),
  /**
   * The first share Hashyard's pool or proxy accepted from this device since it was found or since
   * its pools were last changed: the onboarding confirmation. null until then.
   */
  firstShare: z.object({ tsMs: z.number(), difficulty: z.number(), worker: z.string().nullable() }).nullable(),
  /** An operation running on the device right now (`assign-pools`, `reboot`, `locate`). */
  busy: z.string().nullable(),
})
export type Device = z.infer<typeof Device>

export const ScanPortSpec = z
  .object({ port: z.number().int().min(1).max(65535), role: z.enum(['http', 'rpc', 'whatsminer-v3', 'http-alt']) })
  .strict()

export const ScanResultFrame = z.discriminatedUnion('state', [
  z.object({
    host: z.string(),
    state: z.literal('identified'),
    openPorts: z.array(z.number()),
    kind: z.string(),
    deviceId: z.string(),
    vendor: DeviceVendor,
    model: z.string().nullable(),
  }),
  z.object({
    host: z.string(),
    state: z.literal('open-unidentified'),
    openPorts: z.array(z.number()),
    reason: z.string(),
  }),
  z.object({ host: z.string(), state: z.literal('no-answer') }),
  z.object({ host: z.string(), state: z.literal('cancelled') }),
])

export const ScanProgressSchema = z.object({
  total: z.number().int(),
  done: z.number().int(),
  identified: z.number().int(),
  openUnidentified: z.number().int(),
  noAnswer: z.number().int(),
})

export const ScanFrame = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('started'),
    seq: z.number().int(),
    scanId: z.string(),
    ranges: z.array(z.string()),
    total: z.number().int(),
  }),
  z.object({
    type: z.literal('result'),
    seq: z.number().int(),
    scanId: z.string(),
    result: ScanResultFrame,
    progress: ScanProgressSchema,
  }),
  z.object({
    type: z.literal('finished'),
    seq: z.number().int(),
    scanId: z.string(),
    cancelled: z.boolean(),
    progress: ScanProgressSchema,
  }),
])
export type ScanFrame = z.infer<typeof ScanFrame>

const PoolSpec = z
  .object({
    url: z.string().min(1).max(256),
    /** Stratum password; usually `x`. Never returned or logged. */
    password: z.string().max(128).default('x'),
  })
  .strict()

export const AssignPreviewRow = z.object({
  id: z.string(),
  worker: z.string().nullable(),
  user: z.string().nullable(),
  problems: z.array(z.string()),
  duplicate: z.boolean(),
  /** The driver can write pools on this device (false: read-only API, unknown vendor, offline…). */
  writable: z.boolean(),
})

export const AssignOutcome = z.object({
  id: z.string(),
  status: z.enum(['applied', 'failed', 'skipped']),
  stage: z.enum(['validate', 'read', 'write', 'restart', 'verify']).nullable(),
  /** What became of the previous pools when the change failed. */
  previous: z.enum(['kept', 'restored', 'restore-failed', 'unknown']).nullable(),
  restarted: z.boolean(),
  message: z.string().nullable(),
  user: z.string().nullable(),
})

export const ActionEntry = z.object({
  seq: z.number().int(),
  deviceId: z.string(),
  tsMs: z.number(),
  action: z.string(),
  outcome: z.enum(['ok', 'failed', 'info']),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
})

export const CredentialEntry = z.object({
  vendor: DeviceVendor,
  /** null: the vendor default; otherwise a range (CIDR, start-end, `10.0.1-3.*`) that overrides it. */
  range: z.string().nullable(),
  username: z.string(),
  hasPassword: z.boolean(),
  updatedAtMs: z.number(),
})

const Ids = z.array(DeviceId).min(1).max(5000)

/** One service seen by mDNS; names and hosts are untrusted network text (render as text only). */
export const MdnsHitSchema = z.object({
  name: z.string(),
  host: z.string(),
  address: z.string().nullable(),
  port: z.number().int(),
  match: z.enum(['axeos-subtype', 'txt-asic', 'instance-name', 'hostname']),
  state: z.enum(['identifying', 'identified', 'unidentified', 'ignored']),
  deviceId: z.string().nullable(),
  vendor: z.string().nullable(),
  reason: z.string().nullable(),
  lastSeenMs: z.number(),
  checkedAtMs: z.number().nullable(),
})

const MdnsStatus = z.object({
  running: z.boolean(),
  startedAtMs: z.number().nullable(),
  hits: z.array(MdnsHitSchema),
})

/** A pool URL a miner on the LAN can reach: this host's LAN address, never localhost or `.local`. */
export const AppPoolUrl = z.object({
  url: z.string(),
  address: z.string(),
  /** The network interface the address belongs to (`eth0`, `en0`, `Wi-Fi`). */
  interface: z.string(),
  /** The interface's subnet, e.g. `192.168.1.0/24`: pick the one your miners are on. */
  cidr: z.string().nullable(),
})

export const devicesContract = {
  'scan.start': method(
    z
      .object({
        /** Pasted ranges (CIDR, `10.0.1-3.*`, start–end, addresses). Default: the host's own IPv4 subnets. */
        ranges: z.string().max(10_000).optional(),
        /** Ports to probe, with the role each plays. Default 80 http, 4028 rpc, 4433 whatsminer-v3, 8080 http-alt. */
        ports: z.array(ScanPortSpec).min(1).max(8).optional(),
      })
      .strict(),
    z.object({ scanId: z.string(), ranges: z.array(z.string()), total: z.number().int() }),
    'Starts an IP scan (one at a time); results stream on scan.stream and identified devices join the table.',
  ),
  'scan.cancel': method(
    z.object({ scanId: z.string().max(64).optional() }).strict(),
    z.object({ cancelled: z.boolean() }),
    'Cancels the running scan; every address still ends with a result (cancelled).',
  ),
  'devices.list': method(
    z.object({ tag: Tag.optional(), site: Label.optional() }).strict(),
    z.object({ devices: z.array(Device) }),
    'Every known device with its latest status.',
  ),
  'devices.get': method(z.object({ id: DeviceId }).strict(), Device, 'One device with its latest status.'),
  'devices.rename': method(
    z.object({ id: DeviceId, name: Label.nullable() }).strict(),
    Device,
    'Sets (or clears with null) the owner-chosen name.',
  ),
  'devices.setLocation': method(
    z
      .object({
        id: DeviceId,
        site: Label.nullable().optional(),
        rack: Label.nullable().optional(),
        row: Label.nullable().optional(),
        slot: Label.nullable().optional(),
      })
      .strict(),
    Device,
    'Sets site / rack / row / slot; omitted fields are unchanged, null clears.',
  ),
  'devices.tag': method(
    z
      .object({
        ids: Ids,
        add: z.array(Tag).max(32).optional(),
        remove: z.array(Tag).max(32).optional(),
      })
      .strict(),
    z.object({ devices: z.array(Device) }),
    'Adds and removes tags on several devices.',
  ),
  'devices.locate': method(
    z
      .object({
        id: DeviceId,
        on: z.boolean(),
        /** Toggle-style LEDs are switched off again after this long. Default 120 s. */
        durationS: z.number().int().min(30).max(3600).optional(),
      })
      .strict(),
    z.object({ on: z.boolean(), mode: z.enum(['toggle', 'timed']), untilMs: z.number().nullable() }),
    'Blinks the LED or screen so the owner can find the unit (at least 30 s).',
  ),
  'devices.reboot': method(
    z.object({ id: DeviceId }).strict(),
    z.object({ rebooted: z.boolean() }),
    'Restarts the mining process or the device, as the firmware provides.',
  ),
  'devices.setCredentials': method(
    z
      .object({
        vendor: DeviceVendor,
        range: z.string().min(1).max(200).nullable().default(null),
        username: z.string().max(64),
        /** null removes this entry. */
        password: z.string().max(128).nullable(),
      })
      .strict(),
    CredentialEntry.nullable(),
    'Stores login credentials for a vendor (optionally for one address range). Write-only: never returned.',
  ),
  'devices.listCredentials': method(
    Empty,
    z.object({ credentials: z.array(CredentialEntry) }),
    'Which vendor and range credentials are set (usernames only; passwords are never returned).',
  ),
  'devices.assignPools': method(
    z
      .object({
        ids: Ids,
        /** In priority order; the first is the primary. */
        pools: z.array(PoolSpec).min(1).max(3),
        /** Account part of the stratum user (`bc1q…` on a solo pool, the account on a hosted pool). */
        account: z.string().max(128),
        /** Worker name template, e.g. `{rack}-{slot|pad2}` or `{ip_x}`. */
        workerTemplate: z.string().min(1).max(128),
        dryRun: z.boolean(),
        batchSize: z.number().int().min(1).max(100).optional(),
        pauseMs: z.number().int().min(0).max(600_000).optional(),
      })
      .strict(),
    z.object({
      preview: z.array(AssignPreviewRow),
      /** Present when dryRun is false: one outcome per device, in request order. */
      outcomes: z.array(AssignOutcome).optional(),
    }),
    'Points devices at a pool with per-device worker names: dry run previews, apply writes in batches and verifies.',
  ),
  'devices.actionLog': method(
    z
      .object({
        id: DeviceId.optional(),
        beforeSeq: z.number().int().min(1).optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      })
      .strict(),
    z.object({ entries: z.array(ActionEntry) }),
    'What was done to a device (or to all), newest first.',
  ),

  'mdns.start': method(
    Empty,
    MdnsStatus,
    'Starts mDNS/DNS-SD discovery (AxeOS `_axeos._sub._http._tcp`, vendor names under `_http._tcp`); found miners join the table with source mdns.',
  ),
  'mdns.stop': method(Empty, MdnsStatus, 'Stops mDNS discovery; what it found stays in the device table.'),
  'mdns.status': method(Empty, MdnsStatus, 'Whether mDNS discovery runs, and the services it saw with their outcome.'),
  'devices.appPoolUrls': method(
    z
      .object({
        /** The stratum port of Hashyard's pool or proxy. */
        port: z.number().int().min(1).max(65535),
      })
      .strict(),
    z.object({ urls: z.array(AppPoolUrl) }),
    "Hashyard's own pool URLs as miners must be given them: `stratum+tcp://<LAN IPv4>:<port>` for each LAN interface.",
  ),

  'scan.stream': topic(
    z.object({ sinceSeq: z.number().int().min(0).optional() }).strict(),
    ScanFrame,
    'ordered',
    'Scan start, every per-address result as it arrives with progress, and the end.',
  ),
  'devices.stream': topic(
    Empty,
    z.object({ tsMs: z.number(), devices: z.array(Device) }),
    'latest',
    'The device table with the latest status of each device, coalesced.',
  ),
} as const
