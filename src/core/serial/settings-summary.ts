import { detectPoolLayout, ESP_MINER_NAMESPACE, type PoolLayout } from './nvs/editor'
import type { NvsEntry } from './nvs/format'

export interface DevicePoolSummary {
  role: 'primary' | 'fallback' | 'other'
  slot?: number
  url: string
  port?: number
  user: string
  hasPassword: boolean
}

/** An ESP-Miner device's settings as the UI may see them: every password reduced to `hasPassword`. */
export interface SettingsSummary {
  layout: PoolLayout
  hostname?: string
  wifi: { ssid?: string; hasPassword: boolean }
  pools: DevicePoolSummary[]
  asicModel?: string
  deviceModel?: string
  frequencyMhz?: number
  coreVoltageMv?: number
  boardVersion?: string
  keys: string[]
  warnings: string[]
}

const LEGACY = [
  { role: 'primary', url: 'stratumurl', port: 'stratumport', user: 'stratumuser', pass: 'stratumpass' },
  { role: 'fallback', url: 'fbstratumurl', port: 'fbstratumport', user: 'fbstratumuser', pass: 'fbstratumpass' },
] as const

/**
 * Summarises the `main` namespace of an ESP-Miner NVS partition (key names from ESP-Miner's
 * `nvs_config.c` and `config.cvs.example`, research devices.md §6). Pure; never copies a password.
 */
export function summariseSettings(entries: readonly NvsEntry[]): SettingsSummary {
  const main = new Map(entries.filter((e) => e.namespace === ESP_MINER_NAMESPACE).map((e) => [e.key, e]))
  const str = (k: string): string | undefined => {
    const e = main.get(k)
    return e?.type === 'string' ? e.value : undefined
  }
  // Numbers are u16 in every version seen, but accept a numeric string rather than drop the value.
  const num = (k: string): number | undefined => {
    const e = main.get(k)
    if (!e) return undefined
    if (e.type === 'string') return /^-?\d+(\.\d+)?$/.test(e.value.trim()) ? Number(e.value) : undefined
    return typeof e.value === 'number' ? e.value : undefined
  }
  const nonEmpty = (v: string | undefined) => v !== undefined && v.length > 0
  const layout = detectPoolLayout(entries)
  const warnings: string[] = []
  const pools: DevicePoolSummary[] = []

  if (layout === 'legacy') {
    for (const k of LEGACY) {
      const url = str(k.url)
      if (!nonEmpty(url)) continue
      const port = num(k.port)
      pools.push({
        role: k.role,
        url: url as string,
        ...(port !== undefined ? { port } : {}),
        user: str(k.user) ?? '',
        hasPassword: nonEmpty(str(k.pass)),
      })
    }
  } else {
    const prim = num('prim_idx') ?? 0
    const sec = num('sec_idx') ?? 1
    for (let slot = 1; slot <= 8; slot++) {
      const raw = str(`pool_${slot}`)
      if (raw === undefined) continue
      const obj = parseObject(raw)
      if (!obj) {
        warnings.push(`pool_${slot} is not a JSON object; not shown`)
        continue
      }
      const url = typeof obj.url === 'string' ? obj.url : ''
      if (url === '') continue
      pools.push({
        role: slot - 1 === prim ? 'primary' : slot - 1 === sec ? 'fallback' : 'other',
        slot,
        url,
        ...(typeof obj.port === 'number' ? { port: obj.port } : {}),
        user: typeof obj.user === 'string' ? obj.user : '',
        hasPassword: typeof obj.pass === 'string' && obj.pass.length > 0,
      })
    }
  }

  const out: SettingsSummary = {
    layout,
    wifi: { hasPassword: nonEmpty(str('wifipass')) },
    pools,
    keys: [...main.keys()],
    warnings,
  }
  const ssid = str('wifissid')
  if (ssid !== undefined) out.wifi.ssid = ssid
  const set = <K extends keyof SettingsSummary>(k: K, v: SettingsSummary[K] | undefined) => {
    if (v !== undefined) out[k] = v
  }
  set('hostname', str('hostname'))
  set('asicModel', str('asicmodel'))
  set('deviceModel', str('devicemodel'))
  set('frequencyMhz', num('asicfrequency'))
  set('coreVoltageMv', num('asicvoltage'))
  set('boardVersion', str('boardversion'))
  return out
}

/** Every password an image holds (Wi-Fi, legacy pool keys, pool slot `pass`), for redaction only. */
export function secretsIn(entries: readonly NvsEntry[]): string[] {
  const out: string[] = []
  for (const e of entries) {
    if (e.namespace !== ESP_MINER_NAMESPACE || e.type !== 'string') continue
    if (e.key === 'wifipass' || e.key === 'stratumpass' || e.key === 'fbstratumpass') out.push(e.value)
    else if (/^pool_[1-8]$/.test(e.key)) {
      const pass = parseObject(e.value)?.pass
      if (typeof pass === 'string') out.push(pass)
    }
  }
  return out.filter((s) => s.length > 0)
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
