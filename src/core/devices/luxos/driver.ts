/**
 * LuxOS (Luxor firmware on Antminer hardware) over its cgminer-style API on 4028 (research §4.5).
 *
 * - Identity: `version` (`LUXminer`, `Type`) and `config` (`MACAddr`, `Hostname`, `SerialNumber`).
 * - Read: `summary+pools+stats+power` (GH/s keys, bmminer-style `stats`, `POWER[0].Watts`).
 * - Pools need no session (luxos-tooling `api.json`: `addpool`/`removepool`/`switchpool` have
 *   `logon_required:false`): add the new pools, switch to the first, then remove every other
 *   pool, re-reading after each removal because indexes shift as in cgminer.
 * - Reboot (`rebootdevice`) and the red LED (`ledset <sid>,red,blink|auto`) need a session:
 *   `logon` → SessionID as the first parameter → `logoff`. Only one session may exist; when
 *   another tool holds it (Code 402) we report that instead of taking it over.
 *
 * Unverified (research §10): whether pools added this way survive a reboot; `afterPoolWrite` is
 * therefore `verify-then-reboot`, and the read-back decides.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { canonicalUrl } from '../bulk-apply'
import { type CgminerTarget, cgminerCommand, cgminerMulti } from '../cgminer/client'
import { section } from '../cgminer/codec'
import { rpcTarget, validatePools } from '../cgminer/driver'
import { readBmminerStats, readPools, readSummary, readVersion, sumPools } from '../cgminer/normalise'
import { deviceErr, deviceError } from '../device-error'
import { asRecord, type JsonRecord, newNotes, normaliseMac, numField, textField } from '../field-map'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type {
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DeviceStatus,
  DriverCapabilities,
  DriverOptions,
  MinerDriver,
  PoolStatus,
  PoolTarget,
} from '../types'

/** `logon` while another session is open (docs.luxor.tech `firmware/api/sessions`). */
export const CODE_SESSION_BUSY = 402

export async function detectLuxos(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const target = rpcTarget(endpoint)
  const v = await cgminerCommand(target, { command: 'version' }, { timeoutMs: opts.timeoutMs })
  if (!v.ok) return v
  const notes = newNotes()
  const ver = readVersion(v.value, notes)
  const vrec = asRecord(section(v.value, 'VERSION')[0]) ?? {}
  // `config` carries the identity; a refusal leaves those fields unknown rather than failing detection.
  const c = await cgminerCommand(target, { command: 'config' }, { timeoutMs: opts.timeoutMs })
  const conf = c.ok ? (asRecord(section(c.value, 'CONFIG')[0]) ?? {}) : {}
  return ok({
    vendor: 'luxos',
    endpoint,
    model: textField(conf, 'Model', notes, 'config') ?? ver.model,
    firmware: textField(vrec, 'LUXminer', notes, 'version') ?? ver.firmware,
    mac: normaliseMac(conf.MACAddr),
    hostname: textField(conf, 'Hostname', notes, 'config'),
    serial: textField(conf, 'SerialNumber', notes, 'config'),
  })
}

/** The four report commands → status; a refused part is a warning, as in the generic driver. */
export function luxosStatus(parts: Record<string, Result<JsonRecord, AppError>>, tsMs: number): DeviceStatus {
  const st = emptyStatus(tsMs)
  const notes = newNotes()
  const { summary, pools, stats, power } = parts
  if (summary?.ok) {
    const s = readSummary(summary.value, notes)
    st.hashrates = s.hashrates
    st.uptimeS = s.uptimeS
    st.accepted = s.accepted
    st.rejected = s.rejected
  } else if (summary) notes.warnings.push(`summary: ${summary.error.message}`)
  if (pools?.ok) st.pools = readPools(pools.value, notes)
  else if (pools) notes.warnings.push(`pools: ${pools.error.message}`)
  if (stats?.ok) {
    const s = readBmminerStats(stats.value, notes)
    st.boards = s.boards
    st.fansRpm = s.fansRpm
    st.expectedHashrateThs = s.expectedThs
    st.uptimeS ??= s.uptimeS
  } else if (stats) notes.warnings.push(`stats: ${stats.error.message}`)
  if (power?.ok) st.powerW = numField(section(power.value, 'POWER')[0], 'Watts', notes, 'power')
  else if (power) notes.warnings.push(`power: ${power.error.message}`)
  st.hashrates = normaliseReadings(st.hashrates)
  st.hashrateThs = currentThs(st.hashrates)
  st.accepted ??= sumPools(st.pools, 'accepted')
  st.rejected ??= sumPools(st.pools, 'rejected')
  st.warnings = notes.warnings
  return st
}

