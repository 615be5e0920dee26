/**
 * The one place where device JSON becomes typed values: small readers over `unknown`, unit
 * conversion for hashrates, and the firmware quirks that would otherwise be repeated in every
 * driver (numbers sent as strings, `"a-b-c-d"` temperature lists, dashed MACs, SI suffixes).
 *
 * Rule: a field that is missing is `null` and silent (firmware differ); a field that is present
 * but malformed is `null` plus a warning in `FieldNotes`, so the UI can say "partial data"
 * instead of showing a zero.
 */

export type JsonRecord = Record<string, unknown>

export function asRecord(v: unknown): JsonRecord | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonRecord) : undefined
}

export function asArray(v: unknown): unknown[] | undefined {
  return Array.isArray(v) ? v : undefined
}

/** Walks a path of keys and indexes; undefined as soon as a step does not exist. */
export function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = v
  for (const step of path) {
    if (typeof step === 'number') {
      const a = asArray(cur)
      if (!a) return undefined
      cur = a[step]
    } else {
      const r = asRecord(cur)
      if (!r || !Object.hasOwn(r, step)) return undefined
      cur = r[step]
    }
  }
  return cur
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/** A finite number, accepting numeric strings (`"37603.30"`) as older cgminer forks send them. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v === 'string') {
    const t = v.trim()
    if (!NUMERIC.test(t)) return undefined
    const n = Number(t)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

export function toText(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number' && Number.isFinite(v)) return String(v)
  return undefined
}

/** cgminer and friends spell booleans as true/"true"/"Y"/1. */
export function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (v === 1 || v === 0) return v === 1
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase()
    if (t === 'true' || t === 'y' || t === 'yes' || t === '1') return true
    if (t === 'false' || t === 'n' || t === 'no' || t === '0') return false
  }
  return undefined
}

/** Collects "present but malformed" notes while a reply is normalised. */
export interface FieldNotes {
  warnings: string[]
}

export function newNotes(): FieldNotes {
  return { warnings: [] }
}

/** A number field: missing → null (silent); present but not numeric → null and a warning. */
export function numField(rec: unknown, key: string, notes: FieldNotes, where: string): number | null {
  const r = asRecord(rec)
  if (!r || !Object.hasOwn(r, key) || r[key] === null || r[key] === '') return null
  const n = toNumber(r[key])
  if (n === undefined) {
    notes.warnings.push(`${where}: "${key}" is not a number`)
    return null
  }
  return n
}

export function textField(rec: unknown, key: string, notes: FieldNotes, where: string): string | null {
  const r = asRecord(rec)
  if (!r || !Object.hasOwn(r, key) || r[key] === null) return null
  const t = toText(r[key])
  if (t === undefined) {
    notes.warnings.push(`${where}: "${key}" is not text`)
    return null
  }
  return t
}

export function boolField(rec: unknown, key: string, notes: FieldNotes, where: string): boolean | null {
  const r = asRecord(rec)
  if (!r || !Object.hasOwn(r, key) || r[key] === null) return null
  const b = toBool(r[key])
  if (b === undefined) {
    notes.warnings.push(`${where}: "${key}" is not a boolean`)
    return null
  }
  return b
}

// ---- hashrate units ----

export type HashUnit = 'H' | 'KH' | 'MH' | 'GH' | 'TH' | 'PH' | 'EH'

const UNIT_TO_THS: Record<HashUnit, number> = {
  H: 1e-12,
  KH: 1e-9,
  MH: 1e-6,
  GH: 1e-3,
  TH: 1,
  PH: 1e3,
  EH: 1e6,
}

/**
 * Reads a unit as firmware spell it: `GH` (bmminer RPC `rate_unit`), `GH/s` (CGI), `Gh/s`,
 * `MHS` (cgminer keys), `TH/s`, `H/s`. Case-insensitive; `k` and `K` both mean kilo.
 */
export function parseHashUnit(s: string): HashUnit | undefined {
  const m = /^\s*([kmgtpe]?)h(?:\/?s)?\s*$/i.exec(s)
  if (!m) return undefined
  const prefix = (m[1] ?? '').toUpperCase()
  return (prefix === '' ? 'H' : `${prefix}H`) as HashUnit
}

export function toThs(value: number, unit: HashUnit): number {
  return value * UNIT_TO_THS[unit]
}

/** `"1.23 TH/s"`, `"950GH/s"`, `"12 H/s"` → TH/s; undefined when either part is not understood. */
export function parseHashrateText(s: string): number | undefined {
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z/]+)\s*$/.exec(s)
  if (!m) return undefined
  const value = Number(m[1])
  const unit = parseHashUnit(m[2] ?? '')
  if (!Number.isFinite(value) || unit === undefined) return undefined
  return toThs(value, unit)
}

/** A hashrate field in a known unit, converted to TH/s through the same missing/malformed rule. */
export function hashField(rec: unknown, key: string, unit: HashUnit, notes: FieldNotes, where: string): number | null {
  const n = numField(rec, key, notes, where)
  return n === null ? null : toThs(n, unit)
}

// ---- other firmware quirks ----

const SI: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 }

/** AxeOS before v2.12 sends difficulties as `"4.29G"` / `"483k"`; newer ones send numbers. */
export function parseSiNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined
  if (typeof v !== 'string') return undefined
  const m = /^\s*([+-]?(?:\d+\.?\d*|\.\d+))\s*([kKMGTPE]?)\s*$/.exec(v)
  if (!m) return undefined
  const n = Number(m[1]) * (m[2] ? (SI[m[2]] ?? 1) : 1)
  return Number.isFinite(n) ? n : undefined
}

/** bmminer `temp_chip1: "78-50-69-70"`; zeros mean "no sensor" and are dropped. */
export function parseDashList(v: unknown): number[] | undefined {
  if (typeof v !== 'string') return undefined
  if (v.trim() === '') return []
  const parts = v.split('-')
  const out: number[] = []
  for (const p of parts) {
    const n = toNumber(p)
    if (n === undefined) return undefined
    if (n !== 0) out.push(n)
  }
  return out
}

/** Accepts `aa:bb:..`, `AA-BB-..` (AxeOS v2.6) and bare `aabbccddeeff` (Avalon); returns `AA:BB:CC:DD:EE:FF`. */
export function normaliseMac(v: unknown): string | null {
  if (typeof v !== 'string') return null
  const hex = v.trim().replace(/[:-]/g, '')
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) return null
  return hex.toUpperCase().match(/../g)!.join(':')
}

/** Largest finite value or null; used for "hottest chip". */
export function maxOf(values: readonly number[]): number | null {
  let best: number | null = null
  for (const v of values) if (Number.isFinite(v) && (best === null || v > best)) best = v
  return best
}

/** cgminer pool `Status` and friends → the normalised state. */
export function poolStateOf(v: unknown): 'alive' | 'dead' | 'disabled' | 'rejecting' | 'unknown' {
  if (typeof v !== 'string') return 'unknown'
  const t = v.trim().toLowerCase()
  if (t === 'alive' || t === 'active' || t === 'working') return 'alive'
  if (t === 'dead' || t === 'offline') return 'dead'
  if (t === 'disabled') return 'disabled'
  if (t === 'rejecting') return 'rejecting'
  return 'unknown'
}
