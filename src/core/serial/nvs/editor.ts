import type { Result } from '../../../shared/errors'
import { ok } from '../../../shared/errors'
import { serialErr } from '../serial-error'
import type { NvsEntry } from './format'
import { readNvs } from './reader'
import { writeNvs } from './writer'

/** ESP-Miner keeps all of its settings in this namespace (`main/nvs_config.c`, NVS_CONFIG_NAMESPACE). */
export const ESP_MINER_NAMESPACE = 'main'

export interface PoolTarget {
  /** Host name or IP, without `stratum+tcp://` and without `:port` (AxeOS stores them apart). */
  url: string
  port: number
  user: string
  /** Undefined keeps the password the device already has (as AxeOS does for "*****"). */
  password?: string | undefined
}

/** What a technician may change over USB. Everything else on the device is carried over as is. */
export interface SettingsChange {
  /** `password` undefined keeps the device's current Wi-Fi password. */
  wifi?: { ssid: string; password?: string | undefined }
  primaryPool?: PoolTarget
  fallbackPool?: PoolTarget
}

/**
 * `legacy`: AxeOS ≤ 2.14 `stratum*`/`fbstratum*` keys. `pool-slots`: AxeOS ≥ 2.15 `pool_1`…`pool_8`
 * JSON strings selected by `prim_idx`/`sec_idx` (0-based). See research devices.md §6.
 */
export type PoolLayout = 'legacy' | 'pool-slots'

export interface EditResult {
  image: Buffer
  layout: PoolLayout
  /** Names of the keys written (never their values: two of them are passwords). */
  changedKeys: string[]
}

const LEGACY_KEYS = {
  primary: { url: 'stratumurl', port: 'stratumport', user: 'stratumuser', password: 'stratumpass' },
  fallback: { url: 'fbstratumurl', port: 'fbstratumport', user: 'fbstratumuser', password: 'fbstratumpass' },
} as const

const POOL_SLOT = /^pool_([1-8])$/
const MAX_POOL_SLOTS = 8

/** Which pool layout an image uses: slots as soon as any `pool_N` exists, otherwise the legacy keys. */
export function detectPoolLayout(entries: readonly NvsEntry[]): PoolLayout {
  return entries.some((e) => e.namespace === ESP_MINER_NAMESPACE && POOL_SLOT.test(e.key)) ? 'pool-slots' : 'legacy'
}

/**
 * Applies `change` to an ESP-Miner NVS image read from a device and returns a fresh image of the
 * same size. Only Wi-Fi and pool keys are touched; every other entry (ASIC model, frequency,
 * voltage, board version, other namespaces such as Wi-Fi calibration blobs) is carried over with
 * its type and value. On an image without any pool keys the legacy keys are written: firmware
 * ≥ 2.15 migrates them into `pool_1`/`pool_2` at boot when `pool_1` is absent (`migrate_legacy_pools`).
 */
export function applySettingsChange(image: Uint8Array, change: SettingsChange): Result<EditResult> {
  const invalid = validateChange(change)
  if (invalid) return serialErr('BAD_ARGUMENT', invalid)
  const read = readNvs(image)
  if (!read.ok) return read
  const entries = read.value.entries.map((e) => ({ ...e }))
  const layout = detectPoolLayout(entries)
  const changed: string[] = []

  const set = (key: string, next: NvsEntry) => {
    const i = entries.findIndex((e) => e.namespace === ESP_MINER_NAMESPACE && e.key === key)
    if (i === -1) {
      const lastMain = entries.findLastIndex((e) => e.namespace === ESP_MINER_NAMESPACE)
      entries.splice(lastMain === -1 ? entries.length : lastMain + 1, 0, next)
    } else entries[i] = next
    changed.push(key)
  }
  const str = (key: string, value: string) => set(key, { namespace: ESP_MINER_NAMESPACE, key, type: 'string', value })
  const u16 = (key: string, value: number) => set(key, { namespace: ESP_MINER_NAMESPACE, key, type: 'u16', value })

  if (change.wifi) {
    str('wifissid', change.wifi.ssid)
    if (change.wifi.password !== undefined) str('wifipass', change.wifi.password)
  }
  if (layout === 'legacy') {
    for (const [which, pool] of [
      ['primary', change.primaryPool],
      ['fallback', change.fallbackPool],
    ] as const) {
      if (!pool) continue
      const k = LEGACY_KEYS[which]
      str(k.url, pool.url)
      u16(k.port, pool.port)
      str(k.user, pool.user)
      if (pool.password !== undefined) str(k.password, pool.password)
    }
  } else {
    const idx = (key: string, fallback: number): number => {
      const e = entries.find((x) => x.namespace === ESP_MINER_NAMESPACE && x.key === key)
      return e && typeof e.value === 'number' ? e.value : fallback
    }
    for (const [slotIdx, pool] of [
      [idx('prim_idx', 0), change.primaryPool],
      [idx('sec_idx', 1), change.fallbackPool],
    ] as const) {
      if (!pool) continue
      if (slotIdx < 0 || slotIdx >= MAX_POOL_SLOTS) {
        return serialErr('NVS_LAYOUT', `The device points at pool slot ${slotIdx + 1}, which does not exist (1–8).`)
      }
      const key = `pool_${slotIdx + 1}`
      const current = entries.find((e) => e.namespace === ESP_MINER_NAMESPACE && e.key === key)
      let base: Record<string, unknown> = {}
      if (current) {
        const parsed = current.type === 'string' ? parseObject(current.value) : undefined
        if (!parsed)
          return serialErr(
            'NVS_LAYOUT',
            `Pool slot ${key} on the device is not a JSON object; refusing to guess its format.`,
          )
        base = parsed
      }
      // Keep the slot's other fields (TLS, difficulty, …); replace only where the pool is.
      const pass = pool.password !== undefined ? { pass: pool.password } : {}
      str(key, JSON.stringify({ ...base, url: pool.url, port: pool.port, user: pool.user, ...pass }))
    }
  }

  const written = writeNvs(entries, image.length)
  if (!written.ok) return written
  return ok({ image: written.value, layout, changedKeys: changed })
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Limits from ESP-Miner's settings table (`nvs_config.c`): SSID 1–32 bytes, Wi-Fi password ≤ 63. */
function validateChange(change: SettingsChange): string | undefined {
  if (!change.wifi && !change.primaryPool && !change.fallbackPool) return 'Nothing to change.'
  if (change.wifi) {
    const n = Buffer.byteLength(change.wifi.ssid, 'utf8')
    if (n < 1 || n > 32) return 'The Wi-Fi name must be 1 to 32 bytes long.'
    if (Buffer.byteLength(change.wifi.password ?? '', 'utf8') > 63)
      return 'The Wi-Fi password must be at most 63 bytes long.'
  }
  for (const [label, pool] of [
    ['primary pool', change.primaryPool],
    ['fallback pool', change.fallbackPool],
  ] as const) {
    if (!pool) continue
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(pool.url)) {
      return `The ${label} host must be a bare host name or IP address (no "stratum+tcp://", no ":port").`
    }
    if (!Number.isInteger(pool.port) || pool.port < 1 || pool.port > 65535)
      return `The ${label} port must be 1 to 65535.`
    if (pool.user.length === 0 || pool.user.length > 256) return `The ${label} worker name must be 1 to 256 characters.`
    if ((pool.password ?? '').length > 256) return `The ${label} password must be at most 256 characters.`
    if ((pool.user + (pool.password ?? '')).includes('\u0000'))
      return `The ${label} worker and password must not contain NUL.`
  }
  return undefined
}
