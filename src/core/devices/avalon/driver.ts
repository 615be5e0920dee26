/**
 * Canaan Avalon over the cgminer API (4028): A-series (A10–A15), Avalon Q, Nano 3/3s, Mini 3.
 * Reads `summary`, `pools` and the bracketed `estats`/`stats`. Pool writes take one of the two
 * documented forms (research §4.4):
 * - Q, Nano, Mini: `setpool` with `admin,<web password>,<idx>,<url>,<user>,<pass>`;
 * - A-series: `ascset` with `0,setpool,<user>,<password>,<idx>,<url>,<worker>,<pass>` (root/root).
 * Parameters are comma-separated with no escaping, so a comma anywhere is refused up front.
 * Reboot is `ascset 0,reboot,0`; locate toggles the LED with `ascset 0,led,1-1` / `1-0`.
 */
import { ok } from '../../../shared/errors'
import { type CgminerTarget, cgminerCommand, cgminerMulti } from '../cgminer/client'
import { section } from '../cgminer/codec'
import { rpcTarget, validatePools } from '../cgminer/driver'
import { readPools, readSummary, readVersion } from '../cgminer/normalise'
import { deviceErr } from '../device-error'
import { asRecord, type FieldNotes, type JsonRecord, newNotes, normaliseMac, textField, toThs } from '../field-map'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type {
  DeviceCredentials,
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DeviceStatus,
  DriverCapabilities,
  DriverOptions,
  HashrateReading,
  MinerDriver,
  PoolTarget,
} from '../types'
import { moduleText, num, nums, parseBrackets } from './estats'

export const AVALON_HOME_DEFAULT: DeviceCredentials = { username: 'admin', password: 'admin' }
export const AVALON_A_SERIES_DEFAULT: DeviceCredentials = { username: 'root', password: 'root' }

/** Q, Nano and Mini use the top-level `setpool`; the A-series (`AvalonMiner 15-194`) uses `ascset`. */
export function poolCommandStyle(model: string | null): 'setpool' | 'ascset' {
  return model !== null && /^avalon\s*(q|nano|mini)/i.test(model.trim()) ? 'setpool' : 'ascset'
}

export async function detectAvalon(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const v = await cgminerCommand(rpcTarget(endpoint), { command: 'version' }, { timeoutMs: opts.timeoutMs })
  if (!v.ok) return v
  const notes = newNotes()
  const ver = readVersion(v.value, notes)
  const rec = asRecord(section(v.value, 'VERSION')[0]) ?? {}
  return ok({
    vendor: 'avalon',
    endpoint,
    model: textField(rec, 'PROD', notes, 'version') ?? ver.model,
    firmware: textField(rec, 'LVERSION', notes, 'version') ?? textField(rec, 'VERSION', notes, 'version'),
    mac: normaliseMac(rec.MAC),
    hostname: null,
    // DNA is the controller's unique id: the best serial an Avalon offers over the API.
    serial: textField(rec, 'DNA', notes, 'version'),
  })
}

/** summary + pools + bracketed stats → status. */
export function avalonStatus(
  summary: JsonRecord | null,
  pools: JsonRecord | null,
  stats: JsonRecord | null,
  notes: FieldNotes,
  tsMs: number,
): DeviceStatus {
  const st = emptyStatus(tsMs)
  const readings: HashrateReading[] = []
  if (summary) {
    const s = readSummary(summary, notes)
    readings.push(...s.hashrates)
    st.uptimeS = s.uptimeS
    st.accepted = s.accepted
    st.rejected = s.rejected
  }
  if (pools) st.pools = readPools(pools, notes)
  const text = stats ? moduleText(stats) : undefined
  if (text !== undefined) {
    const m = parseBrackets(text)
    const spd = num(m, 'GHSspd')
    const avg = num(m, 'GHSavg')
    if (spd !== null) readings.push({ window: 'now', ths: toThs(spd, 'GH'), source: 'estats "GHSspd"' })
    if (avg !== null) readings.push({ window: 'avg', ths: toThs(avg, 'GH'), source: 'estats "GHSavg"' })
    const mm = num(m, 'GHSmm')
    st.expectedHashrateThs = mm === null ? null : toThs(mm, 'GH')
    st.powerW = num(m, 'WALLPOWER')
    st.uptimeS ??= num(m, 'Elapsed')
    for (const k of ['Fan1', 'Fan2', 'Fan3', 'Fan4']) {
      const f = num(m, k)
      if (f !== null && f > 0) st.fansRpm.push(f)
    }
    const perBoard = nums(m, 'MGHS')
    const tmax = nums(m, 'MTmax')
    const count = Math.max(perBoard.length, tmax.length)
    for (let i = 0; i < count; i++) {
      const chips = nums(m, `PVT_T${i}`).filter((t) => t !== 0).length
      st.boards.push({
        index: i,
        hashrateThs: perBoard[i] === undefined ? null : toThs(perBoard[i] ?? 0, 'GH'),
        boardTempC: null,
        chipTempC: tmax[i] ?? null,
        chips: chips > 0 ? chips : null,
        serial: null,
      })
    }
    if (st.boards.length === 0) {
      const t = num(m, 'TMax')
      if (t !== null && t > 0)
        st.boards.push({ index: 0, hashrateThs: null, boardTempC: null, chipTempC: t, chips: null, serial: null })
    }
    const soft = num(m, 'SoftOFF')
    if (soft !== null && soft > 0) st.errors.push('Standby (soft off)')
    const state = m.get('SYSTEMSTATU')
    if (typeof state === 'string' && /idle/i.test(state)) st.errors.push(`System state: ${state}`)
  }
  st.hashrates = normaliseReadings(readings)
  st.hashrateThs = currentThs(st.hashrates)
  st.warnings = notes.warnings
  return st
}

