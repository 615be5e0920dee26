import { BRIDGE_KEY, type HashyardBridge } from '../../shared/bridge'
import type { Transport } from '../../shared/protocol'

declare global {
  interface Window {
    /** Present only inside the desktop app (exposed by the preload). */
    hashyardBridge?: HashyardBridge
  }
}

/** Electron: the preload's fixed-channel pipe. */
function bridgeTransport(bridge: HashyardBridge): Transport {
  const closeCbs = new Set<(r: string) => void>()
  return {
    send: (m) => bridge.send(m),
    onMessage: (cb) => bridge.onMessage(cb),
    onClose: (cb) => {
      closeCbs.add(cb)
      return () => closeCbs.delete(cb)
    },
    close: () => {
      for (const cb of closeCbs) cb('closed')
    },
  }
}

/**
 * Browser: a WebSocket to the headless server that reconnects with backoff. Each drop is reported
 * as a close (pending calls fail with CORE_DOWN); the server's next `hello` brings the client back up.
 */
function webSocketTransport(url: string): Transport {
  const msgCbs = new Set<(m: unknown) => void>()
  const closeCbs = new Set<(r: string) => void>()
  let ws: WebSocket | undefined
  let outbox: string[] = []
  let stopped = false
  let attempt = 0
  const connect = (): void => {
    const s = new WebSocket(url)
    ws = s
    s.onopen = () => {
      attempt = 0
      for (const m of outbox) s.send(m)
      outbox = []
    }
    s.onmessage = (ev) => {
      let v: unknown
      try {
        v = JSON.parse(String(ev.data))
      } catch {
        return
      }
      for (const cb of msgCbs) cb(v)
    }
    s.onclose = (ev) => {
      ws = undefined
      for (const cb of closeCbs)
        cb(ev.code === 1001 ? 'the server is shutting down' : 'the connection to Hashyard was lost')
      if (stopped) return
      const delay = Math.min(10_000, 500 * 2 ** attempt++)
      setTimeout(connect, delay)
    }
  }
  connect()
  return {
    send: (m) => {
      const data = JSON.stringify(m)
      if (ws?.readyState === WebSocket.OPEN) ws.send(data)
      else if (outbox.length < 1000) outbox.push(data)
    },
    onMessage: (cb) => {
      msgCbs.add(cb)
      return () => msgCbs.delete(cb)
    },
    onClose: (cb) => {
      closeCbs.add(cb)
      return () => closeCbs.delete(cb)
    },
    close: () => {
      stopped = true
      ws?.close()
    },
  }
}

/** Picks the host once at start-up: IPC inside Electron, WebSocket in a browser. */
export function createTransport(): { transport: Transport; host: 'desktop' | 'browser' } {
  const bridge = window[BRIDGE_KEY as 'hashyardBridge']
  if (bridge) return { transport: bridgeTransport(bridge), host: 'desktop' }
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return { transport: webSocketTransport(`${proto}//${location.host}/rpc`), host: 'browser' }
}
