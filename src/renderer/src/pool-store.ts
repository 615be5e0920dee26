import { create } from 'zustand'
import type { PoolConnection, PoolStatus, PoolWorker, ShareFrame } from '../../shared/contract/pool'
import { client } from './store'

interface PoolState {
  status?: PoolStatus
  connections: PoolConnection[]
  workers: PoolWorker[]
  /** Newest last, bounded. */
  shares: ShareFrame[]
}

export const MAX_SHARES = 500
export const usePool = create<PoolState>(() => ({ connections: [], workers: [], shares: [] }))

let started = false
export function startPoolData(): void {
  if (started) return
  started = true
  client.listen(
    'pool.stream',
    {},
    { frame: (f) => usePool.setState({ status: f.status, connections: f.connections, workers: f.workers }) },
  )
  let lastSeq = 0
  client.listen(
    'poolShares.stream',
    {},
    {
      frame: (s) => {
        if (s.seq <= lastSeq) return
        lastSeq = s.seq
        usePool.setState((st) => ({ shares: [...st.shares.slice(-(MAX_SHARES - 1)), s] }))
      },
      resync: () => {
        lastSeq = 0
      },
    },
  )
}

/** Hashes per second in the largest unit that keeps the number readable. */
export function formatHashrate(hs: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s']
  let v = hs
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`
}

export function formatDifficulty(d: number): string {
  if (d >= 1e12) return `${(d / 1e12).toFixed(2)} T`
  if (d >= 1e9) return `${(d / 1e9).toFixed(2)} G`
  if (d >= 1e6) return `${(d / 1e6).toFixed(2)} M`
  if (d >= 1e3) return `${(d / 1e3).toFixed(2)} k`
  return d >= 1 ? d.toFixed(0) : d.toPrecision(3)
}
