import { useEffect, useMemo, useState } from 'react'
import { formatDifficulty, startPoolData, usePool } from '../pool-store'
import { useT } from '../store'

export function SharesPage() {
  const t = useT()
  const shares = usePool((s) => s.shares)
  const [filter, setFilter] = useState('')
  const [result, setResult] = useState<'all' | 'accepted' | 'rejected'>('all')
  useEffect(() => startPoolData(), [])
  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase()
    return shares
      .filter((s) => (result === 'all' ? true : result === 'accepted' ? s.accepted : !s.accepted))
      .filter((s) => !q || s.worker.toLowerCase().includes(q) || s.remoteAddress.includes(q))
      .slice(-200)
      .reverse()
  }, [shares, filter, result])
  const lastBlock = shares.findLast((s) => s.isBlock)
  return (
    <section aria-labelledby="shares-title" className="page">
      <h1 id="shares-title">{t('nav.shares')}</h1>
      {lastBlock ? (
        <div className="banner block-found" role="status" data-testid="block-found">
          {t('shares.blockFound', { worker: lastBlock.worker, height: lastBlock.height })}
        </div>
      ) : null}
      <div className="toolbar">
        <label htmlFor="shares-filter">{t('fleet.filter')}</label>
        <input id="shares-filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <label htmlFor="shares-result">{t('shares.result')}</label>
        <select id="shares-result" value={result} onChange={(e) => setResult(e.target.value as typeof result)}>
          <option value="all">{t('fleet.state.all')}</option>
          <option value="accepted">{t('shares.accepted')}</option>
          <option value="rejected">{t('shares.rejected')}</option>
        </select>
      </div>
      {rows.length === 0 ? (
        <p className="card">{t('shares.none')}</p>
      ) : (
        <table className="card" data-testid="share-feed">
          <thead>
            <tr>
              <th scope="col">{t('system.events.time')}</th>
              <th scope="col">{t('pools.worker')}</th>
              <th scope="col">{t('shares.difficulty')}</th>
              <th scope="col">{t('shares.result')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr key={s.seq} className={s.accepted ? 'st-mining' : 'st-attention'}>
                <td className="mono">{new Date(s.tsMs).toLocaleTimeString()}</td>
                <td>{s.worker}</td>
                <td>
                  {formatDifficulty(s.shareDifficulty)} / {formatDifficulty(s.difficulty)}
                </td>
                <td>
                  {s.isBlock
                    ? t('shares.block')
                    : s.accepted
                      ? t('shares.accepted')
                      : (s.reason ?? t('shares.rejected'))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
