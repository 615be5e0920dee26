import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'

/**
 * Prometheus text exposition format 0.0.4: for each family a `# HELP` and a `# TYPE` line, then
 * its samples, all lines of one name together; label values escape `\`, `"` and newline; HELP text
 * escapes `\` and newline. https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export type MetricType = 'gauge' | 'counter' | 'untyped'

export interface Sample {
  labels?: Record<string, string>
  value: number
}

export interface MetricFamily {
  name: string
  help: string
  type: MetricType
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export const escapeHelp = (s: string) => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
export const escapeLabelValue = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

/**
 * Renders families; families given twice under one name are merged (same type required), and a
 * repeated label set keeps its first value, so the output always has one family per name and one
 * line per series. Invalid metric or label names are an error value (they are ours, not the user's).
 */
export function renderExposition(families: readonly MetricFamily[]): Result<string, AppError> {
  const merged = new Map<string, MetricFamily>()
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) return err(appError('INTERNAL', `invalid metric name "${f.name}"`))
    const prev = merged.get(f.name)
    if (prev && prev.type !== f.type)
      return err(appError('INTERNAL', `metric ${f.name} given as ${prev.type} and ${f.type}`))
    if (prev) prev.samples.push(...f.samples)
    else merged.set(f.name, { ...f, samples: [...f.samples] })
  }
  const lines: string[] = []
  for (const f of merged.values()) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    const seen = new Set<string>()
    for (const s of f.samples) {
      const entries = Object.entries(s.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      for (const [k] of entries) {
        if (!LABEL_NAME.test(k) || k.startsWith('__'))
          return err(appError('INTERNAL', `invalid label name "${k}" on ${f.name}`))
      }
      const labels = entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : ''
      if (seen.has(labels)) continue
      seen.add(labels)
      lines.push(`${f.name}${labels} ${formatValue(s.value)}`)
    }
  }
  return ok(lines.length ? `${lines.join('\n')}\n` : '')
}
