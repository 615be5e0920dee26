import { useVirtualizer } from '@tanstack/react-virtual'
import { useEffect, useMemo, useRef, useState } from 'react'
import type { Device } from '../../../shared/contract/devices'
import { deviceState, maxTempC, startFleetData, useFleet } from '../fleet-store'
import type { MessageKey } from '../i18n'
import { formatDifficulty } from '../pool-store'
import { client, useT } from '../store'
import { DeviceDetail } from './DeviceDetail'

type SortKey = 'name' | 'state' | 'model' | 'ip' | 'hashrate' | 'temp' | 'uptime'
const ROW_PX = 36

const displayName = (d: Device): string => d.name ?? d.hostname ?? d.ip ?? d.id

function sortValue(d: Device, k: SortKey): string | number {
  switch (k) {
    case 'name':
      return displayName(d).toLowerCase()
    case 'state':
      return deviceState(d).state
    case 'model':
      return `${d.model ?? ''}`.toLowerCase()
    case 'ip':
      return (d.ip ?? '')
        .split('.')
        .map((p) => p.padStart(3, '0'))
        .join('.')
    case 'hashrate':
      return d.status?.hashrateThs ?? -1
    case 'temp':
      return maxTempC(d) ?? -1
    case 'uptime':
      return d.status?.uptimeS ?? -1
  }
}

function formatUptime(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—'
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  return d > 0 ? `${d}d ${h}h` : `${h}h ${Math.floor((s % 3600) / 60)}m`
}

function ScanForm() {
  const t = useT()
  const [ranges, setRanges] = useState('')
  const [note, setNote] = useState('')
  const start = (): void => {
    setNote(t('fleet.scan.running'))
    client.call('scan.start', ranges.trim() ? { ranges } : {}).then(
      () => setNote(t('fleet.scan.started')),
      (e: unknown) => setNote(t('fleet.scan.failed', { message: e instanceof Error ? e.message : String(e) })),
    )
  }
  return (
    <form
      className="scan"
      onSubmit={(e) => {
        e.preventDefault()
        start()
      }}
    >
      <label htmlFor="scan-ranges">{t('fleet.scan.label')}</label>
      <input
        id="scan-ranges"
        value={ranges}
        placeholder="192.168.1.0/24, 10.0.1-3.*"
        onChange={(e) => setRanges(e.target.value)}
        size={36}
      />
      <button type="submit">{t('fleet.scan.button')}</button>
      <span role="status" aria-live="polite">
        {note}
      </span>
    </form>
  )
}

