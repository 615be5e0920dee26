/**
 * The cgminer-style JSON API (TCP 4028) as pure functions: encode a request, decode a reply
 * (trailing NUL, known firmware defects), read the STATUS block and split multi-command replies.
 * Wire facts: research/devices.md §3 (cgminer `api.c`, `API-README`; pyasic `rpc/base.py`).
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { deviceError } from '../device-error'
import { asArray, asRecord, type JsonRecord, toNumber, toText } from '../field-map'

export type ParamValue = string | number

export interface CgminerRequest {
  command: string
  parameter?: ParamValue
  /** Extra top-level keys cgminer ignores but forks read, e.g. bmminer `new_api: true`. */
  extra?: Record<string, string | number | boolean>
}

/** One request, one connection, no framing and no newline (cgminer reads until the JSON closes). */
export function encodeRequest(req: CgminerRequest): Buffer {
  const body: Record<string, string | number | boolean> = { ...req.extra, command: req.command }
  if (req.parameter !== undefined) body.parameter = req.parameter
  return Buffer.from(JSON.stringify(body), 'utf8')
}

/** Inside one comma-separated parameter, `\` becomes `\\` and `,` becomes `\,` (cgminer addpool). */
export function escapeParam(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/,/g, '\\,')
}

export function joinParams(parts: readonly string[]): string {
  return parts.map(escapeParam).join(',')
}

// ---- decoding ----

/** Index just past the first complete top-level JSON object, string-aware; -1 when it never closes. */
export function endOfFirstObject(text: string): number {
  let depth = 0
  let inString = false
  let escaped = false
  let started = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (escaped) escaped = false
      else if (c === '\\') escaped = true
      else if (c === '"') inString = false
      continue
    }
    if (c === '"') inString = true
    else if (c === '{' || c === '[') {
      depth++
      started = true
    } else if (c === '}' || c === ']') {
      depth--
      if (started && depth === 0) return i + 1
    }
  }
  return -1
}

/**
 * The known firmware defects, in pyasic's order, applied only after `JSON.parse` failed once
 * (research §3.6). Each entry names the firmware that needs it.
 */
