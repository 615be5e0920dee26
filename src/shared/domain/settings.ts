import { z } from 'zod'

/**
 * Every persisted setting, by key, with its schema and default. Settings are written atomically
 * (one SQLite transaction per change) and validated here, so a bad value is refused at the API
 * boundary and never reaches the store.
 */
export const SETTINGS = {
  'ui.theme': { schema: z.enum(['light', 'dark', 'system']), default: 'system' as const },
  'ui.language': { schema: z.enum(['en', 'es', 'zh-CN']), default: 'en' as const },
  'telemetry.sampleIntervalMs': { schema: z.number().int().min(250).max(60_000), default: 1000 },
} as const

export type SettingKey = keyof typeof SETTINGS
export type SettingValue<K extends SettingKey> = z.infer<(typeof SETTINGS)[K]['schema']>
export type SettingsMap = { [K in SettingKey]: SettingValue<K> }

export const SettingKeySchema = z.enum(Object.keys(SETTINGS) as [SettingKey, ...SettingKey[]])

export function defaultSettings(): SettingsMap {
  const out: Record<string, unknown> = {}
  for (const [k, spec] of Object.entries(SETTINGS)) out[k] = spec.default
  return out as SettingsMap
}

/** Validates one value for a key; returns a message fit for the user when it does not fit. */
export function validateSetting(
  key: SettingKey,
  value: unknown,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const r = SETTINGS[key].schema.safeParse(value)
  if (r.success) return { ok: true, value: r.data }
  return { ok: false, message: `${key}: ${r.error.issues.map((i) => i.message).join('; ')}` }
}
