import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import { runUtilityHost } from '../../src/core/host/utility-host'
import type { CoreToMain } from '../../src/core/host/utility-protocol'
import { memoryLogger } from '../../src/core/logger'
import { appUrlToFile } from '../../src/main/app-protocol-path'
import { IpcRelay, type SenderLike } from '../../src/main/ipc-relay'
import { RestartPolicy } from '../../src/main/restart-policy'
import { isSafeExternalUrl, isTrustedUrl } from '../../src/main/trusted-url'
import { ClientMsg } from '../../src/shared/protocol'
import { tempDir } from '../support/temp-dir'

// The Electron edge's logic lives in pure modules so it runs here without the Electron binary.

describe('isTrustedUrl', () => {
  it.each(['app://hashyard/', 'app://hashyard/index.html#/system'])('trusts %s', (u) =>
    expect(isTrustedUrl(u)).toBe(true),
  )
  it.each([
    'https://evil.example/?next=app://hashyard',
    'app://hashyard.evil/',
    'app://user@hashyard/',
    'app://evil/',
    'file:///tmp/index.html',
    'http://localhost.evil.example:5173/',
    'invalid',
    '',
  ])('does not trust %s', (u) => expect(isTrustedUrl(u)).toBe(false))
  it('trusts the dev server only by exact origin', () => {
    expect(isTrustedUrl('http://localhost:5173/x', 'http://localhost:5173')).toBe(true)
    expect(isTrustedUrl('http://localhost:5174/x', 'http://localhost:5173')).toBe(false)
  })
})

describe('isSafeExternalUrl', () => {
  it.each(['https://hashyard.invalid/docs', 'http://192.168.1.50/'])('allows %s', (u) =>
    expect(isSafeExternalUrl(u)).toBe(true),
  )
  it.each([
    'file:///etc/passwd',
    'javascript:alert(1)',
    'smb://host/share',
    'https://user:pw@x.example',
    42,
    'x'.repeat(3000),
  ])('refuses %s', (u) => expect(isSafeExternalUrl(u)).toBe(false))
})

describe('appUrlToFile', () => {
  it('maps app:// paths under the renderer folder', () => {
    expect(appUrlToFile('/r', 'app://hashyard/')).toBe('/r/index.html')
    expect(appUrlToFile('/r', 'app://hashyard/assets/a.js')).toBe('/r/assets/a.js')
  })
  it('normalises dot segments and stays under the root', () => {
    expect(appUrlToFile('/r', 'app://hashyard/%2e%2e/%2e%2e/secret')).toBe('/r/secret')
  })
  it.each(['app://hashyard/..%2f..%2fetc/passwd', 'app://other/x', 'https://hashyard/x', 'app://hashyard/a%00'])(
    'refuses %s',
    (u) => expect(appUrlToFile('/r', u)).toBeUndefined(),
  )
})

function sender(over: Partial<SenderLike> = {}): SenderLike & { sent: unknown[] } {
  const sent: unknown[] = []
  return {
    id: 1,
    mainFrameUrl: 'app://hashyard/',
    isMainFrame: true,
    isOurWindow: true,
    send: (_c, m) => sent.push(m),
    isDestroyed: () => false,
    sent,
    ...over,
  }
}

