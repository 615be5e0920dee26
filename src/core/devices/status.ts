/** Helpers every driver uses to assemble a `DeviceStatus`. */
import type { DeviceStatus, HashrateReading, HashrateWindow } from './types'

const WINDOW_ORDER: readonly HashrateWindow[] = [
  'now',
  '5s',
  '15s',
  '30s',
  '1m',
  '5m',
  '10m',
  '15m',
  '30m',
  '1h',
  '24h',
  'avg',
]

export function emptyStatus(tsMs: number): DeviceStatus {
  return {
    tsMs,
    hashrates: [],
    hashrateThs: null,
    expectedHashrateThs: null,
    boards: [],
    fansRpm: [],
    powerW: null,
    uptimeS: null,
    pools: [],
    accepted: null,
    rejected: null,
    errors: [],
    warnings: [],
  }
}

/** Sorts readings by window (shortest first) and keeps the first reading per window. */
export function normaliseReadings(readings: readonly HashrateReading[]): HashrateReading[] {
  const byWindow = new Map<HashrateWindow, HashrateReading>()
  for (const r of readings) if (!byWindow.has(r.window)) byWindow.set(r.window, r)
  return WINDOW_ORDER.flatMap((w) => {
    const r = byWindow.get(w)
    return r ? [r] : []
  })
}

/** "Hashrate now" is the shortest window the firmware reports. */
export function currentThs(readings: readonly HashrateReading[]): number | null {
  return normaliseReadings(readings)[0]?.ths ?? null
}

/** Maps the window labels firmware use in key names (`5s`, `1m`, `av`, `avg`, `30m`) to ours. */
export function windowOf(label: string): HashrateWindow | undefined {
  const t = label.trim().toLowerCase()
  if (t === 'av' || t === 'avg' || t === 'average') return 'avg'
  return WINDOW_ORDER.find((w) => w === t)
}