/** Runs `fn` inside a LuxOS session and logs off afterwards (unless the command ends the API, like a reboot). */
export async function withSession<T>(
  target: CgminerTarget,
  timeoutMs: number | undefined,
  fn: (sessionId: string) => Promise<DeviceResult<T>>,
  logoffAfter = true,
): Promise<DeviceResult<T>> {
  const logon = await cgminerCommand(target, { command: 'logon' }, { timeoutMs })
  if (!logon.ok) {
    const code = (logon.error.details as { code?: unknown } | undefined)?.code
    if (code === CODE_SESSION_BUSY)
      return deviceErr(
        'COMMAND_FAILED',
        'Another LuxOS session is open on this miner (another tool is logged in); try again in a minute',
      )
    return logon
  }
  const sid = textField(section(logon.value, 'SESSION')[0], 'SessionID', newNotes(), 'logon')
  if (!sid) return deviceErr('BAD_REPLY', 'LuxOS logon gave no SessionID')
  // The id is a parameter of a comma-separated list: anything else in it would shift the fields.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(sid)) return deviceErr('BAD_REPLY', 'LuxOS logon gave an unusable SessionID')
  const r = await fn(sid)
  if (logoffAfter) {
    const off = await cgminerCommand(target, { command: 'logoff', parameter: sid }, { timeoutMs })
    // The session expires by itself after 60 s idle; the command's own result is what matters.
    if (!off.ok && r.ok) return ok(r.value)
  }
  return r
}

/** No escaping exists in LuxOS parameters (docs.luxor.tech `firmware/api/intro`): refuse commas. */
function checkParams(pools: readonly PoolTarget[]): DeviceResult<void> {
  for (const [i, p] of pools.entries())
    if (/[,\\]/.test(p.user + p.password))
      return deviceErr('INVALID_POOL', `Pool ${i + 1}: LuxOS cannot take a comma or backslash in the user or password`)
  return ok(undefined)
}

const keyOf = (p: { url: string; user: string }) => `${canonicalUrl(p.url)}\u0000${p.user}`

/**
 * Replaces the pools (research §4.5 "three pools, failover"): add the targets (into the default
 * group 0), `switchpool` to the first, then remove every pool that is not a target, and
 * duplicates of a target, one at a time with a fresh `pools` read before each removal.
 */
export async function replacePoolsLuxos(
  target: CgminerTarget,
  pools: readonly PoolTarget[],
  timeoutMs: number | undefined,
): Promise<DeviceResult<void>> {
  const call = (command: string, parameter?: string) =>
    cgminerCommand(target, parameter === undefined ? { command } : { command, parameter }, { timeoutMs })
  const readList = async (): Promise<DeviceResult<PoolStatus[]>> => {
    const r = await call('pools')
    return r.ok ? ok(readPools(r.value, newNotes())) : r
  }
  const before = await readList()
  if (!before.ok) return before
  for (const p of pools) {
    // A blank trailing field still needs its comma: `url,user,` (docs.luxor.tech).
    const added = await call('addpool', [p.url, p.user, p.password].join(','))
    if (!added.ok) return added
  }
  const afterAdd = await readList()
  if (!afterAdd.ok) return afterAdd
  const first = pools[0]
  const wantedFirst = first ? keyOf(first) : ''
  // The newest copy of the primary is the one just added (the highest index with that key).
  const primary = [...afterAdd.value].reverse().find((p) => keyOf(p) === wantedFirst)
  if (!primary) return deviceErr('VERIFY_FAILED', 'The new primary pool did not appear after addpool')
  const sw = await call('switchpool', String(primary.index))
  if (!sw.ok) return sw
  const wanted = new Set(pools.map(keyOf))
  for (let guard = 0; guard < 64; guard++) {
    const list = await readList()
    if (!list.ok) return list
    const ordered = [...list.value].sort((a, b) => (a.priority ?? a.index) - (b.priority ?? b.index))
    const seen = new Set<string>()
    const extra = ordered.find((p) => {
      const k = keyOf(p)
      if (!wanted.has(k) || seen.has(k)) return true
      seen.add(k)
      return false
    })
    if (!extra) return ok(undefined)
    const removed = await call('removepool', String(extra.index))
    if (!removed.ok) return err({ ...removed.error, message: `Removing an old pool failed: ${removed.error.message}` })
  }
  return err(deviceError('VERIFY_FAILED', 'Old pools kept reappearing while being removed'))
}

export function createLuxosDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const target = rpcTarget(identity.endpoint)
  const t = opts.timeoutMs
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'toggle',
    afterPoolWrite: 'verify-then-reboot',
  }
  return {
    identity,
    capabilities,
    async read() {
      const multi = await cgminerMulti(target, ['summary', 'pools', 'stats', 'power'], { timeoutMs: t })
      if (!multi.ok) return multi
      const { summary, pools } = multi.value
      if (!summary?.ok && !pools?.ok)
        return err(summary && !summary.ok ? summary.error : deviceError('BAD_REPLY', 'No summary'))
      return ok(luxosStatus(multi.value, Date.now()))
    },
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      const params = checkParams(pools)
      if (!params.ok) return params
      return replacePoolsLuxos(target, pools, t)
    },
    reboot: () =>
      // The API goes away with the reboot, so there is no logoff; the session dies with luxminer.
      withSession(
        target,
        t,
        async (sid) => {
          const r = await cgminerCommand(target, { command: 'rebootdevice', parameter: sid }, { timeoutMs: t })
          return r.ok ? ok(undefined) : r
        },
        false,
      ),
    locate: (on) =>
      withSession(target, t, async (sid) => {
        // `auto` hands the red LED back to the firmware (config `RedLed: "auto"`; asic-rs uses it for off).
        const r = await cgminerCommand(
          target,
          { command: 'ledset', parameter: `${sid},red,${on ? 'blink' : 'auto'}` },
          { timeoutMs: t },
        )
        return r.ok ? ok(undefined) : r
      }),
  }
}
