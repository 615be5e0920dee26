import { useState } from 'react'
import { LANGUAGE_NAMES, type Language } from '../i18n'
import { saveSetting, type Theme, useApp, useT } from '../store'

export function SettingsPage() {
  const t = useT()
  const theme = useApp((s) => s.theme)
  const language = useApp((s) => s.language)
  const [note, setNote] = useState('')
  const save = (key: 'ui.theme' | 'ui.language', value: string): void => {
    saveSetting(key, value).then(
      () => setNote(t('settings.saved')),
      (e: unknown) => setNote(t('settings.failed', { message: e instanceof Error ? e.message : String(e) })),
    )
  }
  return (
    <section aria-labelledby="settings-title" className="page">
      <h1 id="settings-title">{t('settings.title')}</h1>
      <div className="card">
        <h2>{t('settings.appearance')}</h2>
        <div className="field">
          <label htmlFor="theme">{t('theme.label')}</label>
          <select id="theme" value={theme} onChange={(e) => save('ui.theme', e.target.value)}>
            {(['system', 'light', 'dark'] as Theme[]).map((v) => (
              <option key={v} value={v}>
                {t(`theme.${v}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="language">{t('language.label')}</label>
          <select id="language" value={language} onChange={(e) => save('ui.language', e.target.value)}>
            {(Object.keys(LANGUAGE_NAMES) as Language[]).map((v) => (
              <option key={v} value={v} lang={v}>
                {LANGUAGE_NAMES[v]}
              </option>
            ))}
          </select>
        </div>
        <p role="status" aria-live="polite">
          {note}
        </p>
      </div>
    </section>
  )
}
