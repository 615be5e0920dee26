/**
 * Whatsminer replies → normalised status (research §4.3, field map §5). v2: cgminer-shaped
 * `summary` (MH/s keys, plus `Power`, `Fan Speed In/Out`, `MAC`, `Factory GHS`) and `pools`
 * (numbered from 1). v3: `get.miner.status` in TH/s with kebab-case keys.
 */

import { section } from '../cgminer/codec'
import { readPools, summaryHashrates } from '../cgminer/normalise'
import {
  asArray,
  asRecord,
  at,
  type FieldNotes,
  hashField,
  type JsonRecord,
  normaliseMac,
  numField,
  poolStateOf,
  textField,
  toBool,
  toNumber,
} from '../field-map'
import { currentThs, emptyStatus, normaliseReadings } from '../status'
import type { BoardStatus, DeviceStatus, HashrateReading, PoolStatus } from '../types'

export function v2Status(summary: JsonRecord, pools: JsonRecord | null, notes: FieldNotes, tsMs: number): DeviceStatus {
  const st = emptyStatus(tsMs)
  const s = asRecord(section(summary, 'SUMMARY')[0]) ?? {}
  st.hashrates = normaliseReadings(summaryHashrates(s, notes))
  st.hashrateThs = currentThs(st.hashrates)
  st.expectedHashrateThs = hashField(s, 'Factory GHS', 'GH', notes, 'summary')
  st.powerW = numField(s, 'Power', notes, 'summary')
  st.uptimeS = numField(s, 'Elapsed', notes, 'summary')
  st.accepted = numField(s, 'Accepted', notes, 'summary')
  st.rejected = numField(s, 'Rejected', notes, 'summary')
  for (const k of ['Fan Speed In', 'Fan Speed Out']) {
    const f = numField(s, k, notes, 'summary')
    if (f !== null) st.fansRpm.push(f)
  }
  const errors = numField(s, 'Error Code Count', notes, 'summary')
  if (errors !== null && errors > 0) st.errors.push(`${errors} error code(s) reported`)
  if (pools) st.pools = readPools(pools, notes)
  st.warnings = notes.warnings
  return st
}

/** `edevs`/`devs` on v2: one entry per hashboard. */
export function v2Boards(reply: JsonRecord, notes: FieldNotes): BoardStatus[] {
  const list = section(reply, 'DEVS')
  return list.flatMap((e, i) => {
    const d = asRecord(e)
    if (!d) return []
    return [
      {
        index: numField(d, 'Slot', notes, 'devs') ?? numField(d, 'ASC', notes, 'devs') ?? i,
        hashrateThs: hashField(d, 'MHS 1m', 'MH', notes, 'devs'),
        boardTempC: numField(d, 'Temperature', notes, 'devs'),
        chipTempC: numField(d, 'Chip Temp Max', notes, 'devs') ?? numField(d, 'Chip Temp Avg', notes, 'devs'),
        chips: numField(d, 'Effective Chips', notes, 'devs'),
        serial: textField(d, 'PCB SN', notes, 'devs'),
      },
    ]
  })
}

/** v2 identity bits from `summary` (MAC, firmware) and `get_version` (`Msg.fw_ver`). */
export function v2Identity(summary: JsonRecord | null, version: unknown, notes: FieldNotes) {
  const s = summary ? (asRecord(section(summary, 'SUMMARY')[0]) ?? {}) : {}
  const fwFromSummary = textField(s, 'Firmware Version', notes, 'summary')
  const fw = textField(at(version, 'Msg'), 'fw_ver', notes, 'get_version') ?? fwFromSummary
  return {
    mac: normaliseMac(s.MAC),
    // Firmware strings arrive quoted: "'20210322.22.REL'".
    firmware: fw === null ? null : fw.replace(/^'+|'+$/g, ''),
  }
}

const V3_WINDOWS: readonly [string, HashrateReading['window']][] = [
  ['hash-realtime', 'now'],
  ['hash-1min', '1m'],
  ['hash-15min', '15m'],
  ['hash-average', 'avg'],
]

