/**
 * AxeOS `/api/system/info` (ESP-Miner `SystemInfo`, research §4.10) → identity and status.
 * Hashrates are GH/s; `temp2`/`vrTemp` of -1 or 0 mean "no sensor"; `macAddr` is dashed on v2.6;
 * pools are top-level legacy fields on every version, plus `pools[]` slots from v2.15.
 */
import {
  asArray,
  asRecord,
  type FieldNotes,
  hashField,
  type JsonRecord,
  normaliseMac,
  numField,
  textField,
} from '../field-map'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type { DeviceStatus, HashrateReading, HashrateWindow, PoolStatus } from '../types'

const BOARD_FAMILY: readonly [RegExp, string][] = [
  [/^2\d\d$/, 'Ultra'],
  [/^4\d\d$/, 'Supra'],
  [/^6\d\d$/, 'Gamma'],
  [/^7\d\d$/, 'SupraHex'],
  [/^8\d\d$/, 'GT'],
]

/** `Bitaxe Gamma 601 (BM1370)`; the family comes from `/api/system/asic` when known, else the board number. */
export function axeosModel(info: JsonRecord, asic: JsonRecord | undefined, notes: FieldNotes): string | null {
  const board = textField(info, 'boardVersion', notes, 'info')
  const chip = textField(info, 'ASICModel', notes, 'info')
  const family =
    textField(asic ?? {}, 'deviceModel', notes, 'asic') ??
    (board ? BOARD_FAMILY.find(([re]) => re.test(board))?.[1] : undefined) ??
    null
  const nerd = textField(info, 'deviceModel', notes, 'info')
  if (nerd) return chip ? `${nerd} (${chip})` : nerd
  const parts = ['Bitaxe', family, board].filter((p): p is string => typeof p === 'string' && p !== '')
  if (parts.length === 1 && !chip) return null
  return chip ? `${parts.join(' ')} (${chip})` : parts.join(' ')
}

/** True when the firmware has the ≥2.15 multi-pool schema (`pools[]` in /info). */
export function hasPoolSlots(info: JsonRecord): boolean {
  return asArray(info.pools) !== undefined
}

const poolUrl = (host: string, port: number | null, tls: number | null): string =>
  host === '' ? '' : `${tls ? 'stratum+tls' : 'stratum+tcp'}://${host}${port === null ? '' : `:${port}`}`

export function axeosPools(info: JsonRecord, notes: FieldNotes): PoolStatus[] {
  const usingFallback = (numField(info, 'isUsingFallbackStratum', notes, 'info') ?? 0) !== 0
  const slots = asArray(info.pools)
  if (slots) {
    const primary = numField(info, 'primaryPoolIndex', notes, 'info') ?? 0
    const secondary = numField(info, 'secondaryPoolIndex', notes, 'info') ?? 1
    const out: PoolStatus[] = []
    for (const entry of slots) {
      const p = asRecord(entry)
      if (!p) continue
      const id = numField(p, 'id', notes, 'pools')
      if (id === null) continue
      const host = textField(p, 'stratumURL', notes, 'pools') ?? ''
      if (host === '') continue
      const role = id === primary ? 0 : id === secondary ? 1 : null
      out.push({
        index: id,
        url: poolUrl(host, numField(p, 'stratumPort', notes, 'pools'), numField(p, 'stratumTLS', notes, 'pools')),
        user: textField(p, 'stratumUser', notes, 'pools') ?? '',
        state: 'unknown',
        active: role !== null && (role === 1) === usingFallback,
        priority: role,
        accepted: null,
        rejected: null,
      })
    }
    return out.sort((a, b) => (a.priority ?? 9) - (b.priority ?? 9))
  }
  const out: PoolStatus[] = []
  const legacy = [
    ['stratumURL', 'stratumPort', 'stratumUser', 'stratumTLS'],
    ['fallbackStratumURL', 'fallbackStratumPort', 'fallbackStratumUser', 'fallbackStratumTLS'],
  ] as const
  legacy.forEach(([u, p, usr, tls], i) => {
    const host = textField(info, u, notes, 'info') ?? ''
    if (host === '') return
    out.push({
      index: i,
      url: poolUrl(host, numField(info, p, notes, 'info'), numField(info, tls, notes, 'info')),
      user: textField(info, usr, notes, 'info') ?? '',
      state: 'unknown',
      active: (i === 1) === usingFallback,
      priority: i,
      accepted: null,
      rejected: null,
    })
  })
  return out
}

const WINDOWS: readonly [string, HashrateWindow][] = [
  ['hashRate', 'now'],
  ['hashRate_1m', '1m'],
  ['hashRate_10m', '10m'],
  ['hashRate_1h', '1h'],
]

/** A temperature where -1 / 0 means "no sensor". */
function tempC(info: JsonRecord, key: string, notes: FieldNotes): number | null {
  const t = numField(info, key, notes, 'info')
  return t === null || t <= 0 ? null : t
}

export function axeosStatus(info: JsonRecord, notes: FieldNotes, tsMs: number): DeviceStatus {
  const st = emptyStatus(tsMs)
  const readings: HashrateReading[] = []
  for (const [key, window] of WINDOWS) {
    const ths = hashField(info, key, 'GH', notes, 'info')
    if (ths !== null) readings.push({ window, ths, source: `http /api/system/info "${key}"` })
  }
  st.hashrates = normaliseReadings(readings)
  st.hashrateThs = currentThs(st.hashrates)
  st.expectedHashrateThs = hashField(info, 'expectedHashrate', 'GH', notes, 'info')
  const chipTemps = [tempC(info, 'temp', notes), tempC(info, 'temp2', notes)].filter((t): t is number => t !== null)
  st.boards = [
    {
      index: 0,
      hashrateThs: st.hashrateThs,
      boardTempC: tempC(info, 'vrTemp', notes),
      chipTempC: chipTemps.length > 0 ? Math.max(...chipTemps) : null,
      chips: numField(info, 'asicCount', notes, 'info'),
      serial: null,
    },
  ]
  for (const key of ['fanrpm', 'fan2rpm']) {
    const rpm = numField(info, key, notes, 'info')
    if (rpm !== null && rpm > 0) st.fansRpm.push(rpm)
  }
  st.powerW = numField(info, 'power', notes, 'info')
  st.uptimeS = numField(info, 'uptimeSeconds', notes, 'info')
  st.accepted = numField(info, 'sharesAccepted', notes, 'info')
  st.rejected = numField(info, 'sharesRejected', notes, 'info')
  st.pools = axeosPools(info, notes)
  if ((numField(info, 'overheat_mode', notes, 'info') ?? 0) !== 0) st.errors.push('Overheat protection is active')
  st.warnings = notes.warnings
  return st
}

export function axeosIdentityFields(info: JsonRecord, notes: FieldNotes) {
  return {
    firmware: textField(info, 'axeOSVersion', notes, 'info') ?? textField(info, 'version', notes, 'info'),
    mac: normaliseMac(info.macAddr),
    hostname: textField(info, 'hostname', notes, 'info'),
  }
}
