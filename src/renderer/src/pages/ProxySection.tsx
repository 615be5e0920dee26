import { useCallback, useEffect, useState } from 'react'
import type { ProxyPool, ProxyStatus } from '../../../shared/contract/proxy'
import { formatDifficulty, formatHashrate } from '../pool-store'
import { client, useT } from '../store'

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Upstream pools through the proxy: health, add with Test, start/stop, failover history. */
export function ProxySection() {
  const t = useT()
  const [status, setStatus] = useState<ProxyStatus>()
  const [pools, setPools] = useState<ProxyPool[]>([])
  const [url, setUrl] = useState('')
  const [user, setUser] = useState('')
  const [password, setPassword] = useState('')
  const [note, setNote] = useState('')
  const refreshPools = useCallback((): void => {
    client.call('proxyPools.list', {}).then(
      (r) => setPools(r.pools),
      (e: unknown) => setNote(errText(e)),
    )
  }, [])
  useEffect(() => {
    refreshPools()
    return client.listen('proxy.stream', {}, { frame: (f) => setStatus(f.status) })
  }, [refreshPools])
  const form = () => ({ url: url.trim(), user: user.trim(), ...(password ? { password } : {}) })
  const test = (): void => {
    setNote(t('proxy.testing'))
    client.call('proxyPools.test', form()).then(
      (r) => setNote(r.message),
      (e: unknown) => setNote(errText(e)),
    )
  }
  const add = (): void => {
    client.call('proxyPools.add', form()).then(
      (r) => {
        setNote(t('proxy.added', { name: r.pool.name, url: r.pool.url }))
        setUrl('')
        setPassword('')
        refreshPools()
      },
      (e: unknown) => setNote(errText(e)),
    )
  }
  const startStop = (): void => {
    client.call(status?.running ? 'proxy.stop' : 'proxy.start', {}).then(
      () => setNote(''),
      (e: unknown) => setNote(errText(e)),
    )
  }
  const health = new Map(status?.pools.map((p) => [p.id, p]) ?? [])
  return (
    <section className="card wide" aria-labelledby="proxy-h" data-testid="proxy">
      <h2 id="proxy-h">{t('pools.proxy')}</h2>
      <p data-testid="proxy-message">{status?.message ?? '…'}</p>
      {status?.running ? (
        <p>
          {t('proxy.summary', { miners: status.miners.connections, hashrate: formatHashrate(status.hashrateHs.h10m) })}
        </p>
      ) : null}
      <button type="button" onClick={startStop} disabled={!status?.configured && !status?.running}>
        {status?.running ? t('proxy.stop') : t('proxy.start')}
      </button>
      {pools.length > 0 ? (
        <table data-testid="proxy-pools">
          <thead>
            <tr>
              <th scope="col">{t('proxy.pool')}</th>
              <th scope="col">{t('proxy.health')}</th>
              <th scope="col">{t('pools.miners')}</th>
              <th scope="col">{t('proxy.difficulty')}</th>
              <th scope="col">{t('pools.hashrate')}</th>
            </tr>
          </thead>
          <tbody>
            {pools.map((p) => {
              const h = health.get(p.id)
              return (
                <tr key={p.id}>
                  <td>
                    {p.name} <span className="mono muted">{p.url}</span> · {p.user}
                  </td>
                  <td className={h?.health === 'up' ? 'st-mining' : h?.health === 'down' ? 'st-attention' : ''}>
                    {h ? `${t(`proxy.health.${h.health}`)}${h.health === 'down' ? ` — ${h.message}` : ''}` : '—'}
                  </td>
                  <td>{h?.miners ?? 0}</td>
                  <td>{h?.difficulty != null ? formatDifficulty(h.difficulty) : '—'}</td>
                  <td>{h ? formatHashrate(h.hashrateHs.h10m) : '—'}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      ) : null}
      <form
        className="form"
        onSubmit={(e) => {
          e.preventDefault()
          add()
        }}
      >
        <h3>{t('proxy.add')}</h3>
        <div className="field">
          <label htmlFor="proxy-url">{t('proxy.url')}</label>
          <input
            id="proxy-url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            placeholder="stratum+tcp://pool.example:3333"
          />
        </div>
        <div className="field">
          <label htmlFor="proxy-user">{t('proxy.user')}</label>
          <input id="proxy-user" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor="proxy-password">{t('proxy.password')}</label>
          <input
            id="proxy-password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
          />
        </div>
        <button type="button" onClick={test} disabled={!url.trim() || !user.trim()}>
          {t('proxy.test')}
        </button>{' '}
        <button type="submit" disabled={!url.trim() || !user.trim()}>
          {t('proxy.addButton')}
        </button>
        <p role="status" aria-live="polite" data-testid="proxy-note">
          {note}
        </p>
      </form>
      {status && status.switches.length > 0 ? (
        <>
          <h3>{t('proxy.switches')}</h3>
          <ul data-testid="proxy-switches">
            {[...status.switches].reverse().map((s) => (
              <li key={s.seq}>
                {new Date(s.tsMs).toLocaleTimeString()} — {s.detail}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </section>
  )
}
