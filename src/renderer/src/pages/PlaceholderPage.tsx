import type { MessageKey } from '../i18n'
import { useT } from '../store'

/** A screen whose capability is not in this build yet: says what it will show, never fake data. */
export function PlaceholderPage({ title, body }: { title: MessageKey; body: MessageKey }) {
  const t = useT()
  return (
    <section aria-labelledby="ph-title" className="page">
      <h1 id="ph-title">{t(title)}</h1>
      <div className="card placeholder" data-testid="placeholder">
        <h2>{t('placeholder.notYet')}</h2>
        <p>{t(body)}</p>
      </div>
    </section>
  )
}
