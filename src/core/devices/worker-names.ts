/**
 * Worker-name templates: `{var}` or `{var|filter|filter}` (research products.md §4). Variables
 * come from the device record; filters are `lower`, `upper`, `pad2`, `pad3`. Rendering and
 * validation are pure so the UI can preview every device before anything is written.
 *
 * Limits (products.md §4): a worker part never contains a dot (it separates account and worker
 * on Braiins-style pools); Braiins allows only `[-a-zA-Z0-9_@+:]`; Avalon truncates the user at
 * 63 characters and Whatsminer misbehaves above 127; common guidance keeps workers to 32.
 */
import { type AppError, appError, err, ok, type Result } from '../../shared/errors'
import { intToIp, ipToInt } from '../discovery/ip-range'
import type { Vendor } from './types'

export interface WorkerVars {
  ip?: string | null
  mac?: string | null
  hostname?: string | null
  serial?: string | null
  model?: string | null
  site?: string | null
  rack?: string | null
  row?: string | null
  slot?: string | number | null
  asset?: string | null
}

export const TEMPLATE_VARIABLES = [
  'ip',
  'ip_x',
  'ip3',
  'ip4',
  'mac',
  'mac4',
  'hostname',
  'serial',
  'model',
  'site',
  'rack',
  'row',
  'slot',
  'asset',
] as const
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number]

const FILTERS: Record<string, (v: string) => string> = {
  lower: (v) => v.toLowerCase(),
  upper: (v) => v.toUpperCase(),
  pad2: (v) => v.padStart(2, '0'),
  pad3: (v) => v.padStart(3, '0'),
}

function variable(name: TemplateVariable, d: WorkerVars): string | undefined {
  const ip = d.ip && ipToInt(d.ip) !== undefined ? intToIp(ipToInt(d.ip) ?? 0) : undefined
  const macHex = d.mac ? d.mac.replace(/[:-]/g, '').toLowerCase() : undefined
  switch (name) {
    case 'ip':
      return ip
    case 'ip_x':
      // Dots are illegal in a worker part; Braiins Toolbox uses `x` as the separator.
      return ip?.replace(/\./g, 'x')
    case 'ip3':
      return ip?.split('.')[2]
    case 'ip4':
      return ip?.split('.')[3]
    case 'mac':
      return macHex
    case 'mac4':
      return macHex && macHex.length >= 4 ? macHex.slice(-4) : undefined
    case 'slot':
      return d.slot === null || d.slot === undefined ? undefined : String(d.slot)
    default: {
      const v = d[name]
      return v === null || v === undefined || v === '' ? undefined : v
    }
  }
}

export interface ParsedTemplate {
  parts: ({ text: string } | { name: TemplateVariable; filters: string[] })[]
}

/** Parses a template once; unknown variables or filters and unbalanced braces are errors. */
export function parseTemplate(template: string): Result<ParsedTemplate, AppError> {
  const parts: ParsedTemplate['parts'] = []
  const re = /\{([^{}]*)\}/g
  let last = 0
  for (const m of template.matchAll(re)) {
    const idx = m.index ?? 0
    if (idx > last) parts.push({ text: template.slice(last, idx) })
    const [name = '', ...filters] = (m[1] ?? '').split('|').map((s) => s.trim())
    const known = TEMPLATE_VARIABLES.find((v) => v === name)
    if (!known)
      return err(
        appError('INVALID_PARAMS', `Unknown template variable {${name}}; use one of ${TEMPLATE_VARIABLES.join(', ')}`),
      )
    for (const f of filters)
      if (!FILTERS[f]) return err(appError('INVALID_PARAMS', `Unknown filter "${f}" in {${m[1]}}`))
    parts.push({ name: known, filters })
    last = idx + m[0].length
  }
  if (last < template.length) parts.push({ text: template.slice(last) })
  if (parts.some((p) => 'text' in p && /[{}]/.test(p.text)))
    return err(appError('INVALID_PARAMS', 'Unbalanced { or } in the template'))
  return ok({ parts })
}

