import { type Core, startCore } from '../entry'
import type { Logger } from '../logger'
import { memoryLogger } from '../logger'
import type { ServerTransport } from '../rpc/rpc-server'
import type { SecretCipher } from '../secrets/secret-store'
import { APP_VERSION } from '../version'
import type { CoreToMain, MainToCore, ParentPortLike } from './utility-protocol'

/**
 * Runs the core behind Electron's utility-process port. Each renderer connection gets its own
 * transport; secrets are encrypted by main with safeStorage (main-only API) on request.
 */
export async function runUtilityHost(port: ParentPortLike, logger: Logger = memoryLogger()): Promise<void> {
  const post = (m: CoreToMain): void => port.postMessage(m)
  const conns = new Map<number, { deliver(msg: unknown): void; closed(reason: string): void }>()
  const pending = new Map<number, (res: MainToCore) => void>()
  let nextReq = 1
  let core: Core | undefined

  const request = <T extends MainToCore>(m: (id: number) => CoreToMain): Promise<T> =>
    new Promise((resolve) => {
      const id = nextReq++
      pending.set(id, (r) => resolve(r as T))
      post(m(id))
    })

  const makeCipher = (backend: string): SecretCipher => ({
    scheme: 'electron-safestorage-v1',
    protection: backend === 'basic_text' ? 'file-0600' : 'os-keystore',
    ...(backend === 'basic_text'
      ? {
          warning:
            'No OS keyring was found (Linux without gnome-keyring or KWallet): passwords are only obfuscated, not encrypted.',
        }
      : {}),
    async encrypt(plaintext) {
      const r = await request<Extract<MainToCore, { k: 'cipher-res' }>>((id) => ({
        k: 'cipher-req',
        id,
        op: 'encrypt',
        data: plaintext,
      }))
      if (!r.ok) throw new Error(`encryption failed: ${r.error}`)
      return Buffer.from(r.data, 'base64')
    },
    async decrypt(blob) {
      const r = await request<Extract<MainToCore, { k: 'cipher-res' }>>((id) => ({
        k: 'cipher-req',
        id,
        op: 'decrypt',
        data: Buffer.from(blob).toString('base64'),
      }))
      if (!r.ok) throw new Error(`decryption failed: ${r.error}`)
      return r.data
    },
  })

  port.on('message', (e) => {
    const m = e.data as MainToCore
    switch (m.k) {
      case 'init':
        void (async () => {
          try {
            core = await startCore({
              dataDir: m.dataDir,
              host: 'desktop',
              logger,
              ...(m.cipher.available ? { cipher: makeCipher(m.cipher.backend) } : {}),
              openExternal: async (url) =>
                (await request<Extract<MainToCore, { k: 'external-res' }>>((id) => ({ k: 'external-req', id, url })))
                  .opened,
            })
            post({ k: 'ready', version: APP_VERSION })
          } catch (err) {
            post({ k: 'fatal', message: err instanceof Error ? err.message : String(err) })
          }
        })()
        return
      case 'open': {
        if (!core) return
        const msgCbs = new Set<(x: unknown) => void>()
        const closeCbs = new Set<(r: string) => void>()
        const t: ServerTransport = {
          send: (msg) => post({ k: 'msg', conn: m.conn, msg }),
          onMessage: (cb) => {
            msgCbs.add(cb)
            return () => msgCbs.delete(cb)
          },
          onClose: (cb) => {
            closeCbs.add(cb)
            return () => closeCbs.delete(cb)
          },
          close: () => conns.get(m.conn)?.closed('closed by core'),
        }
        conns.set(m.conn, {
          deliver: (msg) => {
            for (const cb of msgCbs) cb(msg)
          },
          closed: (reason) => {
            conns.delete(m.conn)
            for (const cb of closeCbs) cb(reason)
          },
        })
        core.rpc.attach(t, { transport: 'ipc' })
        return
      }
      case 'msg':
        conns.get(m.conn)?.deliver(m.msg)
        return
      case 'close':
        conns.get(m.conn)?.closed('window closed')
        return
      case 'cipher-res':
      case 'external-res': {
        const cb = pending.get(m.id)
        pending.delete(m.id)
        cb?.(m)
        return
      }
      case 'stop':
        void (core?.close('app quit') ?? Promise.resolve()).then(() => post({ k: 'stopped' }))
        return
    }
  })
}
