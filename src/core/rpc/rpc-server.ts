import { contract, isMethodName, isTopicName, type MethodName, type TopicName } from '../../shared/contract'
import { type AppError, AppFailure, appError, type Result } from '../../shared/errors'
import { ClientMsg, PROTOCOL_VERSION, type ServerMsg, type Transport } from '../../shared/protocol'
import type { Logger } from '../logger'
import type { CallContext, HandlerMap, TopicMap, TopicSource } from './handlers'

export interface RpcServerOptions {
  handlers: HandlerMap
  topics: TopicMap
  logger: Logger
  version: string
  host: string
  /** Minimum time between two frames of one `latest` subscription. Default 250 ms. */
  coalesceMs?: number
  /** A connection whose send buffer exceeds this is skipped for `latest` frames and resynced for `ordered`. Default 1 MiB. */
  maxBufferedBytes?: number
  /** Parse handler outputs against the contract too (tests turn this on; it costs a zod parse per call). */
  validateOutputs?: boolean
}

/** A server-side transport may report its send buffer (WebSocket) for backpressure. */
export interface ServerTransport extends Transport {
  bufferedBytes?(): number
}

interface Sub {
  topic: TopicName
  seq: number
  off: () => void
  timer?: ReturnType<typeof setTimeout>
  lastFlushMs: number
  dirty: boolean
}

/**
 * Serves the contract over any number of transports. One validation point for every host: the
 * envelope, the method name and the params are parsed here, whatever the transport.
 */
export class RpcServer {
  readonly #o: Required<Omit<RpcServerOptions, 'validateOutputs'>> & { validateOutputs: boolean }
  #connections = new Set<() => void>()

  constructor(opts: RpcServerOptions) {
    this.#o = { coalesceMs: 250, maxBufferedBytes: 1 << 20, validateOutputs: false, ...opts }
  }

  get connectionCount(): number {
    return this.#connections.size
  }

