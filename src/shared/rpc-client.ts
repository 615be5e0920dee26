import type { MethodInput, MethodName, MethodOutput, TopicFrame, TopicName, TopicParams } from './contract'
import { type AppError, AppFailure } from './errors'
import { PROTOCOL_VERSION, type ServerMsg, type Transport } from './protocol'

export interface ListenHandlers<F> {
  frame(frame: F): void
  /** Frames were lost (ordered topics): the client resubscribes by itself; refetch any derived state. */
  resync?(reason: string): void
}

export type ConnectionState =
  | { status: 'connecting' }
  | { status: 'up'; server: string }
  | { status: 'down'; reason: string }

/**
 * The client half of the protocol: `call` and `listen`, the only two verbs (VS Code IPC style).
 * When the core reports it is down, every pending and future call is rejected with CORE_DOWN
 * (Actual Budget's pattern) instead of hanging, and the UI can say so.
 */
export class RpcClient {
  #nextId = 1
  #pending = new Map<number, { resolve(v: unknown): void; reject(e: AppFailure): void }>()
  #subs = new Map<number, { topic: string; params: unknown; lastSeq: number; h: ListenHandlers<unknown> }>()
  #state: ConnectionState = { status: 'connecting' }
  #stateListeners = new Set<(s: ConnectionState) => void>()
  #offs: Array<() => void>

  constructor(private readonly transport: Transport) {
    this.#offs = [
      transport.onMessage((m) => this.#onMessage(m as ServerMsg)),
      transport.onClose((reason) => this.#setDown(reason)),
    ]
  }

  get state(): ConnectionState {
    return this.#state
  }

  onState(cb: (s: ConnectionState) => void): () => void {
    this.#stateListeners.add(cb)
    return () => this.#stateListeners.delete(cb)
  }

  call<M extends MethodName>(m: M, p: MethodInput<M>): Promise<MethodOutput<M>> {
    if (this.#state.status === 'down') {
      return Promise.reject(new AppFailure('CORE_DOWN', `Hashyard's core is not running: ${this.#state.reason}`))
    }
    const id = this.#nextId++
    return new Promise<MethodOutput<M>>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.transport.send({ t: 'call', id, m, p })
    })
  }

  listen<T extends TopicName>(topic: T, params: TopicParams<T>, h: ListenHandlers<TopicFrame<T>>): () => void {
    const id = this.#nextId++
    this.#subs.set(id, { topic, params, lastSeq: 0, h: h as ListenHandlers<unknown> })
    this.transport.send({ t: 'sub', id, topic, p: params })
    return () => {
      if (this.#subs.delete(id)) this.transport.send({ t: 'unsub', id })
    }
  }

  close(): void {
    for (const off of this.#offs) off()
    this.transport.close()
    this.#setDown('closed by the client')
  }

  #setState(s: ConnectionState): void {
    this.#state = s
    for (const cb of this.#stateListeners) cb(s)
  }

  #setDown(reason: string): void {
    if (this.#state.status === 'down') return
    this.#setState({ status: 'down', reason })
    const e = new AppFailure('CORE_DOWN', `Hashyard's core is not running: ${reason}`)
    for (const p of this.#pending.values()) p.reject(e)
    this.#pending.clear()
  }

  #onMessage(msg: ServerMsg): void {
    switch (msg.t) {
      case 'hello':
        if (msg.protocol !== PROTOCOL_VERSION) {
          this.#setDown(`the core speaks protocol ${msg.protocol}, this window speaks ${PROTOCOL_VERSION}`)
          return
        }
        {
          const wasDown = this.#state.status === 'down'
          this.#setState({ status: 'up', server: `${msg.server.app} ${msg.server.version} (${msg.server.host})` })
          // The core restarted or the socket reconnected: the server forgot our subscriptions.
          if (wasDown) for (const id of [...this.#subs.keys()]) this.#resubscribe(id, 'reconnected', false)
        }
        return
      case 'ok':
      case 'err': {
        const p = this.#pending.get(msg.id)
        if (!p) return
        this.#pending.delete(msg.id)
        if (msg.t === 'ok') p.resolve(msg.v)
        else p.reject(fromWire(msg.e))
        return
      }
      case 'frame': {
        const s = this.#subs.get(msg.id)
        if (!s) return
        if (s.lastSeq !== 0 && msg.seq !== s.lastSeq + 1) {
          // A gap on the wire: never show state built on missing frames.
          this.#resubscribe(msg.id, `frame ${s.lastSeq + 1} missing`)
          return
        }
        s.lastSeq = msg.seq
        s.h.frame(msg.v)
        return
      }
      case 'resync': {
        // The server keeps the subscription and restarts its numbering; the owner refetches state.
        const s = this.#subs.get(msg.id)
        if (!s) return
        s.lastSeq = 0
        s.h.resync?.(msg.reason)
        return
      }
      case 'down':
        this.#setDown(msg.reason)
        return
    }
  }

  #resubscribe(id: number, reason: string, unsubscribeOld = true): void {
    const s = this.#subs.get(id)
    if (!s) return
    this.#subs.delete(id)
    if (unsubscribeOld) this.transport.send({ t: 'unsub', id })
    const nid = this.#nextId++
    this.#subs.set(nid, { ...s, lastSeq: 0 })
    this.transport.send({ t: 'sub', id: nid, topic: s.topic, p: s.params })
    s.h.resync?.(reason)
  }
}

function fromWire(e: AppError): AppFailure {
  return new AppFailure(e.code, e.message, e.details)
}