describe('IpcRelay', () => {
  const make = () => {
    const calls: string[] = []
    const rejected: string[] = []
    const relay = new IpcRelay(
      'ch',
      {
        open: (c) => calls.push(`open ${c}`),
        message: (c) => calls.push(`msg ${c}`),
        close: (c) => calls.push(`close ${c}`),
      },
      (u) => isTrustedUrl(u),
      (r) => rejected.push(r),
      (m) => ClientMsg.safeParse(m).success,
    )
    return { relay, calls, rejected }
  }
  it('relays messages from our window and opens a connection once', () => {
    const { relay, calls } = make()
    const s = sender()
    relay.fromRenderer(s, { t: 'call', id: 1, m: 'system.ping', p: {} })
    relay.fromRenderer(s, { t: 'sub', id: 2, topic: 'system.stream', p: {} })
    expect(calls).toEqual(['open 1', 'msg 1', 'msg 1'])
    relay.fromCore(1, { t: 'ok' })
    expect(s.sent).toEqual([{ t: 'ok' }])
  })
  it.each([
    ['a sub-frame', { isMainFrame: false }],
    ['a foreign window', { isOurWindow: false }],
    ['a navigated page', { mainFrameUrl: 'https://evil.example/' }],
    ['a destroyed frame', { mainFrameUrl: undefined }],
  ])('drops IPC from %s', (_n, over) => {
    const { relay, calls, rejected } = make()
    relay.fromRenderer(sender(over), { t: 'call', id: 1, m: 'system.ping', p: {} })
    expect(calls).toEqual([])
    expect(rejected).toHaveLength(1)
  })
  it('drops a message that is not a protocol envelope', () => {
    const { relay, calls, rejected } = make()
    relay.fromRenderer(sender(), { t: 'exec', cmd: 'rm -rf /' })
    relay.fromRenderer(sender(), 'hello')
    expect(calls).toEqual([])
    expect(rejected).toHaveLength(2)
  })

  it('re-adopts windows after a core restart so the core says hello first', () => {
    const { relay, calls } = make()
    const s = sender()
    relay.fromRenderer(s, { t: 'unsub', id: 1 })
    relay.coreDown('crashed')
    relay.adopt(s)
    relay.adopt(s)
    relay.adopt(sender({ id: 2, mainFrameUrl: 'https://evil.example/' }))
    expect(calls).toEqual(['open 1', 'msg 1', 'open 1'])
  })

  it('tells windows when the core is down', () => {
    const { relay } = make()
    const s = sender()
    relay.fromRenderer(s, { t: 'unsub', id: 1 })
    relay.coreDown('crashed')
    expect(s.sent).toEqual([{ t: 'down', reason: 'crashed' }])
    expect(relay.connectionIds).toEqual([])
  })
})

describe('RestartPolicy', () => {
  it('backs off exponentially up to a cap and resets after a good start', () => {
    const p = new RestartPolicy(500, 4000)
    expect([p.nextDelayMs(), p.nextDelayMs(), p.nextDelayMs(), p.nextDelayMs(), p.nextDelayMs()]).toEqual([
      500, 1000, 2000, 4000, 4000,
    ])
    p.succeeded()
    expect(p.nextDelayMs()).toBe(500)
  })
})

describe('the core behind a utility-process port', () => {
  it('boots, serves a renderer connection, and asks main to encrypt secrets', async () => {
    const t = tempDir()
    const port = new EventEmitter() as EventEmitter & { postMessage(m: unknown): void }
    const fromCore: CoreToMain[] = []
    const send = (data: unknown): void => {
      port.emit('message', { data })
    }
    port.postMessage = (m) => {
      const msg = m as CoreToMain
      fromCore.push(msg)
      // Play main: "encrypt" by reversing, as safeStorage would transform the bytes.
      if (msg.k === 'cipher-req') {
        const data =
          msg.op === 'encrypt'
            ? Buffer.from([...msg.data].reverse().join('')).toString('base64')
            : [...Buffer.from(msg.data, 'base64').toString()].reverse().join('')
        setImmediate(() => send({ k: 'cipher-res', id: msg.id, ok: true, data }))
      }
    }
    await runUtilityHost(port, memoryLogger())
    send({ k: 'init', dataDir: t.dir, cipher: { available: true, backend: 'gnome_libsecret' } })
    const waitFor = async (pred: (m: CoreToMain) => boolean): Promise<CoreToMain> => {
      for (let i = 0; i < 500; i++) {
        const m = fromCore.find(pred)
        if (m) return m
        await new Promise((r) => setTimeout(r, 10))
      }
      throw new Error(`timeout; core said: ${JSON.stringify(fromCore).slice(0, 600)}`)
    }
    await waitFor((m) => m.k === 'ready')
    send({ k: 'open', conn: 7 })
    send({ k: 'msg', conn: 7, msg: { t: 'call', id: 1, m: 'system.status', p: {} } })
    const reply = await waitFor((m) => m.k === 'msg' && (m.msg as { t: string }).t === 'ok')
    expect(reply).toMatchObject({ conn: 7, msg: { v: { host: 'desktop', secrets: { protection: 'os-keystore' } } } })
    send({ k: 'stop' })
    await waitFor((m) => m.k === 'stopped')
    t.cleanup()
  })
})
