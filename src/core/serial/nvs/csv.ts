import type { Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'
import { BIGINT_RANGE, INT_RANGE, type NvsEntry } from './format'

/**
 * The CSV dialect of `esp-idf-nvs-partition-gen` (and of ESP-Miner's `config-*.cvs` files):
 * a `key,type,encoding,value` header row, `#` comment lines, `namespace` rows that switch the
 * namespace for the rows below them, `data` rows with encodings u8…i64, string, hex2bin, base64
 * or binary. `file` rows name a file on the author's disk, so they are refused here.
 */
export function parseNvsCsv(text: string): Result<NvsEntry[]> {
  const rows = splitCsv(text.replace(/^\uFEFF/, ''))
  if (!rows.ok) return rows
  const lines = rows.value.filter(
    (r) => !(r.cells.length === 1 && r.cells[0] === '') && !(r.cells[0] ?? '').startsWith('#'),
  )
  const header = lines.shift()
  const headerText = header?.cells.map((c) => c.trim().toLowerCase()).join(',')
  if (headerText !== 'key,type,encoding,value') {
    return serialErr('NVS_BAD_CSV', 'The first row of an NVS CSV must be "key,type,encoding,value".')
  }
  const entries: NvsEntry[] = []
  let namespace: string | undefined
  for (const { cells, line } of lines) {
    const [key = '', type = '', encoding = '', value = ''] = cells
    const at = `line ${line}`
    if (type === 'namespace') {
      namespace = key
      continue
    }
    if (type === 'file')
      return serialErr('NVS_BAD_CSV', `${at}: "file" rows are not supported; paste the value instead.`)
    if (type !== 'data') return serialErr('NVS_BAD_CSV', `${at}: unknown row type "${type}".`)
    if (namespace === undefined) return serialErr('NVS_BAD_CSV', `${at}: a data row comes before any namespace row.`)
    const enc = encoding.toLowerCase()
    if (enc in INT_RANGE) {
      const n = Number(value.trim())
      if (value.trim() === '' || !Number.isInteger(n))
        return serialErr('NVS_BAD_CSV', `${at}: "${value}" is not an integer.`)
      entries.push({ namespace, key, type: enc as keyof typeof INT_RANGE, value: n })
    } else if (enc in BIGINT_RANGE) {
      let n: bigint
      try {
        n = BigInt(value.trim())
      } catch {
        return serialErr('NVS_BAD_CSV', `${at}: "${value}" is not an integer.`)
      }
      entries.push({ namespace, key, type: enc as keyof typeof BIGINT_RANGE, value: n })
    } else if (enc === 'string') {
      entries.push({ namespace, key, type: 'string', value })
    } else if (enc === 'hex2bin') {
      const hex = value.trim()
      if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
        return serialErr('NVS_BAD_CSV', `${at}: hex2bin value is not hex.`)
      entries.push({ namespace, key, type: 'blob', value: new Uint8Array(Buffer.from(hex, 'hex')) })
    } else if (enc === 'base64') {
      entries.push({ namespace, key, type: 'blob', value: new Uint8Array(Buffer.from(value, 'base64')) })
    } else if (enc === 'binary') {
      entries.push({ namespace, key, type: 'blob', value: new Uint8Array(Buffer.from(value, 'utf8')) })
    } else {
      return serialErr('NVS_BAD_CSV', `${at}: unknown encoding "${encoding}".`)
    }
  }
  return ok(entries)
}

/** Entries as a generator CSV (blobs as base64), e.g. to export a device backup. */
export function formatNvsCsv(entries: readonly NvsEntry[]): string {
  const out = ['key,type,encoding,value']
  let ns: string | undefined
  for (const e of entries) {
    if (e.namespace !== ns) {
      ns = e.namespace
      out.push(`${quote(ns)},namespace,,`)
    }
    const value = e.type === 'blob' ? Buffer.from(e.value).toString('base64') : String(e.value)
    out.push(`${quote(e.key)},data,${e.type === 'blob' ? 'base64' : e.type},${quote(value)}`)
  }
  return `${out.join('\n')}\n`
}

function quote(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** RFC 4180 splitting (what Python's csv module reads): quoted cells may hold commas, quotes, newlines. */
function splitCsv(text: string): Result<{ cells: string[]; line: number }[]> {
  const rows: { cells: string[]; line: number }[] = []
  let cells: string[] = []
  let cell = ''
  let quoted = false
  let line = 1
  let rowLine = 1
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"'
          i++
        } else quoted = false
      } else {
        if (c === '\n') line++
        cell += c
      }
    } else if (c === '"' && cell === '') quoted = true
    else if (c === ',') {
      cells.push(cell)
      cell = ''
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      cells.push(cell)
      rows.push({ cells, line: rowLine })
      cells = []
      cell = ''
      line++
      rowLine = line
    } else cell += c
  }
  if (quoted) return serialErr('NVS_BAD_CSV', `line ${rowLine}: a quoted value is never closed.`)
  if (cell !== '' || cells.length > 0) {
    cells.push(cell)
    rows.push({ cells, line: rowLine })
  }
  return ok(rows)
}