const REPAIRS: readonly { name: string; fix: (s: string) => string }[] = [
  { name: 'trailing comma before } (btminer)', fix: (s) => s.replace(/,\s*}/g, '}') },
  { name: 'raw newlines (btminer)', fix: (s) => s.replace(/\n/g, '') },
  { name: 'missing comma between objects }{ (bmminer STATS)', fix: (s) => s.replace(/}\s*{/g, '},{') },
  { name: 'leading comma in array [,{', fix: (s) => s.replace(/\[\s*,\s*{/g, '[{') },
  { name: 'missing comma ""temp0 (btminer 2023-01-06)', fix: (s) => s.replace(/""temp0/g, '","temp0') },
  {
    name: 'bare inf/nan values (Avalon)',
    fix: (s) => s.replace(/([:[,]\s*)[+-]?(?:inf|nan)(?=\s*[,}\]])/gi, '$10'),
  },
  { name: 'leading comma instead of { (Avalon)', fix: (s) => s.replace(/^\s*,/, '{') },
  {
    name: 'trailing garbage after the object',
    fix: (s) => {
      const end = endOfFirstObject(s)
      return end > 0 ? s.slice(0, end) : s
    },
  },
  {
    name: 'truncated reply (buffer overflow): cut at the last comma and close',
    fix: (s) => {
      if (s.trimEnd().endsWith('}')) return s
      const cut = s.lastIndexOf(',')
      return cut > 0 ? `${s.slice(0, cut)}}` : s
    },
  },
  {
    name: 'error_code list shaped like a dict (Whatsminer API 2.0.4)',
    fix: (s) => (/"error_code":\["[^"]*"/.test(s) ? s.replace(/\[/g, '{').replace(/]/g, '}') : s),
  },
]

export interface DecodedReply {
  json: unknown
  /** Names of the repairs that were needed; empty for well-formed replies. */
  repairs: string[]
}

/** Bytes → JSON. Strips trailing NULs (cgminer sends one; some forks none), then repairs if needed. */
export function decodeReply(bytes: Buffer): Result<DecodedReply, AppError> {
  let text = bytes.toString('utf8')
  // Cut at the first NUL: cgminer ends the reply with one, anything after it is not JSON.
  const nul = text.indexOf('\u0000')
  if (nul >= 0) text = text.slice(0, nul)
  if (text.trim() === '') return err(deviceError('BAD_REPLY', 'Empty reply from the miner API'))
  const first = tryParse(text)
  if (first.ok) return ok({ json: first.value, repairs: [] })
  const applied: string[] = []
  let cur = text
  for (const r of REPAIRS) {
    const next = r.fix(cur)
    if (next !== cur) {
      applied.push(r.name)
      cur = next
      const attempt = tryParse(cur)
      if (attempt.ok) return ok({ json: attempt.value, repairs: applied })
    }
  }
  return err(deviceError('BAD_JSON', 'The miner API sent JSON that could not be parsed or repaired'))
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch {
    // A parse failure is the expected signal to try the repairs; nothing to log here.
    return { ok: false }
  }
}

// ---- STATUS ----

export type Severity = 'S' | 'I' | 'W' | 'E' | 'F'

export interface ReplyStatus {
  severity: Severity | 'RESTART' | 'BYE' | 'UNKNOWN'
  code: number | null
  msg: string
  description: string
}

/**
 * Reads `STATUS[0]` (cgminer), a string `STATUS` (`restart` → "RESTART", `quit` → "BYE") or the
 * object form used by Whatsminer v2 replies and Antminer CGI (`STATUS: {STATUS:"S",...}`).
 */
export function readStatus(json: unknown): ReplyStatus {
  const r = asRecord(json)
  const raw = r?.STATUS
  if (typeof raw === 'string') {
    const s = raw.toUpperCase()
    const known: readonly string[] = ['S', 'I', 'W', 'E', 'F', 'RESTART', 'BYE']
    return {
      severity: known.includes(s) ? (s as ReplyStatus['severity']) : 'UNKNOWN',
      code: toNumber(r?.Code) ?? null,
      msg: toText(r?.Msg) ?? '',
      description: toText(r?.Description) ?? '',
    }
  }
  const st = asRecord(asArray(raw)?.[0]) ?? asRecord(raw)
  if (!st) return { severity: 'UNKNOWN', code: null, msg: '', description: '' }
  const sev = toText(st.STATUS)?.toUpperCase() ?? ''
  return {
    severity: (['S', 'I', 'W', 'E', 'F'] as const).find((k) => k === sev) ?? 'UNKNOWN',
    code: toNumber(st.Code) ?? null,
    msg: toText(st.Msg) ?? '',
    description: toText(st.Description) ?? '',
  }
}

/** Access denied is cgminer code 45 (and Whatsminer's "permission denied"). */
export const CODE_ACCESS_DENIED = 45

/** Turns an E/F status into an error value; S/I/W/RESTART/BYE are successes. */
export function checkStatus(command: string, json: unknown): Result<JsonRecord, AppError> {
  const st = readStatus(json)
  const rec = asRecord(json)
  if (!rec) return err(deviceError('BAD_REPLY', `Reply to "${command}" is not a JSON object`))
  if (st.severity === 'E' || st.severity === 'F') {
    const reason = st.code === CODE_ACCESS_DENIED ? 'ACCESS_DENIED' : 'COMMAND_FAILED'
    return err(deviceError(reason, `Miner refused "${command}": ${st.msg || 'error'}`, { code: st.code }))
  }
  return ok(rec)
}

/**
 * A multi-command reply (`summary+pools`) wraps each command's whole reply in a one-element
 * array keyed by the lower-case command name (cgminer `api.c:head_join`). Missing entries are
 * reported per command so one refused command does not hide the others.
 */
export function splitMulti(json: unknown, commands: readonly string[]): Record<string, Result<JsonRecord, AppError>> {
  const rec = asRecord(json)
  const out: Record<string, Result<JsonRecord, AppError>> = {}
  for (const c of commands) {
    const part = rec ? (asRecord(asArray(rec[c])?.[0]) ?? asRecord(rec[c])) : undefined
    out[c] = part ? checkStatus(c, part) : err(deviceError('BAD_REPLY', `Multi-command reply has no "${c}" part`))
  }
  return out
}

/** The data array of a reply: `SUMMARY`, `POOLS`, … (always an array in cgminer). */
export function section(rec: JsonRecord, name: string): unknown[] {
  return asArray(rec[name]) ?? []
}
