import { useEffect, useState } from 'react'
import type { PoolSettings } from '../../../shared/contract/pool'
import { formatDifficulty, formatHashrate, startPoolData, usePool } from '../pool-store'
import { client, useT } from '../store'
import { ProxySection } from './ProxySection'

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

function NodeForm({ settings, onSaved }: { settings: PoolSettings; onSaved(s: PoolSettings): void }) {
  const t = useT()
  const [url, setUrl] = useState(settings.node.url)
  const [user, setUser] = useState(settings.node.user ?? '')
  const [password, setPassword] = useState('')
  const [cookieFile, setCookieFile] = useState(settings.node.cookieFile ?? '')
  const [network, setNetwork] = useState(settings.network)
  const [address, setAddress] = useState(settings.payoutAddress ?? '')
  const [tag, setTag] = useState(settings.coinbaseTag)
  const [port, setPort] = useState(String(settings.port))
  const [note, setNote] = useState('')
  const [testNote, setTestNote] = useState('')

  const nodeFields = () => ({
    url: url.trim() || undefined,
    user: user.trim() ? user.trim() : null,
    ...(password ? { password } : {}),
    cookieFile: cookieFile.trim() ? cookieFile.trim() : null,
  })

  const test = (): void => {
    setTestNote(t('pools.node.testing'))
    client.call('pool.testNode', { ...nodeFields(), network }).then(
      (r) => setTestNote(r.ok ? t('pools.node.testOk', { chain: r.chain ?? '?', height: r.height ?? '?' }) : r.message),
      (e: unknown) => setTestNote(errText(e)),
    )
  }
  const save = (): void => {
    const portN = Number(port)
    client
      .call('pool.setSettings', {
        node: nodeFields(),
        network,
        payoutAddress: address.trim() ? address.trim() : null,
        coinbaseTag: tag,
        ...(Number.isInteger(portN) ? { port: portN } : {}),
      })
      .then(
        (r) => {
          setPassword('')
          setNote(r.restartRequired ? t('pools.saved.restart') : t('settings.saved'))
          onSaved(r.settings)
        },
        (e: unknown) => setNote(t('settings.failed', { message: errText(e) })),
      )
  }
  return (
    <form
      className="card form"
      onSubmit={(e) => {
        e.preventDefault()
        save()
      }}
    >
      <h2>{t('pools.local.setup')}</h2>
      <div className="field">
        <label htmlFor="node-url">{t('pools.node.url')}</label>
        <input id="node-url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="http://127.0.0.1:8332" />
      </div>
      <div className="field">
        <label htmlFor="node-user">{t('pools.node.user')}</label>
        <input id="node-user" value={user} onChange={(e) => setUser(e.target.value)} autoComplete="off" />
      </div>
      <div className="field">
        <label htmlFor="node-password">{t('pools.node.password')}</label>
        <input
          id="node-password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          placeholder={settings.node.hasPassword ? t('pools.node.passwordKept') : ''}
          autoComplete="new-password"
        />
      </div>
      <div className="field">
        <label htmlFor="node-cookie">{t('pools.node.cookie')}</label>
        <input id="node-cookie" value={cookieFile} onChange={(e) => setCookieFile(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="node-network">{t('pools.node.network')}</label>
        <select id="node-network" value={network} onChange={(e) => setNetwork(e.target.value as typeof network)}>
          {(['mainnet', 'testnet', 'testnet4', 'signet', 'regtest'] as const).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <button type="button" onClick={test}>
          {t('pools.node.test')}
        </button>
      </div>
      <p role="status" aria-live="polite" data-testid="node-test-result">
        {testNote}
      </p>
      <div className="field">
        <label htmlFor="payout">{t('pools.payout')}</label>
        <input id="payout" value={address} onChange={(e) => setAddress(e.target.value)} size={48} spellCheck={false} />
      </div>
      <div className="field">
        <label htmlFor="tag">{t('pools.tag')}</label>
        <input id="tag" value={tag} onChange={(e) => setTag(e.target.value)} maxLength={64} />
      </div>
      <div className="field">
        <label htmlFor="stratum-port">{t('pools.port')}</label>
        <input id="stratum-port" value={port} onChange={(e) => setPort(e.target.value)} inputMode="numeric" size={6} />
      </div>
      <button type="submit">{t('pools.save')}</button>
      <p role="status" aria-live="polite" data-testid="pool-save-result">
        {note}
      </p>
    </form>
  )
}

export function PoolsPage() {
  const t = useT()
  const status = usePool((s) => s.status)
  const workers = usePool((s) => s.workers)
  const [settings, setSettings] = useState<PoolSettings>()
  const [action, setAction] = useState('')
  useEffect(() => {
    startPoolData()
    client.call('pool.getSettings', {}).then(setSettings, (e: unknown) => setAction(errText(e)))
  }, [])
  const startStop = (): void => {
    const m = status?.running ? 'pool.stop' : 'pool.start'
    client.call(m, {}).then(
      () => setAction(''),
      (e: unknown) => setAction(errText(e)),
    )
  }
  return (
    <section aria-labelledby="pools-title" className="page">
      <h1 id="pools-title">{t('nav.pools')}</h1>
      <div className="cards">
        <section className="card" aria-labelledby="local-h" data-testid="local-pool">
          <h2 id="local-h">{t('pools.local')}</h2>
          <dl className="kv">
            <dt>{t('pools.state')}</dt>
            <dd data-testid="pool-running">{status?.running ? t('pools.running') : t('pools.stopped')}</dd>
            <dt>{t('pools.node')}</dt>
            <dd data-testid="node-state">{status ? status.node.message : '…'}</dd>
            <dt>{t('pools.height')}</dt>
            <dd>{status?.node.height ?? '—'}</dd>
            <dt>{t('pools.templateAge')}</dt>
            <dd>{status?.node.templateAgeS != null ? `${status.node.templateAgeS.toFixed(0)} ${t('unit.s')}` : '—'}</dd>
            <dt>{t('pools.listening')}</dt>
            <dd className="mono">
              {status?.ports.map((p) => `${p.protocol}://${p.host}:${p.port}`).join(', ') || '—'}
            </dd>
            <dt>{t('pools.miners')}</dt>
            <dd data-testid="pool-miners">{status?.miners.connections ?? 0}</dd>
            <dt>{t('pools.hashrate')}</dt>
            <dd>{status ? `${formatHashrate(status.hashrateHs.h10m)} (${t('pools.window10m')})` : '—'}</dd>
            <dt>{t('pools.shares')}</dt>
            <dd data-testid="pool-shares">
              {status
                ? t('pools.sharesValue', {
                    accepted: status.shares.accepted,
                    rejected: status.shares.rejected,
                    stale: status.shares.stale,
                  })
                : '—'}
            </dd>
            <dt>{t('pools.bestShare')}</dt>
            <dd>{status ? formatDifficulty(status.shares.bestShareDifficulty) : '—'}</dd>
            <dt>{t('pools.blocks')}</dt>
            <dd data-testid="pool-blocks">{status?.blocksFound ?? 0}</dd>
            {status?.tls.fingerprintSha256 ? (
              <>
                <dt>{t('pools.tlsFingerprint')}</dt>
                <dd className="mono">{status.tls.fingerprintSha256}</dd>
              </>
            ) : null}
          </dl>
          <button type="button" onClick={startStop} disabled={!status?.configured && !status?.running}>
            {status?.running ? t('pools.stop') : t('pools.start')}
          </button>
          {!status?.configured ? <p className="muted">{t('pools.notConfigured')}</p> : null}
          <p role="status" aria-live="polite">
            {action}
          </p>
        </section>
        {settings ? <NodeForm settings={settings} onSaved={setSettings} /> : null}
      </div>
      <section className="card wide" aria-labelledby="workers-h">
        <h2 id="workers-h">{t('pools.workers')}</h2>
        {workers.length === 0 ? (
          <p>{t('pools.workers.none')}</p>
        ) : (
          <table data-testid="pool-workers">
            <thead>
              <tr>
                <th scope="col">{t('pools.worker')}</th>
                <th scope="col">{t('pools.hashrate')}</th>
                <th scope="col">{t('pools.shares')}</th>
                <th scope="col">{t('pools.bestShare')}</th>
                <th scope="col">{t('pools.lastShare')}</th>
                <th scope="col">{t('pools.device')}</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => (
                <tr key={w.worker}>
                  <td>{w.worker}</td>
                  <td>{formatHashrate(w.hashrateHs.h10m)}</td>
                  <td>{t('pools.sharesValue', { accepted: w.accepted, rejected: w.rejected, stale: w.stale })}</td>
                  <td>{formatDifficulty(w.bestShareDifficulty)}</td>
                  <td>{w.lastShareTsMs ? new Date(w.lastShareTsMs).toLocaleTimeString() : '—'}</td>
                  <td>
                    {w.userAgent} · <span className="mono">{w.remoteAddress}</span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ProxySection />
    </section>
  )
}