  /** Validates and runs one method call: the path of HTTP JSON and of every transport message. */
  async invoke(name: string, rawParams: unknown, ctx: CallContext): Promise<Result<unknown>> {
    if (!isMethodName(name))
      return { ok: false, error: appError('UNKNOWN_METHOD', `Unknown method "${name.slice(0, 128)}".`) }
    const spec = contract[name]
    const parsed = spec.input.safeParse(rawParams ?? {})
    if (!parsed.success) {
      return {
        ok: false,
        error: appError('INVALID_PARAMS', `Invalid params for ${name}: ${formatIssues(parsed.error.issues)}`, {
          issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
        }),
      }
    }
    const handler = this.#o.handlers[name as MethodName] as
      | ((p: unknown, c: CallContext) => unknown | Promise<unknown>)
      | undefined
    if (!handler) return { ok: false, error: appError('NOT_SUPPORTED', `${name} is not available in this build.`) }
    try {
      const value = await handler(parsed.data, ctx)
      if (this.#o.validateOutputs) {
        const out = spec.output.safeParse(value)
        if (!out.success)
          throw new Error(`${name} returned a value outside the contract: ${formatIssues(out.error.issues)}`)
      }
      return { ok: true, value }
    } catch (e) {
      return { ok: false, error: this.#toAppError(name, e) }
    }
  }

  /** Serves one connection until its transport closes. */
  attach(transport: ServerTransport, ctx: CallContext): () => void {
    const subs = new Map<number, Sub>()
    let closed = false
    const send = (m: ServerMsg): void => {
      if (!closed) transport.send(m)
    }
    const dispose = (): void => {
      if (closed) return
      closed = true
      for (const s of subs.values()) this.#stopSub(s)
      subs.clear()
      offMsg()
      offClose()
      this.#connections.delete(dispose)
    }
    const offMsg = transport.onMessage((raw) => {
      const parsed = ClientMsg.safeParse(raw)
      if (!parsed.success) {
        const id = typeof (raw as { id?: unknown })?.id === 'number' ? (raw as { id: number }).id : -1
        send({ t: 'err', id, e: appError('BAD_REQUEST', `Malformed message: ${formatIssues(parsed.error.issues)}`) })
        return
      }
      const msg = parsed.data
      if (msg.t === 'call') {
        void this.invoke(msg.m, msg.p, ctx).then((r) =>
          send(r.ok ? { t: 'ok', id: msg.id, v: r.value } : { t: 'err', id: msg.id, e: r.error }),
        )
      } else if (msg.t === 'sub') {
        if (subs.has(msg.id)) {
          send({ t: 'err', id: msg.id, e: appError('CONFLICT', `Subscription id ${msg.id} is already in use.`) })
          return
        }
        const r = this.#subscribe(msg.id, msg.topic, msg.p, send, transport)
        if (!r.ok) send({ t: 'err', id: msg.id, e: r.error })
        else subs.set(msg.id, r.value)
      } else {
        const s = subs.get(msg.id)
        if (s) {
          this.#stopSub(s)
          subs.delete(msg.id)
        }
      }
    })
    const offClose = transport.onClose(dispose)
    this.#connections.add(dispose)
    send({
      t: 'hello',
      protocol: PROTOCOL_VERSION,
      server: { app: 'hashyard', version: this.#o.version, host: this.#o.host },
    })
    return dispose
  }

  /** Tells every client the core is going away, then detaches them. */
  shutdown(reason: string): void {
    for (const dispose of [...this.#connections]) dispose()
    this.#o.logger.info('rpc server stopped', { reason })
  }

  #subscribe(
    id: number,
    topicName: string,
    rawParams: unknown,
    send: (m: ServerMsg) => void,
    transport: ServerTransport,
  ): Result<Sub> {
    if (!isTopicName(topicName)) {
      return { ok: false, error: appError('UNKNOWN_TOPIC', `Unknown topic "${topicName.slice(0, 128)}".`) }
    }
    const spec = contract[topicName]
    const parsed = spec.params.safeParse(rawParams ?? {})
    if (!parsed.success) {
      return {
        ok: false,
        error: appError('INVALID_PARAMS', `Invalid params for ${topicName}: ${formatIssues(parsed.error.issues)}`),
      }
    }
    const source = this.#o.topics[topicName] as TopicSource<TopicName> | undefined
    if (!source) return { ok: false, error: appError('NOT_SUPPORTED', `${topicName} is not available in this build.`) }
    const params = parsed.data as never
    const sub: Sub = { topic: topicName, seq: 0, off: () => {}, lastFlushMs: 0, dirty: false }
    const overloaded = (): boolean => (transport.bufferedBytes?.() ?? 0) > this.#o.maxBufferedBytes

    if (source.delivery === 'latest') {
      const flush = (): void => {
        sub.timer = undefined
        if (overloaded()) {
          // Keep the subscription dirty and try again: the next frame carries the newest state anyway.
          sub.timer = setTimeout(flush, this.#o.coalesceMs)
          return
        }
        sub.dirty = false
        sub.lastFlushMs = Date.now()
        const v = source.snapshot(params)
        if (v !== undefined) send({ t: 'frame', id, seq: ++sub.seq, v })
      }
      sub.off = source.onChange(() => {
        sub.dirty = true
        if (sub.timer) return
        const wait = Math.max(0, sub.lastFlushMs + this.#o.coalesceMs - Date.now())
        sub.timer = setTimeout(flush, wait)
      })
      flush()
    } else {
      let resyncing = false
      const deliver = (v: unknown): void => {
        if (overloaded()) {
          if (!resyncing) {
            resyncing = true
            sub.seq = 0
            send({ t: 'resync', id, reason: 'the client fell behind; refetch and continue' })
          }
          return
        }
        resyncing = false
        send({ t: 'frame', id, seq: ++sub.seq, v })
      }
      const past = source.replay(params)
      if (past === 'gone') send({ t: 'resync', id, reason: 'the requested history is no longer held; refetch' })
      else for (const f of past) deliver(f)
      sub.off = source.onFrame(deliver)
    }
    return { ok: true, value: sub }
  }

  #stopSub(s: Sub): void {
    s.off()
    if (s.timer) clearTimeout(s.timer)
    s.timer = undefined
  }

  #toAppError(method: string, e: unknown): AppError {
    if (e instanceof AppFailure) return e.toAppError()
    this.#o.logger.error(`${method} failed`, { error: e instanceof Error ? (e.stack ?? e.message) : String(e) })
    return appError('INTERNAL', `${method} failed inside Hashyard; the details are in the log.`)
  }
}

function formatIssues(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ')
}
