/**
 * cgminer-family replies (summary, pools, stats, devs) → normalised parts. Shared by the generic
 * cgminer driver, Antminer (bmminer), LuxOS and Avalon. Field names and units: research §3.5,
 * §4.1 and the field map in §5.
 */
import {
  asRecord,
  boolField,
  type FieldNotes,
  type HashUnit,
  type JsonRecord,
  maxOf,
  numField,
  parseDashList,
  parseHashUnit,
  poolStateOf,
  textField,
  toThs,
} from '../field-map'
import { windowOf } from '../status'
import type { BoardStatus, HashrateReading, PoolStatus } from '../types'
import { section } from './codec'

const HASH_KEY = /^([KMGTP]?H)S\s+(\S+)$/i

/** Every `MHS 5s` / `GHS av` / `THS 1m` field of a SUMMARY entry, converted by its own prefix. */
export function summaryHashrates(summary: JsonRecord, notes: FieldNotes, source = 'rpc summary'): HashrateReading[] {
  const out: HashrateReading[] = []
  for (const key of Object.keys(summary)) {
    const m = HASH_KEY.exec(key)
    if (!m) continue
    const unit = parseHashUnit(m[1] ?? '')
    const window = windowOf(m[2] ?? '')
    if (!unit || !window) continue
    const v = numField(summary, key, notes, source)
    if (v !== null) out.push({ window, ths: toThs(v, unit), source: `${source} "${key}"` })
  }
  return out
}

export interface SummaryPart {
  hashrates: HashrateReading[]
  uptimeS: number | null
  accepted: number | null
  rejected: number | null
  powerW: number | null
}

export function readSummary(reply: JsonRecord, notes: FieldNotes): SummaryPart {
  const s = asRecord(section(reply, 'SUMMARY')[0]) ?? {}
  return {
    hashrates: summaryHashrates(s, notes),
    uptimeS: numField(s, 'Elapsed', notes, 'summary'),
    accepted: numField(s, 'Accepted', notes, 'summary'),
    rejected: numField(s, 'Rejected', notes, 'summary'),
    // Whatsminer adds `Power` to summary; stock cgminer has none.
    powerW: numField(s, 'Power', notes, 'summary'),
  }
}

export function readPools(reply: JsonRecord, notes: FieldNotes): PoolStatus[] {
  const out: PoolStatus[] = []
  section(reply, 'POOLS').forEach((entry, i) => {
    const p = asRecord(entry)
    if (!p) {
      notes.warnings.push(`pools: entry ${i} is not an object`)
      return
    }
    out.push({
      index: numField(p, 'POOL', notes, 'pools') ?? i,
      url: textField(p, 'URL', notes, 'pools') ?? '',
      user: textField(p, 'User', notes, 'pools') ?? '',
      state: poolStateOf(p.Status),
      active: boolField(p, 'Stratum Active', notes, 'pools') ?? false,
      priority: numField(p, 'Priority', notes, 'pools'),
      accepted: numField(p, 'Accepted', notes, 'pools'),
      rejected: numField(p, 'Rejected', notes, 'pools'),
    })
  })
  return out
}

export interface StatsPart {
  boards: BoardStatus[]
  fansRpm: number[]
  uptimeS: number | null
  expectedThs: number | null
  model: string | null
  firmware: string | null
}

/**
 * bmminer-style `stats`: `STATS[0]` is a header (Type, Miner, CompileTime), `STATS[1]` holds
 * `chain_acnN` chip counts, `chain_rateN` (GH/s as a string), `temp_pcbN`/`temp_chipN` as
 * `"a-b-c-d"` (newer) or `tempN`/`temp2_N` (older), `fanN` RPM and `total_rateideal` in `rate_unit`.
 */
export function readBmminerStats(reply: JsonRecord, notes: FieldNotes): StatsPart {
  const all = section(reply, 'STATS')
  const head = asRecord(all[0]) ?? {}
  const s = asRecord(all[1]) ?? asRecord(all[0]) ?? {}
  const unit: HashUnit = parseHashUnit(textField(s, 'rate_unit', notes, 'stats') ?? 'GH') ?? 'GH'
  const boards: BoardStatus[] = []
  for (let n = 1; n <= 16; n++) {
    const chips = numField(s, `chain_acn${n}`, notes, 'stats')
    if (chips === null || chips === 0) continue
    const rate = numField(s, `chain_rate${n}`, notes, 'stats')
    const chipList = parseDashList(s[`temp_chip${n}`])
    const pcbList = parseDashList(s[`temp_pcb${n}`])
    boards.push({
      index: n - 1,
      hashrateThs: rate === null ? null : toThs(rate, unit),
      boardTempC: pcbList ? maxOf(pcbList) : numField(s, `temp${n}`, notes, 'stats'),
      chipTempC: chipList ? maxOf(chipList) : numField(s, `temp2_${n}`, notes, 'stats'),
      chips,
      serial: null,
    })
  }
  const fansRpm: number[] = []
  for (let n = 1; n <= 8; n++) {
    const f = numField(s, `fan${n}`, notes, 'stats')
    if (f !== null && f > 0) fansRpm.push(f)
  }
  const ideal = numField(s, 'total_rateideal', notes, 'stats')
  return {
    boards,
    fansRpm,
    uptimeS: numField(s, 'Elapsed', notes, 'stats'),
    expectedThs: ideal === null ? null : toThs(ideal, unit),
    model: textField(head, 'Type', notes, 'stats'),
    firmware: textField(head, 'Miner', notes, 'stats'),
  }
}

export interface VersionPart {
  model: string | null
  firmware: string | null
  /** The daemon name from STATUS.Description or the VERSION keys (`BMMiner`, `LUXminer`, `CGMiner`). */
  daemon: string | null
  mac: string | null
}

export function readVersion(reply: JsonRecord, notes: FieldNotes): VersionPart {
  const v = asRecord(section(reply, 'VERSION')[0]) ?? {}
  const type = textField(v, 'Type', notes, 'version') ?? textField(v, 'PROD', notes, 'version')
  // Antminer appends " (vnish …)" style suffixes to Type; the model is what comes before.
  const model = type === null ? null : (type.split(' (')[0] ?? type).trim()
  const daemonKey = ['LUXminer', 'BMMiner', 'BOSminer', 'CGMiner', 'BTMiner'].find((k) => v[k] !== undefined)
  return {
    model,
    firmware:
      textField(v, 'Miner', notes, 'version') ??
      textField(v, 'VERSION', notes, 'version') ??
      textField(v, 'CompileTime', notes, 'version'),
    daemon: daemonKey ? `${daemonKey} ${String(v[daemonKey])}` : null,
    mac: textField(v, 'MAC', notes, 'version'),
  }
}

/** Sum of per-pool counters when the summary has none. */
export function sumPools(pools: readonly PoolStatus[], key: 'accepted' | 'rejected'): number | null {
  let total: number | null = null
  for (const p of pools) {
    const v = p[key]
    if (v !== null) total = (total ?? 0) + v
  }
  return total
}
