import { useCallback, useEffect, useState } from 'react'
import type { Device } from '../../../shared/contract/devices'
import { type ChartSeries, SeriesChart } from '../components/SeriesChart'
import { client, useT } from '../store'

const WINDOWS = { '1h': 3_600_000, '24h': 86_400_000, '30d': 30 * 86_400_000 } as const
type Window = keyof typeof WINDOWS

async function series(deviceId: string, metric: string, windowMs: number): Promise<ChartSeries['points']> {
  const now = Date.now()
  const r = await client.call('history.series', {
    entity: { kind: 'device', id: deviceId },
    metric,
    fromMs: now - windowMs,
    toMs: now,
    resolutionMs: Math.max(10_000, Math.round(windowMs / 300)),
  })
  return r.points.map((p) => [p.tsMs / 1000, p.value])
}

/** One device: identity, pools, actions and history charts over 1 h / 24 h / 30 d. */
export function DeviceDetail({ device, onClose }: { device: Device; onClose(): void }) {
  const t = useT()
  const [win, setWin] = useState<Window>('1h')
  type Points = ChartSeries['points']
  const [data, setData] = useState<{
    rep: Points
    shares: Points
    temp: Points
    fans: Points
    range: [number, number]
  }>()
  const [note, setNote] = useState('')
  const load = useCallback(async () => {
    const ms = WINDOWS[win]
    const [rep, shares, temp, fans] = await Promise.all([
      series(device.id, 'hashrate_reported_ths', ms),
      series(device.id, 'hashrate_shares_ths', ms),
      series(device.id, 'temp_max_c', ms),
      series(device.id, 'fan_rpm', ms),
    ])
    const nowS = Date.now() / 1000
    setData({ rep, shares, temp, fans, range: [nowS - ms / 1000, nowS] })
  }, [device.id, win])
  const charts = data
    ? {
        hashrate: [
          { label: t('device.chart.reported'), points: data.rep },
          { label: t('device.chart.fromShares'), points: data.shares },
        ],
        temp: [{ label: t('device.chart.tempMax'), points: data.temp }],
        fans: [{ label: t('device.chart.fanMin'), points: data.fans }],
      }
    : undefined
  useEffect(() => {
    load().catch((e: unknown) => setNote(e instanceof Error ? e.message : String(e)))
    const timer = setInterval(() => void load().catch(() => {}), 15_000)
    return () => clearInterval(timer)
  }, [load])
  const act = (m: 'devices.locate' | 'devices.reboot'): void => {
    const call =
      m === 'devices.locate' ? client.call(m, { id: device.id, on: true }) : client.call(m, { id: device.id })
    call.then(
      () => setNote(t(m === 'devices.locate' ? 'device.locating' : 'device.rebooting')),
      (e: unknown) => setNote(e instanceof Error ? e.message : String(e)),
    )
  }
  return (
    <section className="card wide device-detail" aria-labelledby="device-h" data-testid="device-detail">
      <h2 id="device-h">{device.name ?? device.hostname ?? device.ip ?? device.id}</h2>
      <p className="muted">{[device.model, device.firmware, device.ip, device.mac].filter(Boolean).join(' · ')}</p>
      <div className="toolbar">
        <button type="button" onClick={() => act('devices.locate')} disabled={device.capabilities?.locate === 'none'}>
          {t('device.locate')}
        </button>
        <button type="button" onClick={() => act('devices.reboot')} disabled={!device.capabilities?.reboot}>
          {t('device.reboot')}
        </button>
        <label htmlFor="device-window">{t('device.window')}</label>
        <select id="device-window" value={win} onChange={(e) => setWin(e.target.value as Window)}>
          {(Object.keys(WINDOWS) as Window[]).map((w) => (
            <option key={w} value={w}>
              {w}
            </option>
          ))}
        </select>
        <button type="button" onClick={onClose}>
          {t('device.close')}
        </button>
        <span role="status" aria-live="polite">
          {note}
        </span>
      </div>
      {device.status?.pools.length ? (
        <ul className="plain">
          {device.status.pools.map((p) => (
            <li key={p.index}>
              {p.active ? '▶ ' : ''}
              <span className="mono">{p.url}</span> · {p.user} · {p.state}
            </li>
          ))}
        </ul>
      ) : null}
      {charts ? (
        <div className="charts">
          <SeriesChart title={t('device.chart.hashrate')} unit="TH/s" series={charts.hashrate} xRange={data?.range} />
          <SeriesChart title={t('device.chart.temp')} unit="°C" series={charts.temp} xRange={data?.range} />
          <SeriesChart title={t('device.chart.fans')} unit="RPM" series={charts.fans} xRange={data?.range} />
        </div>
      ) : null}
    </section>
  )
}
