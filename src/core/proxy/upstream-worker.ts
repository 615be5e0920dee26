/**
 * The worker name a device's shares carry upstream, from a per-route template:
 * `{account}.{worker}` (default), `{account}.{ip_x}`, `{account}`, … or `pass-through` (the name the
 * device itself authorized with). Rendered names are checked against pool rules: no dot in the
 * worker part (it separates account and worker on Braiins-style pools), Braiins' character set,
 * length limits (products.md §4, reused from `devices/worker-names.ts`).
 */
import { BRAIINS_POOL_RULES, validateWorker } from '../devices/worker-names'

export const PASS_THROUGH = 'pass-through'
export const DEFAULT_WORKER_TEMPLATE = '{account}.{worker}'

export const UPSTREAM_WORKER_VARIABLES = ['account', 'worker', 'user', 'ip', 'ip_x', 'ip3', 'ip4', 'id'] as const
export type UpstreamWorkerVariable = (typeof UPSTREAM_WORKER_VARIABLES)[number]

export interface UpstreamWorkerVars {
  /** The pool account (the upstream pool's configured user). */
  account: string
  /** The full user name the device authorized with (`bc1q….bitaxe1`, `rig7`). */
  user: string
  /** Device IPv4/IPv6 address. */
  ip: string
  /** Proxy connection id. */
  id: number
}

export type TemplateCheck = { ok: true } | { ok: false; message: string }

/** Checks a template's syntax (unknown variables, braces) so a route is never saved broken. */
export function checkWorkerTemplate(template: string): TemplateCheck {
  if (template === PASS_THROUGH) return { ok: true }
  if (template.trim() === '') return { ok: false, message: 'The worker template is empty' }
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) {
    const name = (m[1] ?? '').trim()
    if (!(UPSTREAM_WORKER_VARIABLES as readonly string[]).includes(name)) {
      return {
        ok: false,
        message: `Unknown template variable {${name}}; use one of ${UPSTREAM_WORKER_VARIABLES.map((v) => `{${v}}`).join(', ')}`,
      }
    }
  }
  const stripped = template.replace(/\{[^{}]*\}/g, '')
  if (/[{}]/.test(stripped)) return { ok: false, message: 'Unbalanced { or } in the worker template' }
  if (/\s/.test(stripped)) return { ok: false, message: 'The worker template contains spaces' }
  return { ok: true }
}

/** The device's worker part: what follows the first dot of its user name (or the whole name), made pool-safe. */
export function workerPart(user: string): string {
  const dot = user.indexOf('.')
  const raw = dot >= 0 ? user.slice(dot + 1) : user
  const safe = raw.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32)
  return safe === '' ? 'worker' : safe
}

export type RenderResult = { ok: true; value: string } | { ok: false; message: string }

export function renderUpstreamWorker(template: string, v: UpstreamWorkerVars): RenderResult {
  if (template === PASS_THROUGH)
    return v.user === '' ? { ok: false, message: 'The device sent no user name' } : { ok: true, value: v.user }
  const check = checkWorkerTemplate(template)
  if (!check.ok) return check
  const ipText = v.ip.includes(':') ? v.ip.replace(/:/g, 'x') : v.ip
  const parts = ipText.split('.')
  const values: Record<UpstreamWorkerVariable, string> = {
    account: v.account,
    worker: workerPart(v.user),
    user: v.user,
    ip: v.ip,
    ip_x: ipText.replace(/\./g, 'x'),
    ip3: parts[2] ?? '',
    ip4: parts[3] ?? '',
    id: String(v.id),
  }
  const name = template.replace(
    /\{([^{}]*)\}/g,
    (_m, key: string) => values[key.trim() as UpstreamWorkerVariable] ?? '',
  )
  const dot = name.indexOf('.')
  const account = dot >= 0 ? name.slice(0, dot) : ''
  const worker = dot >= 0 ? name.slice(dot + 1) : name
  if (dot < 0) {
    // A bare account (e.g. template "{account}"): only the length matters.
    return name.length === 0 || name.length > 128
      ? { ok: false, message: 'The worker name is empty or too long' }
      : { ok: true, value: name }
  }
  const problems = validateWorker(account, worker, BRAIINS_POOL_RULES)
  return problems.length > 0 ? { ok: false, message: problems.join('; ') } : { ok: true, value: name }
}
