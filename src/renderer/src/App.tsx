import { useEffect } from 'react'
import { AlertsPage } from './pages/AlertsPage'
import { FleetPage } from './pages/FleetPage'
import { PoolsPage } from './pages/PoolsPage'
import { SettingsPage } from './pages/SettingsPage'
import { SharesPage } from './pages/SharesPage'
import { SystemPage } from './pages/SystemPage'
import { UsbPage } from './pages/UsbPage'
import { navigate, ROUTES, useApp, useT } from './store'
import { applyTheme } from './theme'

function ConnectionBanner() {
  const t = useT()
  const c = useApp((s) => s.connection)
  if (c.status === 'up') return null
  return (
    <div className={`banner ${c.status}`} role="status" aria-live="polite" data-testid="connection-banner">
      {c.status === 'connecting' ? t('conn.connecting') : t('conn.down', { reason: c.reason })}
    </div>
  )
}

export function App() {
  const t = useT()
  const route = useApp((s) => s.route)
  const theme = useApp((s) => s.theme)
  const language = useApp((s) => s.language)
  const connection = useApp((s) => s.connection)
  useEffect(() => applyTheme(theme), [theme])
  useEffect(() => {
    document.documentElement.lang = language
  }, [language])
  return (
    <div className="shell">
      <a className="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header className="top">
        <div className="brand">
          <img className="logo" src="./favicon.png" alt="" />
          <span>{t('app.name')}</span>
          <span className="tagline">{t('app.tagline')}</span>
        </div>
        <span className={`dot ${connection.status}`} data-testid="connection-state">
          {connection.status === 'up' ? t('conn.up') : connection.status === 'connecting' ? t('conn.connecting') : '—'}
        </span>
      </header>
      <nav aria-label={t('nav.label')} className="side">
        <ul>
          {ROUTES.map((r) => (
            <li key={r}>
              <a
                href={`#/${r}`}
                aria-current={route === r ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault()
                  navigate(r)
                }}
              >
                {t(`nav.${r}`)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main">
        <ConnectionBanner />
        {route === 'system' ? <SystemPage /> : null}
        {route === 'fleet' ? <FleetPage /> : null}
        {route === 'alerts' ? <AlertsPage /> : null}
        {route === 'pools' ? <PoolsPage /> : null}
        {route === 'shares' ? <SharesPage /> : null}
        {route === 'usb' ? <UsbPage /> : null}
        {route === 'settings' ? <SettingsPage /> : null}
      </main>
    </div>
  )
}
