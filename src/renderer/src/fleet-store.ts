import { create } from 'zustand'
import type { Device } from '../../shared/contract/devices'
import { client } from './store'

interface FleetState {
  devices: Device[]
  loaded: boolean
  scanning: boolean
  scanNote: string
}

export const useFleet = create<FleetState>(() => ({ devices: [], loaded: false, scanning: false, scanNote: '' }))

let started = false
/** The device table arrives coalesced on devices.stream (one frame per 250 ms at most). */
export function startFleetData(): void {
  if (started) return
  started = true
  client.listen('devices.stream', {}, { frame: (f) => useFleet.setState({ devices: f.devices, loaded: true }) })
}

export type DeviceState = 'mining' | 'offline' | 'attention' | 'unknown'

/** The plain-words status of the Fleet table, derived in one place. */
export function deviceState(d: Device): { state: DeviceState; why?: string } {
  if (d.online === false) return { state: 'offline' }
  if (d.online === null || !d.status) return { state: 'unknown' }
  if (d.lastError) return { state: 'attention', why: d.lastError }
  if (d.status.errors.length > 0) return { state: 'attention', why: d.status.errors[0] }
  if ((d.status.hashrateThs ?? 0) <= 0) return { state: 'attention', why: 'no hashrate' }
  return { state: 'mining' }
}

export function maxTempC(d: Device): number | null {
  const temps = (d.status?.boards ?? [])
    .flatMap((b) => [b.chipTempC, b.boardTempC])
    .filter((t): t is number => t !== null)
  return temps.length ? Math.max(...temps) : null
}
