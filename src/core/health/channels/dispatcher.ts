import type { AppError } from '../../../shared/errors'
import type { Logger } from '../../logger'
import type { Clock } from '../clock'
import { SlidingWindowLimiter } from '../rate-limit'
import type { AlertEvent } from '../rules/types'
import type { AlertCenter } from './alert-center'
import { buildDailySummary, type DailySummary } from './summary'
import { type AlertChannel, type ChannelMessage, messageFromEvent } from './types'

export interface DispatcherOptions {
  center: AlertCenter
  /** The enabled outside channels, asked on every dispatch so edits apply at once. */
  channels: () => readonly AlertChannel[]
  now: Clock
  logger: Logger
  /** Messages per channel: default 20 per hour. A found block always goes through. */
  perChannelLimit?: { max: number; windowMs: number }
}

export interface Delivery {
  channelId: string
  /** Incident id, or `summary`. */
  ref: string
  ok: boolean
  error?: AppError
  /** Not sent: over the channel's rate limit (the alert centre still has it). */
  heldBack?: boolean
}

/**
 * Routes engine events: every event to the alert centre; fired, recovered and instant events that
 * the engine did not suppress to the outside channels the rule names (all when it names none),
 * within each channel's rate limit. Messages held back are counted and the next message on that
 * channel says so, so the owner knows to look at the alert centre. A channel's events go out in
 * order; channels are independent, so a slow SMTP server does not delay Telegram.
 */
export class AlertDispatcher {
  readonly #o: DispatcherOptions
  readonly #limiter: SlidingWindowLimiter
  readonly #heldBack = new Map<string, number>()
  readonly #queues = new Map<string, Promise<unknown>>()

  constructor(opts: DispatcherOptions) {
    this.#o = opts
    const lim = opts.perChannelLimit ?? { max: 20, windowMs: 3_600_000 }
    this.#limiter = new SlidingWindowLimiter(lim.max, lim.windowMs)
  }

  async dispatch(events: readonly AlertEvent[]): Promise<Delivery[]> {
    const work: Array<Promise<Delivery>> = []
    for (const e of events) {
      this.#o.center.record(e)
      if (e.suppressed || e.phase === 'closed') continue
      const msg = messageFromEvent(e)
      for (const ch of this.#o.channels()) {
        if (e.channels && !e.channels.includes(ch.id)) continue
        work.push(this.#deliver(ch, msg, e.incidentId, e.ruleType === 'block-found'))
      }
    }
    return Promise.all(work)
  }

  /** Sends the daily summary to the given channels (default: all enabled outside channels). */
  async sendSummary(summary: DailySummary, channelIds?: readonly string[]): Promise<Delivery[]> {
    const msg = buildDailySummary(summary)
    const targets = this.#o.channels().filter((c) => !channelIds || channelIds.includes(c.id))
    return Promise.all(targets.map((ch) => this.#deliver(ch, msg, 'summary', true)))
  }

  #deliver(ch: AlertChannel, msg: ChannelMessage, ref: string, exempt: boolean): Promise<Delivery> {
    const run = async (): Promise<Delivery> => {
      const now = this.#o.now()
      if (!exempt && !this.#limiter.tryTake(ch.id, now)) {
        const n = (this.#heldBack.get(ch.id) ?? 0) + 1
        this.#heldBack.set(ch.id, n)
        if (n === 1) this.#o.logger.warn('alert channel over its rate limit: holding messages back', { channel: ch.id })
        return { channelId: ch.id, ref, ok: false, heldBack: true }
      }
      const held = this.#heldBack.get(ch.id) ?? 0
      const out =
        held > 0
          ? {
              ...msg,
              text: `${msg.text}\n\n(${held} earlier alert${held === 1 ? ' was' : 's were'} held back by the rate limit: see Hashyard's alert centre.)`,
            }
          : msg
      const r = await ch.send(out)
      if (r.ok) {
        this.#heldBack.delete(ch.id)
        return { channelId: ch.id, ref, ok: true }
      }
      this.#o.logger.warn('alert delivery failed', {
        channel: ch.id,
        kind: ch.kind,
        code: r.error.code,
        error: r.error.message,
      })
      return { channelId: ch.id, ref, ok: false, error: r.error }
    }
    const prev = this.#queues.get(ch.id) ?? Promise.resolve()
    const next = prev.then(run, run)
    this.#queues.set(ch.id, next)
    return next
  }
}