export function createAvalonDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  const target: CgminerTarget = rpcTarget(identity.endpoint)
  const timeoutMs = opts.timeoutMs
  const style = poolCommandStyle(identity.model)
  const creds = opts.credentials ?? (style === 'setpool' ? AVALON_HOME_DEFAULT : AVALON_A_SERIES_DEFAULT)
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'toggle',
    afterPoolWrite: 'verify-then-reboot',
  }
  const ascset = async (param: string): Promise<DeviceResult<void>> => {
    const r = await cgminerCommand(target, { command: 'ascset', parameter: param }, { timeoutMs })
    return r.ok ? ok(undefined) : r
  }

  return {
    identity,
    capabilities,
    async read() {
      const multi = await cgminerMulti(target, ['summary', 'pools', 'estats'], { timeoutMs })
      if (!multi.ok) return multi
      const { summary, pools } = multi.value
      let stats = multi.value.estats
      // The Q answers `stats` (and `litestats`) with the same bracketed text.
      if (!stats?.ok) stats = await cgminerCommand(target, { command: 'stats' }, { timeoutMs })
      if (!summary?.ok && !pools?.ok) return summary ?? deviceErr('BAD_REPLY', 'No summary')
      const notes = newNotes()
      const st = avalonStatus(
        summary?.ok ? summary.value : null,
        pools?.ok ? pools.value : null,
        stats.ok ? stats.value : null,
        notes,
        Date.now(),
      )
      if (!stats.ok) st.warnings.push(`stats: ${stats.error.message}`)
      return ok(st)
    },
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      if (pools.some((p) => `${p.user}${p.password}`.includes(',')) || creds.password.includes(','))
        return deviceErr('INVALID_POOL', 'Avalon pool settings cannot contain a comma')
      // Every slot is written, empty ones cleared, so a pool left over from before cannot take over.
      for (let i = 0; i < 3; i++) {
        const p: PoolTarget = pools[i] ?? { url: '', user: '', password: '' }
        const parameter =
          style === 'setpool'
            ? ['admin', creds.password, String(i), p.url, p.user, p.password].join(',')
            : ['0', 'setpool', creds.username, creds.password, String(i), p.url, p.user, p.password].join(',')
        const r = await cgminerCommand(target, { command: style, parameter }, { timeoutMs })
        if (!r.ok) {
          const msg = r.error.message
          return /auth|password/i.test(msg) ? deviceErr('AUTH_FAILED', `Avalon refused the password: ${msg}`) : r
        }
      }
      return ok(undefined)
    },
    reboot: () => ascset('0,reboot,0'),
    locate: (on) => ascset(on ? '0,led,1-1' : '0,led,1-0'),
    async snapshotPools() {
      // The Q returns each pool's `Password`, so the previous pools can be restored exactly.
      const r = await cgminerCommand(target, { command: 'pools' }, { timeoutMs })
      if (!r.ok) return r
      const list = section(r.value, 'POOLS').flatMap((e) => {
        const p = asRecord(e)
        if (!p || typeof p.Password !== 'string' || typeof p.URL !== 'string' || typeof p.User !== 'string') return []
        return [{ url: p.URL, user: p.User, password: p.Password }]
      })
      return ok(list)
    },
  }
}
