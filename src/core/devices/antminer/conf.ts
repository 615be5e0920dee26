/**
 * Stock Antminer pool write: read-modify-write of the web UI's own payload (research §4.1,
 * asic-rs `browser_miner_conf_payload`). Fan and mode settings are copied from the config just
 * read so that a pool change never changes anything else; exactly three pool objects are sent,
 * in priority order, padded with empty strings.
 */
import { type AppError, err, ok, type Result } from '../../../shared/errors'
import { deviceError } from '../device-error'
import { asArray, asRecord, type JsonRecord, toBool, toNumber, toText } from '../field-map'
import { parsePoolUrl } from '../pool-url'
import type { PoolTarget } from '../types'

export interface AntminerPoolEntry {
  url: string
  user: string
  pass: string
}

export interface SetMinerConfBody {
  'bitmain-fan-ctrl': boolean
  'bitmain-fan-pwm': string
  'miner-mode': number
  'freq-level': string
  pools: [AntminerPoolEntry, AntminerPoolEntry, AntminerPoolEntry]
}

export const ANTMINER_MAX_POOLS = 3

const EMPTY: AntminerPoolEntry = { url: '', user: '', pass: '' }

/** Builds the `set_miner_conf.cgi` body from the `get_miner_conf.cgi` reply and the new pools. */
export function buildSetMinerConf(conf: JsonRecord, pools: readonly PoolTarget[]): Result<SetMinerConfBody, AppError> {
  if (pools.length === 0 || pools.length > ANTMINER_MAX_POOLS)
    return err(deviceError('INVALID_POOL', `Antminer holds 1 to 3 pools, got ${pools.length}`))
  for (const p of pools) {
    const u = parsePoolUrl(p.url)
    if (!u.ok) return u
    if (p.user.trim() === '') return err(deviceError('INVALID_POOL', 'The pool user (worker) is empty'))
  }
  const fanCtrl = toBool(conf['bitmain-fan-ctrl'])
  const fanPwm = toText(conf['bitmain-fan-pwm'])
  // The mode key is `miner-mode` on newer builds, `bitmain-work-mode` on older ones.
  const mode = toNumber(conf['miner-mode'] ?? conf['bitmain-work-mode'])
  if (fanCtrl === undefined || fanPwm === undefined || mode === undefined)
    return err(deviceError('BAD_REPLY', 'get_miner_conf.cgi lacks the fan or mode settings; refusing to write blind'))
  const level = toText(conf['bitmain-freq-level'] ?? conf['freq-level'])
  const entries = pools.map((p) => ({ url: p.url.trim(), user: p.user, pass: p.password }))
  return ok({
    'bitmain-fan-ctrl': fanCtrl,
    'bitmain-fan-pwm': fanPwm,
    'miner-mode': mode,
    'freq-level': level === undefined || level === '' ? '100' : level,
    pools: [entries[0] ?? EMPTY, entries[1] ?? { ...EMPTY }, entries[2] ?? { ...EMPTY }],
  })
}

/** The pools a `get_miner_conf.cgi` reply holds, for undo snapshots (passwords included: a secret). */
export function confPools(conf: JsonRecord): PoolTarget[] {
  return (asArray(conf.pools) ?? []).flatMap((p) => {
    const r = asRecord(p)
    const url = toText(r?.url) ?? ''
    return url === '' ? [] : [{ url, user: toText(r?.user) ?? '', password: toText(r?.pass) ?? '' }]
  })
}

/** `{"stats":"success","code":"M000","msg":"OK!"}` is success; anything else is an error value. */
export function checkSetMinerConfReply(json: unknown): Result<void, AppError> {
  const r = asRecord(json)
  if (r && r.stats === 'success' && (r.code === undefined || r.code === 'M000')) return ok(undefined)
  const msg = toText(r?.msg) ?? 'unexpected reply'
  const code = toText(r?.code)
  return err(
    deviceError('COMMAND_FAILED', `The miner did not accept the configuration${code ? ` (${code})` : ''}: ${msg}`),
  )
}
