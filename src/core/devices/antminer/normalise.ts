/**
 * Antminer JSON CGI replies (`get_system_info.cgi`, `stats.cgi`, `summary.cgi`; research §4.1)
 * → identity fields and status. CGI rates carry their own `rate_unit` ("GH/s"); hydro models
 * report no fans and a `watt` figure.
 */
import {
  asArray,
  asRecord,
  type FieldNotes,
  type HashUnit,
  type JsonRecord,
  maxOf,
  normaliseMac,
  numField,
  parseHashUnit,
  textField,
  toNumber,
  toThs,
} from '../field-map'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type { BoardStatus, DeviceStatus, HashrateReading } from '../types'

export function systemInfoIdentity(info: JsonRecord, notes: FieldNotes) {
  const mac = textField(info, 'macaddr', notes, 'get_system_info')
  const normalised = normaliseMac(mac)
  if (mac !== null && normalised === null) notes.warnings.push('get_system_info: "macaddr" is not a valid MAC')
  return {
    model: textField(info, 'minertype', notes, 'get_system_info'),
    firmware: textField(info, 'system_filesystem_version', notes, 'get_system_info'),
    mac: normalised,
    hostname: textField(info, 'hostname', notes, 'get_system_info'),
    serial: textField(info, 'serinum', notes, 'get_system_info'),
  }
}

function numbers(v: unknown): number[] {
  return (asArray(v) ?? []).flatMap((x) => {
    const n = toNumber(x)
    return n === undefined || n === 0 ? [] : [n]
  })
}

/** `stats.cgi` (and the same block in new-API RPC stats) → status; `summary.cgi` adds device errors. */
export function cgiStatus(
  stats: JsonRecord,
  summary: JsonRecord | undefined,
  notes: FieldNotes,
  tsMs: number,
): DeviceStatus {
  const st = emptyStatus(tsMs)
  const s = asRecord(asArray(stats.STATS)?.[0]) ?? {}
  const unit: HashUnit = parseHashUnit(textField(s, 'rate_unit', notes, 'stats.cgi') ?? 'GH') ?? 'GH'
  const readings: HashrateReading[] = []
  for (const [key, window] of [
    ['rate_5s', '5s'],
    ['rate_30m', '30m'],
    ['rate_avg', 'avg'],
  ] as const) {
    const v = numField(s, key, notes, 'stats.cgi')
    if (v !== null) readings.push({ window, ths: toThs(v, unit), source: `cgi stats.cgi "${key}"` })
  }
  st.hashrates = normaliseReadings(readings)
  st.hashrateThs = currentThs(st.hashrates)
  const ideal = numField(s, 'rate_ideal', notes, 'stats.cgi')
  st.expectedHashrateThs = ideal === null ? null : toThs(ideal, unit)
  st.boards = (asArray(s.chain) ?? []).flatMap((c, i): BoardStatus[] => {
    const chain = asRecord(c)
    if (!chain) return []
    const rate = numField(chain, 'rate_real', notes, 'stats.cgi')
    return [
      {
        index: numField(chain, 'index', notes, 'stats.cgi') ?? i,
        hashrateThs: rate === null ? null : toThs(rate, unit),
        boardTempC: maxOf(numbers(chain.temp_pcb)),
        chipTempC: maxOf(numbers(chain.temp_chip)),
        chips: numField(chain, 'asic_num', notes, 'stats.cgi'),
        serial: textField(chain, 'sn', notes, 'stats.cgi'),
      },
    ]
  })
  st.fansRpm = numbers(s.fan)
  st.powerW = numField(s, 'watt', notes, 'stats.cgi')
  st.uptimeS = numField(s, 'elapsed', notes, 'stats.cgi')
  if (summary) {
    const sum = asRecord(asArray(summary.SUMMARY)?.[0]) ?? {}
    // Each status entry with a status other than "s" (or empty, e.g. fans on hydro) is a fault.
    for (const e of asArray(sum.status) ?? []) {
      const r = asRecord(e)
      const state = toTextOr(r?.status)
      if (state !== '' && state !== 's')
        st.errors.push(`${toTextOr(r?.type) || 'device'}: ${toTextOr(r?.msg) || `status ${state}`}`)
    }
  }
  st.warnings = notes.warnings
  return st
}

function toTextOr(v: unknown): string {
  return typeof v === 'string' ? v : ''
}
