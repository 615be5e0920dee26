/**
 * Canaan's bracketed stats format: one string of `Key[value]` tokens inside `STATS[0]["MM ID0"]`
 * (A-series, Nano 3s) or `STATS[0]["MM ID0:Summary"]` (Avalon Q, wrapped in `'STATS':{…}`).
 * Space-separated values become arrays; `SYSTEMSTATU` stays text (it contains spaces and commas).
 * Key meanings: research §4.4 (pyasic `parse_estats`, AvalonMinerTools).
 */
import { asArray, asRecord, type JsonRecord, toNumber } from '../field-map'

export type BracketValue = string | number[]

const TEXT_KEYS = new Set(['SYSTEMSTATU', 'Ver', 'LVer', 'BVer', 'DNA', 'CPU', 'FW', 'SSID', 'Core', 'BOOTBY'])

/** Parses every `Key[value]` token; later duplicates win (the firmware does not repeat keys). */
export function parseBrackets(text: string): Map<string, BracketValue> {
  const out = new Map<string, BracketValue>()
  for (const m of text.matchAll(/([A-Za-z_][\w]*)\[([^\]]*)\]/g)) {
    const key = m[1] ?? ''
    const raw = (m[2] ?? '').trim()
    if (TEXT_KEYS.has(key)) {
      out.set(key, raw)
      continue
    }
    const parts = raw === '' ? [] : raw.split(/\s+/)
    // `FanR[49%]`, `DH[1.299%]`: a percent sign is a unit, not part of the number.
    const nums = parts.map((p) => toNumber(p.replace(/%$/, '')))
    out.set(key, nums.every((n) => n !== undefined) ? (nums as number[]) : raw)
  }
  return out
}

/** The bracketed string of the first module, wherever this model keeps it. */
export function moduleText(stats: JsonRecord): string | undefined {
  const first = asRecord(asArray(stats.STATS)?.[0])
  if (!first) return undefined
  for (const [k, v] of Object.entries(first)) if (/^MM ID\d+(:Summary)?$/.test(k) && typeof v === 'string') return v
  return undefined
}

export function num(m: Map<string, BracketValue>, key: string): number | null {
  const v = m.get(key)
  return Array.isArray(v) && v.length > 0 ? (v[0] ?? null) : null
}

export function nums(m: Map<string, BracketValue>, key: string): number[] {
  const v = m.get(key)
  return Array.isArray(v) ? v : []
}
