/**
 * A strict parser for the Prometheus text format 0.0.4, written from the format's documentation
 * to check our `/metrics` output the way a Prometheus server would read it. It enforces what the
 * server enforces: valid names, one TYPE per family given before its samples, all of a family's
 * lines together, no repeated series, valid escapes, and numbers Go's ParseFloat accepts.
 */
export interface ParsedSample {
  name: string
  labels: Record<string, string>
  value: number
  timestampMs?: number
}

export interface ParsedFamily {
  name: string
  help?: string
  type: string
  samples: ParsedSample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

export class PromParseError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`)
  }
}

function unescapeHelp(s: string, line: number): string {
  return s.replace(/\\(.)?/g, (_m, c: string | undefined) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    throw new PromParseError(line, `bad escape in HELP: \\${c ?? ''}`)
  })
}

function parseValue(text: string, line: number): number {
  if (text === 'NaN') return Number.NaN
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new PromParseError(line, `bad value "${text}"`)
  return Number(text)
}

/** Family name a sample belongs to (histogram and summary samples carry suffixes). */
function familyOf(sample: string, families: Map<string, ParsedFamily>): string {
  for (const suffix of ['_bucket', '_count', '_sum']) {
    if (sample.endsWith(suffix)) {
      const base = sample.slice(0, -suffix.length)
      const f = families.get(base)
      if (f && (f.type === 'histogram' || f.type === 'summary')) return base
    }
  }
  return sample
}

export function parsePrometheusText(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>()
  const finished = new Set<string>()
  const series = new Set<string>()
  const typed = new Set<string>()
  let current: string | undefined
  const enter = (name: string, line: number) => {
    if (current === name) return
    if (finished.has(name)) throw new PromParseError(line, `lines of ${name} are not together`)
    if (current !== undefined) finished.add(current)
    current = name
  }
  const lines = text.split('\n')
  if (lines[lines.length - 1] !== '') throw new PromParseError(lines.length, 'the last line must end with a newline')
  lines.pop()
  lines.forEach((raw, i) => {
    const n = i + 1
    if (raw.trim() === '') return
    if (raw.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(raw)
      if (!m) return // any other comment
      const [, kind, name = '', rest = ''] = m
      if (!METRIC_NAME.test(name) || name.match(METRIC_NAME)![0] !== name)
        throw new PromParseError(n, `bad metric name "${name}"`)
      enter(name, n)
      const f = families.get(name) ?? { name, type: 'untyped', samples: [] }
      families.set(name, f)
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new PromParseError(n, `second HELP for ${name}`)
        f.help = unescapeHelp(rest, n)
      } else {
        const t = rest.trim()
        if (!TYPES.has(t)) throw new PromParseError(n, `bad type "${t}"`)
        if (typed.has(name)) throw new PromParseError(n, `second TYPE for ${name}`)
        if (f.samples.length > 0) throw new PromParseError(n, `TYPE for ${name} after its samples`)
        f.type = t
        typed.add(name)
      }
      return
    }
    let pos = 0
    const nameMatch = raw.match(METRIC_NAME)
    if (!nameMatch) throw new PromParseError(n, 'sample line does not start with a metric name')
    const name = nameMatch[0]
    pos = name.length
    const labels: Record<string, string> = {}
    if (raw[pos] === '{') {
      pos++
      for (;;) {
        while (raw[pos] === ' ') pos++
        if (raw[pos] === '}') {
          pos++
          break
        }
        const ln = raw.slice(pos).match(LABEL_NAME)
        if (!ln) throw new PromParseError(n, 'bad label name')
        const label = ln[0]
        pos += label.length
        if (raw.slice(pos, pos + 2) !== '="') throw new PromParseError(n, `expected =" after ${label}`)
        pos += 2
        let value = ''
        for (;;) {
          const c = raw[pos]
          if (c === undefined) throw new PromParseError(n, 'unterminated label value')
          if (c === '"') {
            pos++
            break
          }
          if (c === '\\') {
            const e = raw[pos + 1]
            if (e === '\\') value += '\\'
            else if (e === '"') value += '"'
            else if (e === 'n') value += '\n'
            else throw new PromParseError(n, `bad escape \\${e ?? ''} in label value`)
            pos += 2
            continue
          }
          value += c
          pos++
        }
        if (Object.hasOwn(labels, label)) throw new PromParseError(n, `label ${label} given twice`)
        labels[label] = value
        while (raw[pos] === ' ') pos++
        if (raw[pos] === ',') {
          pos++
          continue
        }
        if (raw[pos] === '}') {
          pos++
          break
        }
        throw new PromParseError(n, 'expected , or } in labels')
      }
    }
    if (raw[pos] !== ' ' && raw[pos] !== '\t') throw new PromParseError(n, 'expected a space before the value')
    const parts = raw
      .slice(pos)
      .trim()
      .split(/[ \t]+/)
    if (parts.length < 1 || parts.length > 2) throw new PromParseError(n, 'expected a value and an optional timestamp')
    const value = parseValue(parts[0]!, n)
    const sample: ParsedSample = { name, labels, value }
    if (parts[1] !== undefined) {
      if (!/^-?\d+$/.test(parts[1])) throw new PromParseError(n, 'bad timestamp')
      sample.timestampMs = Number(parts[1])
    }
    const fam = familyOf(name, families)
    enter(fam, n)
    const f = families.get(fam) ?? { name: fam, type: 'untyped', samples: [] }
    families.set(fam, f)
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`
    if (series.has(key)) throw new PromParseError(n, `series ${key} given twice`)
    series.add(key)
    f.samples.push(sample)
  })
  return families
}
