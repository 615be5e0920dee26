/**
 * Detection dispatch: which probe answers what (research §2.2, pyasic `MinerFactory`).
 * Two probes run together — `GET /` on the web port and `version` on the cgminer port — and are
 * classified by signature; then the vendor's own `detect` fills the identity and a driver is
 * created. Vendors recognised by signature but without a dedicated driver get the generic
 * cgminer driver when their API answers on 4028 (read-only unless the host is privileged).
 */
import { type AppError, err, ok, type Result } from '../../shared/errors'
import { createAntminerDriver, detectAntminer } from './antminer/driver'
import { createAvalonDriver, detectAvalon } from './avalon/driver'
import { createAxeosDriver, detectAxeos } from './axeos/driver'
import { createBraiinsDriver, detectBraiins } from './braiins/driver'
import { cgminerRaw } from './cgminer/client'
import { readStatus } from './cgminer/codec'
import { createCgminerDriver, detectCgminer, rpcTarget } from './cgminer/driver'
import { deviceErr, deviceError } from './device-error'
import { createEpicDriver, detectEpic } from './epic/driver'
import { type HttpResponse, httpRequest } from './http-client'
import { createLuxosDriver, detectLuxos } from './luxos/driver'
import type {
  DeviceCredentials,
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DriverOptions,
  MinerDriver,
  Vendor,
} from './types'
import { createVnishDriver, detectVnish } from './vnish/driver'
import { createWhatsminerDriver, detectWhatsminer } from './whatsminer/driver'

/** A vendor signature seen by a probe, including vendors we recognise but do not drive. */
export type DetectedKind =
  | Vendor
  | 'hiveon'
  | 'marathon'
  | 'goldshell'
  | 'innosilicon'
  | 'iceriver'
  | 'hammer'
  | 'elphapex'
  | 'luckyminer'

/** Web rules in pyasic's order (`_parse_web_type`), first match wins. */
export function classifyWeb(res: Pick<HttpResponse, 'status' | 'headers' | 'body'>): DetectedKind | undefined {
  const auth = res.headers['www-authenticate']
  const authText = Array.isArray(auth) ? auth.join(' ') : (auth ?? '')
  if (res.status === 401) {
    if (authText.includes('realm="antMiner')) return 'antminer'
    if (authText.includes('realm="blackMiner')) return 'hammer'
    if (authText.includes('realm="Daoge')) return 'elphapex'
  }
  const location = res.headers.location ?? ''
  if (res.status === 307 && location.startsWith('https://')) return 'whatsminer'
  const body = res.body
  const rules: readonly [string, DetectedKind][] = [
    ['/cgi-bin/luci', 'whatsminer'],
    ['Braiins OS', 'braiins'],
    ['Luxor Firmware', 'luxos'],
    ['<TITLE>用户界面</TITLE>', 'iceriver'],
    ['AxeOS', 'axeos'],
    ['Lucky miner', 'luckyminer'],
    ['cloud-box', 'goldshell'],
    ['AnthillOS', 'vnish'],
    ['Miner Web Dashboard', 'epic'],
    ['Avalon', 'avalon'],
    ['DragonMint', 'innosilicon'],
    ['Miner UI', 'auradine'],
  ]
  return rules.find(([needle]) => body.includes(needle))?.[1]
}

/** Socket rules in pyasic's order (`_parse_socket_type`) over the upper-cased reply. */
export function classifySocket(reply: string): DetectedKind | undefined {
  const t = reply.toUpperCase()
  const has = (...needles: string[]) => needles.some((n) => t.includes(n))
  if (has('BOSMINER', 'BOSER')) return 'braiins'
  if (has('BTMINER', 'BITMICRO')) return 'whatsminer'
  if (has('LUXMINER')) return 'luxos'
  if (has('HIVEON')) return 'hiveon'
  if (has('KAONSU')) return 'marathon'
  if (has('ANTMINER') && !has('DEVDETAILS')) return 'antminer'
  if (has('INTCHAINS_QOMO', 'KDAMINER', 'BFGMINER')) return 'goldshell'
  if (has('INNOMINER')) return 'innosilicon'
  if (has('AVALON')) return 'avalon'
  if (has('GCMINER', 'FLUXOS')) return 'auradine'
  if (has('VNISH')) return 'vnish'
  return undefined
}

