import { useApp, useT } from '../store'

const mib = (b: number): string => (b / 1048576).toFixed(1)

function formatUptime(s: number): string {
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = Math.floor(s % 60)
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${sec}s` : `${m}m ${sec}s`
}

export function SystemPage() {
  const t = useT()
  const status = useApp((s) => s.status)
  const sample = useApp((s) => s.sample)
  const events = useApp((s) => s.events)
  return (
    <section aria-labelledby="system-title" className="page">
      <h1 id="system-title">{t('system.title')}</h1>
      <div className="cards">
        <section className="card" aria-labelledby="core-h">
          <h2 id="core-h">{t('system.core')}</h2>
          <dl className="kv" data-testid="core-info">
            <dt>{t('system.version')}</dt>
            <dd data-testid="version">{status?.version ?? '…'}</dd>
            <dt>{t('system.host')}</dt>
            <dd>{status ? t(`system.host.${status.host}`) : '…'}</dd>
            <dt>{t('system.uptime')}</dt>
            <dd data-testid="uptime">{sample ? formatUptime(sample.uptimeS) : '…'}</dd>
            <dt>{t('system.dataDir')}</dt>
            <dd className="mono" data-testid="data-dir">
              {status?.dataDir ?? '…'}
            </dd>
            <dt>{t('system.nodeVersion')}</dt>
            <dd className="mono">{status?.nodeVersion ?? '…'}</dd>
            <dt>{t('system.store')}</dt>
            <dd className="mono">
              {status
                ? `SQLite ${status.store.sqliteVersion} (${status.store.driver}, schema v${status.store.schemaVersion})`
                : '…'}
            </dd>
            <dt>{t('system.secrets')}</dt>
            <dd>
              {status ? t(`system.secrets.${status.secrets.protection}`) : '…'}
              {status?.secrets.warning ? (
                <p className="warning">{t(`system.secrets.warn.${status.secrets.protection}`)}</p>
              ) : null}
            </dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="live-h">
          <h2 id="live-h">{t('system.live')}</h2>
          <dl className="kv" data-testid="live">
            <dt>{t('system.live.rss')}</dt>
            <dd data-testid="rss">{sample ? `${mib(sample.rssBytes)} ${t('unit.MiB')}` : '…'}</dd>
            <dt>{t('system.live.heap')}</dt>
            <dd>{sample ? `${mib(sample.heapUsedBytes)} ${t('unit.MiB')}` : '…'}</dd>
            <dt>{t('system.live.loop')}</dt>
            <dd>{sample ? `${sample.eventLoopDelayP99Ms.toFixed(2)} ${t('unit.ms')}` : '…'}</dd>
            <dt>{t('system.live.connections')}</dt>
            <dd>{sample?.connections ?? '…'}</dd>
            <dt>{t('system.live.updated')}</dt>
            <dd data-testid="sample-time">{sample ? new Date(sample.tsMs).toLocaleTimeString() : '…'}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="ports-h">
          <h2 id="ports-h">{t('system.ports')}</h2>
          {status && status.ports.length > 0 ? (
            <table data-testid="ports">
              <thead>
                <tr>
                  <th scope="col">{t('system.ports.name')}</th>
                  <th scope="col">{t('system.ports.protocol')}</th>
                  <th scope="col">{t('system.ports.address')}</th>
                </tr>
              </thead>
              <tbody>
                {status.ports.map((p) => (
                  <tr key={`${p.name}-${p.port}`}>
                    <td>{p.name}</td>
                    <td>{p.protocol}</td>
                    <td className="mono">
                      {p.host}:{p.port}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>{t('system.ports.none')}</p>
          )}
        </section>
      </div>
      <section className="card wide" aria-labelledby="events-h">
        <h2 id="events-h">{t('system.events')}</h2>
        {events.length === 0 ? (
          <p>{t('system.events.empty')}</p>
        ) : (
          <table className="events" data-testid="events">
            <thead>
              <tr>
                <th scope="col">{t('system.events.time')}</th>
                <th scope="col">{t('system.events.level')}</th>
                <th scope="col">{t('system.events.source')}</th>
                <th scope="col">{t('system.events.message')}</th>
              </tr>
            </thead>
            <tbody>
              {[...events].reverse().map((e) => (
                <tr key={e.seq} className={`lvl-${e.level}`}>
                  <td className="mono">{new Date(e.tsMs).toLocaleTimeString()}</td>
                  <td>{e.level}</td>
                  <td>{e.source}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </section>
  )
}
