import type { SeriesResult } from './history-store'

export type CsvCell = string | number | null | undefined

/**
 * Spreadsheet programs run a cell that starts with `=`, `+`, `-` or `@` as a formula, and also
 * one that starts with a tab or carriage return after trimming (OWASP "CSV injection"). Device
 * names, pool URLs and worker names are untrusted text from the network, so every text cell that
 * starts with one of these gets a leading `'`, which spreadsheets show as text. Numbers we format
 * ourselves are never prefixed, so `-3` stays a number.
 */
const FORMULA_START = /^[=+\-@\t\r]/

export function csvCell(cell: CsvCell): string {
  if (cell === null || cell === undefined) return ''
  let text: string
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return ''
    text = String(cell)
  } else {
    text = FORMULA_START.test(cell) ? `'${cell}` : cell
  }
  // RFC 4180 §2.6–2.7: fields with a comma, quote or line break are quoted; quotes are doubled.
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** RFC 4180: CRLF between records, a header line first. */
export function toCsv(header: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  const lines = [header.map(csvCell).join(',')]
  for (const r of rows) lines.push(r.map(csvCell).join(','))
  return `${lines.join('\r\n')}\r\n`
}

export const SERIES_CSV_HEADER = [
  'time_utc',
  'ts_ms',
  'entity_kind',
  'entity_id',
  'metric',
  'resolution_ms',
  'count',
  'value',
  'avg',
  'sum',
  'min',
  'max',
  'last',
] as const

/** The CSV of any history query: one line per point, the entity and metric repeated for pivoting. */
export function seriesToCsv(results: SeriesResult | readonly SeriesResult[]): string {
  const list: readonly SeriesResult[] = Array.isArray(results) ? results : [results as SeriesResult]
  const rows: CsvCell[][] = []
  for (const r of list) {
    for (const p of r.points) {
      rows.push([
        new Date(p.tsMs).toISOString(),
        p.tsMs,
        r.entity.kind,
        r.entity.id,
        r.metric,
        r.resolutionMs,
        p.count,
        p.value,
        p.avg,
        p.sum,
        p.min,
        p.max,
        p.last,
      ])
    }
  }
  return toCsv(SERIES_CSV_HEADER, rows)
}
