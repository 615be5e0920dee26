import { create } from 'zustand'
import type { AppEvent, SystemSample, SystemStatus } from '../../shared/domain/system'
import { type ConnectionState, RpcClient } from '../../shared/rpc-client'
import { type Language, type MessageKey, translate } from './i18n'
import { createTransport } from './transport'

export type Theme = 'light' | 'dark' | 'system'
export type Route = 'system' | 'fleet' | 'usb' | 'pools' | 'shares' | 'alerts' | 'settings'
export const ROUTES: Route[] = ['system', 'fleet', 'usb', 'pools', 'shares', 'alerts', 'settings']

interface AppState {
  connection: ConnectionState
  route: Route
  theme: Theme
  language: Language
  status?: SystemStatus
  sample?: SystemSample
  /** Newest last; bounded so a long session does not grow memory. */
  events: AppEvent[]
}

const { transport } = createTransport()
export const client = new RpcClient(transport)

const routeFromHash = (): Route => {
  const h = location.hash.replace(/^#\/?/, '') as Route
  return ROUTES.includes(h) ? h : 'system'
}

export const useApp = create<AppState>(() => ({
  connection: client.state,
  route: routeFromHash(),
  theme: 'system',
  language: 'en',
  events: [],
}))

export const MAX_EVENTS = 200

export function navigate(route: Route): void {
  if (location.hash !== `#/${route}`) location.hash = `#/${route}`
  useApp.setState({ route })
}
window.addEventListener('hashchange', () => useApp.setState({ route: routeFromHash() }))

/** `t` bound to the current language; components re-render when it changes. */
export function useT(): (key: MessageKey, vars?: Record<string, string | number>) => string {
  const lang = useApp((s) => s.language)
  return (key, vars) => translate(lang, key, vars)
}

async function loadInitial(): Promise<void> {
  const [status, settings, events] = await Promise.all([
    client.call('system.status', {}),
    client.call('settings.get', {}),
    client.call('events.list', { limit: 50, sinceSeq: 0 }),
  ])
  useApp.setState({
    status,
    theme: (settings['ui.theme'] as Theme | undefined) ?? 'system',
    language: (settings['ui.language'] as Language | undefined) ?? 'en',
    events: events.events.slice(-MAX_EVENTS),
  })
}

async function refreshEvents(): Promise<void> {
  const r = await client.call('events.list', { limit: MAX_EVENTS })
  useApp.setState({ events: r.events.slice(-MAX_EVENTS) })
}

let started = false
/** Wires the live topics once; they survive reconnects (the client resubscribes). */
export function startLiveData(): void {
  if (started) return
  started = true
  client.onState((connection) => {
    useApp.setState({ connection })
    if (connection.status === 'up') void loadInitial().catch(() => {})
  })
  client.listen('system.stream', {}, { frame: (sample) => useApp.setState({ sample }) })
  let lastSeq = 0
  client.listen(
    'events.stream',
    {},
    {
      frame: (e) => {
        if (e.seq <= lastSeq) return
        lastSeq = e.seq
        useApp.setState((s) => ({ events: [...s.events.slice(-(MAX_EVENTS - 1)), e] }))
      },
      resync: () => void refreshEvents().catch(() => {}),
    },
  )
  if (client.state.status === 'up') void loadInitial().catch(() => {})
  // Status (ports, uptime) changes rarely; refresh it every few seconds while connected.
  setInterval(() => {
    if (client.state.status === 'up')
      void client
        .call('system.status', {})
        .then((status) => useApp.setState({ status }))
        .catch(() => {})
  }, 5000)
}

export async function saveSetting(key: 'ui.theme' | 'ui.language', value: string): Promise<void> {
  if (key === 'ui.theme') useApp.setState({ theme: value as Theme })
  else useApp.setState({ language: value as Language })
  await client.call('settings.set', { key, value })
}
