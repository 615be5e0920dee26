/**
 * A simulated AxeOS (ESP-Miner) device: serves the captured `/api/system/info` and
 * `/api/system/asic` bodies and implements `PATCH /api/system` as the firmware does
 * (research §4.10, ESP-Miner `check_settings_and_update`): every field is type-checked first and
 * a bad one gives 400 "Wrong API input" with nothing written. ≥2.15 mode keeps pool slots, where
 * a `stratumPassword` of "*****" keeps the stored password and the legacy keys are ignored.
 *
 * There is no ≥2.15 capture; slot mode derives `pools[]` from the capture's legacy fields with the
 * field names of ESP-Miner `system_api_json.c` (research §4.10).
 */
import { type HttpSim, type SimRequest, type SimResponse, startHttpSim } from './http-sim'

export interface AxeosSimOptions {
  /** The captured /api/system/info text. */
  info: string
  /** The captured /api/system/asic text; 404 when absent (older firmware). */
  asic?: string
  /** Emulate ≥2.15 pool slots. */
  slots?: boolean
  /** Make writes fail: an HTTP status, or 'hang' to accept and never answer. */
  failWrites?: number | 'hang'
  listen?: { host: string; port: number }
  /** Overrides applied to the info after loading (e.g. a hostile hostname). */
  patchInfo?: Record<string, unknown>
}

export interface AxeosSim extends HttpSim {
  info: Record<string, unknown>
  passwords: Map<string, string>
  restarts: number
  identifies: number
}

const LEGACY_FIELDS: Record<string, 'string' | 'u16'> = {
  stratumURL: 'string',
  stratumPort: 'u16',
  stratumUser: 'string',
  stratumPassword: 'string',
  fallbackStratumURL: 'string',
  fallbackStratumPort: 'u16',
  fallbackStratumUser: 'string',
  fallbackStratumPassword: 'string',
}

const typeOk = (kind: 'string' | 'u16', v: unknown) =>
  kind === 'string' ? typeof v === 'string' : Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535

/** RFC 1918 `http://` origins pass the firmware's `is_network_allowed()`; anything else is 401. */
function originAllowed(origin: string | undefined): boolean {
  if (origin === undefined) return true
  const m = /^http:\/\/(\d+)\.(\d+)\.(\d+)\.(\d+)(:\d+)?$/.exec(origin)
  if (!m) return false
  const [a, b] = [Number(m[1]), Number(m[2])]
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
}

