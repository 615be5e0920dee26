import type { HistoryStore } from '../history/history-store'
import { cleanName, formatDuration, formatPct, formatThs } from '../rules/text'
import type { ChannelMessage } from './types'

/** The figures of a daily summary (issue 7 §6). */
export interface DailySummary {
  fromMs: number
  toMs: number
  /** Mean of the farm's total device-reported hashrate over the period. */
  hashrateAvgThs: number | null
  devicesTotal: number
  devicesOnline: number
  /** Mean reachability of all devices over the period, 0–100. */
  uptimePct: number | null
  sharesAccepted: number
  sharesRejected: number
  sharesStale: number
  bestShareDifficulty: number | null
  blocksFound: number
  /** Devices needing attention: a name and a reason in plain words. */
  attention: Array<{ name: string; reason: string }>
}

/** 1234 → `1.23 k`, 5.6e9 → `5.60 G`: how difficulty is usually shown. */
export function formatDifficulty(d: number): string {
  const units = ['', ' k', ' M', ' G', ' T', ' P', ' E']
  let v = d
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return i === 0 ? String(Math.round(v)) : `${v.toFixed(2)}${units[i]}`
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US')

/** Builds the plain-text summary message every channel can send. */
export function buildDailySummary(s: DailySummary): ChannelMessage {
  const day = new Date(s.toMs).toISOString().slice(0, 10)
  const total = s.sharesAccepted + s.sharesRejected + s.sharesStale
  const pct = (n: number) => (total > 0 ? ` (${formatPct((n / total) * 100)})` : '')
  const lines = [
    `Hashrate: ${s.hashrateAvgThs === null ? 'no data' : `${formatThs(s.hashrateAvgThs)} average`}`,
    `Devices: ${s.devicesOnline} of ${s.devicesTotal} online${s.uptimePct === null ? '' : `, uptime ${formatPct(s.uptimePct)}`}`,
    `Shares: ${grouped(s.sharesAccepted)} accepted, ${grouped(s.sharesRejected)} rejected${pct(s.sharesRejected)}, ${grouped(s.sharesStale)} stale${pct(s.sharesStale)}`,
    `Best share: ${s.bestShareDifficulty === null ? 'none' : formatDifficulty(s.bestShareDifficulty)}`,
    `Blocks found: ${s.blocksFound}`,
  ]
  if (s.attention.length === 0) lines.push('All devices look healthy.')
  else {
    lines.push('Needs attention:')
    for (const a of s.attention.slice(0, 20)) lines.push(`- ${cleanName(a.name, '?')}: ${cleanName(a.reason, '?')}`)
    if (s.attention.length > 20) lines.push(`- and ${s.attention.length - 20} more (see Hashyard)`)
  }
  return {
    kind: 'summary',
    title: `Hashyard daily summary, ${day} (${formatDuration(s.toMs - s.fromMs)})`,
    text: lines.join('\n'),
    severity: s.attention.length > 0 ? 'warning' : 'info',
    tsMs: s.toMs,
    summary: s,
  }
}

/**
 * Fills the history-derived figures of a summary: total hashrate (sum of each device's mean),
 * uptime (mean of `reachable`), and share counts, over [fromMs, toMs). The caller adds what the
 * pool knows (best share, blocks) and the alert engine's list of devices needing attention.
 */
export function summaryFromHistory(
  history: HistoryStore,
  deviceIds: readonly string[],
  fromMs: number,
  toMs: number,
): Pick<DailySummary, 'hashrateAvgThs' | 'uptimePct' | 'sharesAccepted' | 'sharesRejected' | 'sharesStale'> {
  const span = toMs - fromMs
  let hashrate: number | null = null
  let upSum = 0
  let upCount = 0
  const shares = { accepted: 0, rejected: 0, stale: 0 }
  const one = (id: string, metric: string) => {
    const r = history.series({ kind: 'device', id }, metric, fromMs, toMs, span)
    return r.ok ? r.value.points : []
  }
  for (const id of deviceIds) {
    const hr = one(id, 'hashrate_reported_ths')
    if (hr.length > 0) {
      const n = hr.reduce((a, p) => a + p.count, 0)
      hashrate = (hashrate ?? 0) + hr.reduce((a, p) => a + p.sum, 0) / n
    }
    for (const p of one(id, 'reachable')) {
      upSum += p.sum
      upCount += p.count
    }
    for (const p of one(id, 'shares_accepted')) shares.accepted += p.sum
    for (const p of one(id, 'shares_stale')) shares.stale += p.sum
    for (const s of history.listSeries({ kind: 'device', id })) {
      if (s.metric.startsWith('shares_rejected')) for (const p of one(id, s.metric)) shares.rejected += p.sum
    }
  }
  return {
    hashrateAvgThs: hashrate,
    uptimePct: upCount > 0 ? (upSum / upCount) * 100 : null,
    sharesAccepted: shares.accepted,
    sharesRejected: shares.rejected,
    sharesStale: shares.stale,
  }
}

/** The next time (local clock) at `hour:minute` strictly after `nowMs`: when the summary is due. */
export function nextDailyRunMs(nowMs: number, at: { hour: number; minute: number }): number {
  const d = new Date(nowMs)
  d.setHours(at.hour, at.minute, 0, 0)
  if (d.getTime() <= nowMs) d.setDate(d.getDate() + 1)
  return d.getTime()
}