/** Renders for one device; a variable the device lacks (no serial, no rack) is an error naming it. */
export function renderTemplate(t: ParsedTemplate, d: WorkerVars): Result<string, AppError> {
  let out = ''
  for (const p of t.parts) {
    if ('text' in p) {
      out += p.text
      continue
    }
    let v = variable(p.name, d)
    if (v === undefined) return err(appError('INVALID_PARAMS', `This device has no ${p.name}`))
    for (const f of p.filters) v = (FILTERS[f] ?? ((x: string) => x))(v)
    out += v
  }
  return ok(out)
}

export interface WorkerRules {
  /** Maximum length of the full stratum user (`account.worker`). */
  maxUserLength: number
  /** Maximum length of the worker part. */
  maxWorkerLength: number
  /** Allowed characters in the worker part. */
  workerCharset: RegExp
  charsetLabel: string
}

export const GENERIC_RULES: WorkerRules = {
  maxUserLength: 191,
  maxWorkerLength: 32,
  workerCharset: /^[A-Za-z0-9_-]+$/,
  charsetLabel: 'letters, digits, - and _',
}

/** Braiins Pool: `^[-a-zA-Z0-9_@+:]+$`, no dot. */
export const BRAIINS_POOL_RULES: WorkerRules = {
  ...GENERIC_RULES,
  workerCharset: /^[-a-zA-Z0-9_@+:]+$/,
  charsetLabel: 'letters, digits and - _ @ + :',
}

/** Firmware limits on the whole user string (products.md §4). */
export function userLimitFor(vendor: Vendor | undefined): number {
  if (vendor === 'avalon') return 63
  if (vendor === 'whatsminer') return 127
  return GENERIC_RULES.maxUserLength
}

/** Problems with a worker name for one device; empty when it is fine. */
export function validateWorker(account: string, worker: string, rules: WorkerRules, vendor?: Vendor): string[] {
  const problems: string[] = []
  if (worker === '') problems.push('The worker name is empty')
  if (worker.includes('.')) problems.push('The worker name contains a dot (it would split account and worker)')
  else if (worker !== '' && !rules.workerCharset.test(worker))
    problems.push(`The worker name may only use ${rules.charsetLabel}`)
  if (worker.length > rules.maxWorkerLength)
    problems.push(`The worker name is longer than ${rules.maxWorkerLength} characters`)
  const user = account === '' ? worker : `${account}.${worker}`
  const limit = Math.min(rules.maxUserLength, userLimitFor(vendor))
  if (user.length > limit) problems.push(`The full user is ${user.length} characters; this firmware allows ${limit}`)
  return problems
}

export interface PreviewDevice extends WorkerVars {
  key: string
  vendor?: Vendor
}

export interface WorkerPreview {
  key: string
  worker: string | null
  /** `account.worker`, what the device will send as its stratum user. */
  user: string | null
  problems: string[]
  duplicate: boolean
}

/** One preview row per device: rendered name, problems, and duplicates flagged on every copy. */
export function previewWorkerNames(
  devices: readonly PreviewDevice[],
  template: string,
  account: string,
  rules: WorkerRules = GENERIC_RULES,
): Result<WorkerPreview[], AppError> {
  const parsed = parseTemplate(template)
  if (!parsed.ok) return parsed
  const rows: WorkerPreview[] = devices.map((d) => {
    const r = renderTemplate(parsed.value, d)
    if (!r.ok) return { key: d.key, worker: null, user: null, problems: [r.error.message], duplicate: false }
    const problems = validateWorker(account, r.value, rules, d.vendor)
    return {
      key: d.key,
      worker: r.value,
      user: account === '' ? r.value : `${account}.${r.value}`,
      problems,
      duplicate: false,
    }
  })
  const counts = new Map<string, number>()
  for (const r of rows)
    if (r.user !== null) counts.set(r.user.toLowerCase(), (counts.get(r.user.toLowerCase()) ?? 0) + 1)
  for (const r of rows)
    if (r.user !== null && (counts.get(r.user.toLowerCase()) ?? 0) > 1) {
      r.duplicate = true
      r.problems.push('Another selected device gets the same worker name')
    }
  return ok(rows)
}