export async function startAxeosSim(opts: AxeosSimOptions): Promise<AxeosSim> {
  const info = { ...(JSON.parse(opts.info) as Record<string, unknown>), ...opts.patchInfo }
  const passwords = new Map<string, string>()
  let dirty = opts.patchInfo !== undefined
  if (opts.slots) {
    dirty = true
    const slot = (id: number, prefix: '' | 'fallback') => {
      const key = (k: string) => (prefix === '' ? k : `fallback${k[0]?.toUpperCase()}${k.slice(1)}`)
      return {
        id,
        stratumProtocol: 'SV1',
        stratumURL: info[key('stratumURL')] ?? '',
        stratumPort: info[key('stratumPort')] ?? 0,
        stratumUser: info[key('stratumUser')] ?? '',
        stratumPassword: '*****',
        stratumTLS: 0,
        stratumCert: '',
        stratumSuggestedDifficulty: 1000,
        stratumExtranonceSubscribe: 0,
      }
    }
    info.pools = [slot(0, ''), slot(1, 'fallback')]
    info.primaryPoolIndex = 0
    info.secondaryPoolIndex = 1
    passwords.set('0', 'x')
    passwords.set('1', 'x')
  }

  const state = { restarts: 0, identifies: 0 }
  const bad = (): SimResponse => ({ status: 400, headers: { 'Content-Type': 'text/plain' }, body: 'Wrong API input' })

  const patch = (body: Record<string, unknown>): SimResponse => {
    if (!opts.slots) {
      for (const [k, v] of Object.entries(body)) {
        const kind = LEGACY_FIELDS[k]
        if (kind && !typeOk(kind, v)) return bad()
      }
      for (const [k, v] of Object.entries(body)) {
        if (!LEGACY_FIELDS[k]) continue
        if (k.endsWith('Password')) passwords.set(k, String(v))
        else info[k] = v
      }
      return { status: 200, body: '' }
    }
    const slots = info.pools as Record<string, unknown>[]
    const incoming = body.pools
    if (incoming !== undefined) {
      if (!Array.isArray(incoming)) return bad()
      for (const p of incoming) {
        if (typeof p !== 'object' || p === null) return bad()
        const rec = p as Record<string, unknown>
        if (!Number.isInteger(rec.id) || (rec.id as number) < 0 || (rec.id as number) > 7) return bad()
        for (const k of ['stratumURL', 'stratumUser', 'stratumPassword'])
          if (rec[k] !== undefined && typeof rec[k] !== 'string') return bad()
        if (rec.stratumPort !== undefined && !typeOk('u16', rec.stratumPort)) return bad()
      }
      for (const p of incoming as Record<string, unknown>[]) {
        const id = p.id as number
        let slot = slots.find((s) => s.id === id)
        if (!slot) {
          slot = { id, stratumPassword: '*****' }
          slots.push(slot)
        }
        for (const [k, v] of Object.entries(p)) {
          if (k === 'stratumPassword') {
            if (v !== '*****') passwords.set(String(id), String(v))
          } else slot[k] = v
        }
      }
    }
    for (const k of ['primaryPoolIndex', 'secondaryPoolIndex'])
      if (body[k] !== undefined) {
        if (!Number.isInteger(body[k])) return bad()
        info[k] = body[k]
      }
    return { status: 200, body: '' }
  }

  const handler = (req: SimRequest): SimResponse | 'hang' => {
    if (req.path.startsWith('/api/') && !originAllowed(req.headers.origin as string | undefined))
      return { status: 401, headers: { 'Content-Type': 'text/plain' }, body: 'Unauthorized' }
    const isWrite = req.method !== 'GET'
    if (isWrite && opts.failWrites !== undefined) {
      if (opts.failWrites === 'hang') return 'hang'
      return { status: opts.failWrites, headers: { 'Content-Type': 'text/plain' }, body: 'Internal error' }
    }
    if (req.method === 'GET' && req.path === '/')
      // Minimal stand-in for the AxeOS SPA shell: only the documented detection substring matters.
      return {
        headers: { 'Content-Type': 'text/html' },
        body: '<!doctype html><html><head><title>AxeOS</title></head><body><app-root></app-root></body></html>',
      }
    if (req.method === 'GET' && req.path === '/api/system/info')
      return { body: dirty ? JSON.stringify(info) : opts.info }
    if (req.method === 'GET' && req.path === '/api/system/asic')
      return opts.asic ? { body: opts.asic } : { status: 404, body: '' }
    if (req.method === 'PATCH' && req.path === '/api/system') {
      let body: unknown
      try {
        body = JSON.parse(req.body)
      } catch {
        return bad()
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad()
      const r = patch(body as Record<string, unknown>)
      if (r.status === 200) dirty = true
      return r
    }
    if (req.method === 'POST' && req.path === '/api/system/restart') {
      state.restarts++
      sim.restarts = state.restarts
      return { body: '{"message":"System will restart shortly."}' }
    }
    if (req.method === 'POST' && req.path === '/api/system/identify') {
      sim.identifies++
      return { body: '{"message":"Device identified"}' }
    }
    return { status: 404, body: '' }
  }

  const http = await startHttpSim(handler, undefined, opts.listen)
  const sim: AxeosSim = Object.assign(http, { info, passwords, restarts: 0, identifies: 0 })
  return sim
}