export function v3Status(
  summaryReply: unknown,
  poolsReply: unknown,
  edevsReply: unknown,
  notes: FieldNotes,
  tsMs: number,
): DeviceStatus {
  const st = emptyStatus(tsMs)
  const s = asRecord(at(summaryReply, 'msg', 'summary')) ?? {}
  const readings: HashrateReading[] = []
  for (const [key, window] of V3_WINDOWS) {
    const v = numField(s, key, notes, 'v3 summary')
    if (v !== null) readings.push({ window, ths: v, source: `v3 summary "${key}"` })
  }
  st.hashrates = normaliseReadings(readings)
  st.hashrateThs = currentThs(st.hashrates)
  st.expectedHashrateThs = numField(s, 'factory-hash', notes, 'v3 summary')
  st.powerW = numField(s, 'power-realtime', notes, 'v3 summary')
  st.uptimeS = numField(s, 'elapsed', notes, 'v3 summary')
  for (const k of ['fan-speed-in', 'fan-speed-out']) {
    const f = numField(s, k, notes, 'v3 summary')
    if (f !== null) st.fansRpm.push(f)
  }
  const boardTemps = (asArray(s['board-temperature']) ?? []).map(toNumber)
  const edevs = asArray(at(edevsReply, 'msg', 'edevs')) ?? []
  const boards: BoardStatus[] = edevs.flatMap((e, i) => {
    const d = asRecord(e)
    if (!d) return []
    const idx = numField(d, 'id', notes, 'v3 edevs') ?? i
    return [
      {
        index: idx,
        hashrateThs: numField(d, 'hash-average', notes, 'v3 edevs'),
        boardTempC: boardTemps[idx] ?? null,
        chipTempC: numField(d, 'chip-temp-max', notes, 'v3 edevs'),
        chips: numField(d, 'effective-chips', notes, 'v3 edevs'),
        serial: null,
      },
    ]
  })
  st.boards =
    boards.length > 0
      ? boards
      : boardTemps.map((t, i) => ({
          index: i,
          hashrateThs: null,
          boardTempC: t ?? null,
          chipTempC: null,
          chips: null,
          serial: null,
        }))
  const chipMax = numField(s, 'chip-temp-max', notes, 'v3 summary')
  if (st.boards.length === 0 && chipMax !== null)
    st.boards.push({
      index: 0,
      hashrateThs: st.hashrateThs,
      boardTempC: null,
      chipTempC: chipMax,
      chips: null,
      serial: null,
    })
  st.pools = v3Pools(poolsReply, notes)
  const acc = st.pools.map((p) => p.accepted).filter((x): x is number => x !== null)
  const rej = st.pools.map((p) => p.rejected).filter((x): x is number => x !== null)
  st.accepted = acc.length > 0 ? acc.reduce((a, b) => a + b, 0) : null
  st.rejected = rej.length > 0 ? rej.reduce((a, b) => a + b, 0) : null
  st.warnings = notes.warnings
  return st
}

export function v3Pools(reply: unknown, notes: FieldNotes): PoolStatus[] {
  const list = asArray(at(reply, 'msg', 'pools')) ?? []
  return list.flatMap((e, i) => {
    const p = asRecord(e)
    if (!p) {
      notes.warnings.push(`v3 pools: entry ${i} is not an object`)
      return []
    }
    return [
      {
        index: numField(p, 'id', notes, 'v3 pools') ?? i,
        url: textField(p, 'url', notes, 'v3 pools') ?? '',
        user: textField(p, 'account', notes, 'v3 pools') ?? '',
        state: poolStateOf(p.status),
        active: toBool(p['stratum-active']) ?? false,
        priority: numField(p, 'pool-priority', notes, 'v3 pools'),
        // Share counts are missing on some firmware (research §4.3).
        accepted: numField(p, 'accepted', notes, 'v3 pools'),
        rejected: numField(p, 'rejected', notes, 'v3 pools'),
      },
    ]
  })
}

export function v3Identity(info: unknown, notes: FieldNotes) {
  const m = at(info, 'msg')
  return {
    model: textField(at(m, 'miner'), 'type', notes, 'device.info'),
    serial: textField(at(m, 'miner'), 'miner-sn', notes, 'device.info'),
    mac: normaliseMac(at(m, 'network', 'mac')),
    hostname: textField(at(m, 'network'), 'hostname', notes, 'device.info'),
    firmware: textField(at(m, 'system'), 'fwversion', notes, 'device.info'),
  }
}
