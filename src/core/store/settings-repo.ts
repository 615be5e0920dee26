import {
  defaultSettings,
  SETTINGS,
  type SettingKey,
  type SettingsMap,
  validateSetting,
} from '../../shared/domain/settings'
import { AppFailure } from '../../shared/errors'
import type { Database } from './sqlite'

/**
 * Settings live in one table, one row per key, each change in its own transaction: a kill at any
 * moment leaves either the old or the new value, never a torn one. Unknown or invalid stored
 * values (an older version's key, a hand-edited row) fall back to the default instead of failing.
 */
export class SettingsRepo {
  readonly #get
  readonly #put
  readonly #listeners = new Set<(key: SettingKey, value: unknown) => void>()

  constructor(private readonly db: Database) {
    this.#get = db.prepare('SELECT key, value_json FROM settings')
    this.#put = db.prepare(
      'INSERT INTO settings (key, value_json, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value_json = excluded.value_json, updated_at_ms = excluded.updated_at_ms',
    )
  }

  all(): SettingsMap {
    const out: Record<string, unknown> = defaultSettings()
    for (const row of this.#get.all() as Array<{ key: string; value_json: string }>) {
      if (!Object.hasOwn(SETTINGS, row.key)) continue
      let parsed: unknown
      try {
        parsed = JSON.parse(row.value_json)
      } catch {
        continue
      }
      const v = validateSetting(row.key as SettingKey, parsed)
      if (v.ok) out[row.key] = v.value
    }
    return out as SettingsMap
  }

  get<K extends SettingKey>(key: K): SettingsMap[K] {
    return this.all()[key]
  }

  set(key: SettingKey, value: unknown): unknown {
    const v = validateSetting(key, value)
    if (!v.ok) throw new AppFailure('INVALID_PARAMS', v.message)
    this.db.transaction(() => this.#put.run(key, JSON.stringify(v.value), Date.now()))()
    for (const cb of this.#listeners) cb(key, v.value)
    return v.value
  }

  onChange(cb: (key: SettingKey, value: unknown) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }
}
