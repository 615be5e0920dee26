import { type Catalog, en, type MessageKey } from './en'
import { es } from './es'
import { zhCN } from './zh-CN'

export type Language = 'en' | 'es' | 'zh-CN'
export const CATALOGS: Record<Language, Catalog> = { en, es, 'zh-CN': zhCN }
export const LANGUAGE_NAMES: Record<Language, string> = { en: 'English', es: 'Español', 'zh-CN': '简体中文' }
export type { MessageKey }

/** Looks up a message and fills `{name}` placeholders. Values are inserted as text, never markup. */
export function translate(lang: Language, key: MessageKey, vars?: Record<string, string | number>): string {
  const template = CATALOGS[lang][key] ?? en[key]
  if (!vars) return template
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m))
}