export function FleetPage() {
  const t = useT()
  const devices = useFleet((s) => s.devices)
  const loaded = useFleet((s) => s.loaded)
  const [filter, setFilter] = useState('')
  const [stateFilter, setStateFilter] = useState<'all' | ReturnType<typeof deviceState>['state']>('all')
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'name', dir: 1 })
  const [selected, setSelected] = useState<string | null>(null)
  const selectedDevice = devices.find((d) => d.id === selected)
  useEffect(() => startFleetData(), [])

  const rows = useMemo(() => {
    const q = filter.trim().toLowerCase()
    const out = devices.filter((d) => {
      if (stateFilter !== 'all' && deviceState(d).state !== stateFilter) return false
      if (!q) return true
      return [
        displayName(d),
        d.model,
        d.firmware,
        d.ip,
        d.hostname,
        d.worker,
        ...d.tags,
        d.status?.pools.find((p) => p.active)?.url,
      ]
        .filter(Boolean)
        .some((v) => String(v).toLowerCase().includes(q))
    })
    return out.sort((a, b) => {
      const x = sortValue(a, sort.key)
      const y = sortValue(b, sort.key)
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir
    })
  }, [devices, filter, stateFilter, sort])

  const scrollRef = useRef<HTMLElement>(null)
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_PX,
    overscan: 10,
  })

  const header = (key: SortKey, label: MessageKey) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button
        type="button"
        className="sort"
        onClick={() => setSort((s) => ({ key, dir: s.key === key ? (-s.dir as 1 | -1) : 1 }))}
      >
        {t(label)}
      </button>
    </th>
  )

  return (
    <section aria-labelledby="fleet-title" className="page">
      <h1 id="fleet-title">{t('nav.fleet')}</h1>
      <ScanForm />
      <div className="toolbar">
        <label htmlFor="fleet-filter">{t('fleet.filter')}</label>
        <input id="fleet-filter" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <label htmlFor="fleet-state">{t('fleet.state')}</label>
        <select
          id="fleet-state"
          value={stateFilter}
          onChange={(e) => setStateFilter(e.target.value as typeof stateFilter)}
        >
          <option value="all">{t('fleet.state.all')}</option>
          <option value="mining">{t('fleet.state.mining')}</option>
          <option value="attention">{t('fleet.state.attention')}</option>
          <option value="offline">{t('fleet.state.offline')}</option>
          <option value="unknown">{t('fleet.state.unknown')}</option>
        </select>
        <span data-testid="fleet-count">{t('fleet.count', { shown: rows.length, total: devices.length })}</span>
      </div>
      {loaded && devices.length === 0 ? <p className="card">{t('fleet.empty')}</p> : null}
      <section className="fleet-scroll" ref={scrollRef} data-testid="fleet-table" aria-label={t('nav.fleet')}>
        <table className="fleet">
          <thead>
            <tr>
              {header('name', 'fleet.col.name')}
              {header('state', 'fleet.col.status')}
              {header('model', 'fleet.col.model')}
              {header('ip', 'fleet.col.ip')}
              {header('hashrate', 'fleet.col.hashrate')}
              {header('temp', 'fleet.col.temp')}
              <th scope="col">{t('fleet.col.fans')}</th>
              <th scope="col">{t('fleet.col.pool')}</th>
              <th scope="col">{t('fleet.col.shares')}</th>
              {header('uptime', 'fleet.col.uptime')}
            </tr>
          </thead>
          <tbody style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {virtual.getVirtualItems().map((v) => {
              const d = rows[v.index]
              if (!d) return null
              const st = deviceState(d)
              const pool = d.status?.pools.find((p) => p.active)
              const temp = maxTempC(d)
              const acc = d.status?.accepted ?? null
              const rej = d.status?.rejected ?? null
              return (
                <tr
                  key={d.id}
                  className="vrow"
                  style={{ transform: `translateY(${v.start}px)`, height: ROW_PX }}
                  data-testid="fleet-row"
                >
                  <td className="name">
                    <button type="button" className="link" onClick={() => setSelected(d.id)}>
                      {displayName(d)}
                    </button>
                  </td>
                  <td className={`st-${st.state}`}>
                    {st.state === 'offline' && d.offlineSinceMs
                      ? t('fleet.status.offlineSince', { time: new Date(d.offlineSinceMs).toLocaleString() })
                      : t(`fleet.status.${st.state}`)}
                    {st.why ? <span className="why"> — {st.why}</span> : null}
                    {d.firstShare ? (
                      <span className="why">
                        {' '}
                        · {t('fleet.firstShare', { difficulty: formatDifficulty(d.firstShare.difficulty) })}
                      </span>
                    ) : null}
                  </td>
                  <td>
                    {d.model ?? '—'}
                    {d.firmware ? <span className="muted"> {d.firmware}</span> : null}
                  </td>
                  <td className="mono">{d.ip ?? '—'}</td>
                  <td>{d.status?.hashrateThs != null ? `${d.status.hashrateThs.toFixed(2)} TH/s` : '—'}</td>
                  <td>{temp !== null ? `${temp.toFixed(0)} °C` : '—'}</td>
                  <td>{d.status?.fansRpm.length ? `${Math.max(...d.status.fansRpm)} rpm` : '—'}</td>
                  <td className="pool">{pool ? `${pool.url} · ${pool.user}` : '—'}</td>
                  <td>
                    {acc !== null
                      ? `${acc} / ${rej !== null && acc + rej > 0 ? ((100 * rej) / (acc + rej)).toFixed(1) : '0.0'}%`
                      : '—'}
                  </td>
                  <td>{formatUptime(d.status?.uptimeS)}</td>
                </tr>
              )
            })}
          </tbody>
        </table>
      </section>
      {selectedDevice ? <DeviceDetail device={selectedDevice} onClose={() => setSelected(null)} /> : null}
    </section>
  )
}