export interface ProbeReport {
  web: DetectedKind | undefined
  socket: DetectedKind | undefined
  /** The RPC port answered with cgminer-shaped JSON, even if no vendor matched. */
  cgminer: boolean
  /** Each probe's failure, for the "open but unidentified" explanation. */
  problems: string[]
}

/** Runs both probes at once; neither throws. */
export async function probe(endpoint: DeviceEndpoint, opts: IdentifyOptions = {}): Promise<ProbeReport> {
  const timeoutMs = opts.timeoutMs ?? 3000
  const skipped = (what: string) =>
    Promise.resolve(err(deviceError('CONNECT_FAILED', `${what} port did not answer the scan`)))
  const webReq = {
    host: endpoint.host,
    method: 'GET' as const,
    path: '/',
    timeoutMs,
    maxBodyBytes: 512 * 1024,
    ...(endpoint.httpPort === undefined ? {} : { port: endpoint.httpPort }),
  }
  const [web, rpc] = await Promise.all([
    opts.skipWeb ? skipped('web') : httpRequest(webReq),
    opts.skipRpc
      ? skipped('rpc')
      : cgminerRaw(rpcTarget(endpoint), { command: 'version' }, { timeoutMs, maxReplyBytes: 256 * 1024 }),
  ])
  const problems: string[] = []
  if (!web.ok) problems.push(`web: ${web.error.message}`)
  if (!rpc.ok) problems.push(`rpc: ${rpc.error.message}`)
  const rpcText = rpc.ok ? JSON.stringify(rpc.value) : ''
  return {
    web: web.ok ? classifyWeb(web.value) : undefined,
    socket: rpc.ok ? classifySocket(rpcText) : undefined,
    cgminer: rpc.ok && readStatus(rpc.value).severity !== 'UNKNOWN',
    problems,
  }
}

/** The socket names the firmware more precisely than the web page (Hiveon or LuxOS on Antminer hardware). */
export function decide(p: ProbeReport): DetectedKind | undefined {
  if (p.socket && p.socket !== 'antminer') return p.socket
  return p.web ?? p.socket ?? (p.cgminer ? 'cgminer' : undefined)
}

export interface Identified {
  identity: DeviceIdentity
  driver: MinerDriver
  /** The signature seen, which may name a vendor without a dedicated driver (e.g. `hiveon`). */
  kind: DetectedKind
}

const CGMINER_FAMILY: ReadonlySet<DetectedKind> = new Set([
  'cgminer',
  'luxos',
  'avalon',
  'braiins',
  'whatsminer',
  'auradine',
  'hiveon',
  'vnish',
  'goldshell',
  'innosilicon',
  'marathon',
])

export interface IdentifyOptions extends DriverOptions {
  /** Per-vendor credentials (the owner's settings); overrides `credentials` for that vendor. */
  credentialsFor?: (vendor: Vendor) => Promise<DeviceCredentials | undefined>
  /** The scan found this role's port closed: do not probe it (a default port would only time out). */
  skipWeb?: boolean
  skipRpc?: boolean
}

/**
 * Identifies the device at an endpoint and returns a driver for it. An error value means the
 * endpoint answered nothing we recognise (the caller reports it as open-but-unidentified).
 */
export async function identifyDevice(
  endpoint: DeviceEndpoint,
  options: IdentifyOptions = {},
): Promise<Result<Identified, AppError>> {
  const { credentialsFor, skipWeb, skipRpc, ...base } = options
  const report = await probe(endpoint, { ...base, ...(skipWeb ? { skipWeb } : {}), ...(skipRpc ? { skipRpc } : {}) })
  // Whatsminer API v3 listens on its own port and answers nothing the two probes send.
  const kind = decide(report) ?? (endpoint.v3Port !== undefined ? 'whatsminer' : undefined)
  if (kind === undefined) {
    const why = report.problems.length > 0 ? report.problems.join('; ') : 'no known signature'
    return deviceErr('NOT_SUPPORTED', `Unrecognised device: ${why}`)
  }
  const vendorCreds = credentialsFor && isVendor(kind) ? await credentialsFor(kind) : undefined
  const opts: DriverOptions = vendorCreds ? { ...base, credentials: vendorCreds } : base
  if (kind === 'axeos' || kind === 'nerdqaxe' || kind === 'luckyminer') {
    const id = await detectAxeos(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createAxeosDriver(id.value, opts), kind }) : id
  }
  if (kind === 'antminer') {
    const id = await detectAntminer(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createAntminerDriver(id.value, opts), kind }) : id
  }
  if (kind === 'avalon' && report.cgminer) {
    const id = await detectAvalon(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createAvalonDriver(id.value, opts), kind }) : id
  }
  if (kind === 'braiins') {
    // REST (BOS ≥ 25.07) gives the full identity and pool writes; older releases fall through to
    // the read-only cgminer driver below.
    const id = await detectBraiins(endpoint, opts)
    if (id.ok) return ok({ identity: id.value, driver: createBraiinsDriver(id.value, opts), kind })
  }
  if (kind === 'epic') {
    // ePIC's API is HTTP on the RPC port (4028), which the cgminer probe cannot parse.
    const id = await detectEpic(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createEpicDriver(id.value, opts), kind }) : id
  }
  if (kind === 'vnish' && report.cgminer) {
    const id = await detectVnish(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createVnishDriver(id.value, opts), kind }) : id
  }
  if (kind === 'luxos' && report.cgminer) {
    const id = await detectLuxos(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createLuxosDriver(id.value, opts), kind }) : id
  }
  if (kind === 'whatsminer') {
    const id = await detectWhatsminer(endpoint, opts)
    return id.ok ? ok({ identity: id.value, driver: createWhatsminerDriver(id.value, opts), kind }) : id
  }
  if (CGMINER_FAMILY.has(kind) && report.cgminer) {
    const id = await detectCgminer(endpoint, opts)
    if (!id.ok) return id
    const { privileged, ...rest } = id.value
    const vendor: Vendor = isVendor(kind) ? kind : 'cgminer'
    const identity: DeviceIdentity = { ...rest, vendor }
    return ok({ identity, driver: createCgminerDriver(identity, privileged, opts), kind })
  }
  return deviceErr('NOT_SUPPORTED', `Recognised as ${kind}, which has no driver yet`, { kind })
}

const VENDORS: readonly Vendor[] = [
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
]

function isVendor(k: DetectedKind): k is Vendor {
  return (VENDORS as readonly string[]).includes(k)
}

/** Builds a driver for a stored identity (the store calls this instead of re-detecting). */
export function driverFor(
  identity: DeviceIdentity,
  opts: DriverOptions & { privileged?: boolean } = {},
): DeviceResult<MinerDriver> {
  switch (identity.vendor) {
    case 'axeos':
    case 'nerdqaxe':
      return ok(createAxeosDriver(identity, opts))
    case 'antminer':
      return ok(createAntminerDriver(identity, opts))
    case 'whatsminer':
      return ok(createWhatsminerDriver(identity, opts))
    case 'avalon':
      return ok(createAvalonDriver(identity, opts))
    case 'braiins':
      // Records identified over REST store setPools=true (passed here as `privileged`); a record
      // from the cgminer fallback (BOS before 25.07) stays on the read-only cgminer driver.
      return ok(opts.privileged ? createBraiinsDriver(identity, opts) : createCgminerDriver(identity, false, opts))
    case 'luxos':
      return ok(createLuxosDriver(identity, opts))
    case 'vnish':
      return ok(createVnishDriver(identity, opts))
    case 'epic':
      return ok(createEpicDriver(identity, opts))
    default:
      return ok(createCgminerDriver(identity, opts.privileged ?? false, opts))
  }
}
