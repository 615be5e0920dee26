import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Clock } from '../clock'
import { checkHttpUrl, postJson } from './http-post'
import { type AlertChannel, type ChannelMessage, testMessage } from './types'

export const TELEGRAM_API_BASE = 'https://api.telegram.org'
const MAX_TEXT = 4096

export interface TelegramOptions {
  id: string
  /** Bot token from @BotFather (a secret: it is part of the request path, never logged). */
  botToken: string
  /** A user, group or channel id (`123456`, `-100123…`) or `@channelname`. */
  chatId: string
  /** Default `https://api.telegram.org`; tests point it at a loopback receiver. */
  apiBase?: string
  now: Clock
  timeoutMs?: number
}

/**
 * Telegram Bot API `sendMessage`. The text goes without `parse_mode`, i.e. as plain text, so a
 * device name cannot inject formatting or links that look like ours.
 */
export function createTelegramChannel(opts: TelegramOptions): Result<AlertChannel, AppError> {
  if (!/^\d{1,20}:[A-Za-z0-9_-]{20,100}$/.test(opts.botToken)) {
    return err(appError('INVALID_PARAMS', 'Telegram bot token should look like 123456:ABC-DEF… (from @BotFather)'))
  }
  if (!/^(-?\d{1,20}|@[A-Za-z0-9_]{4,64})$/.test(opts.chatId)) {
    return err(appError('INVALID_PARAMS', 'Telegram chat id should be a number or @channelname'))
  }
  const base = checkHttpUrl(opts.apiBase ?? TELEGRAM_API_BASE, 'Telegram API base')
  if (!base.ok) return base
  const url = new URL(`${base.value.href.replace(/\/+$/, '')}/bot${opts.botToken}/sendMessage`)
  const send = async (msg: ChannelMessage): Promise<Result<void, AppError>> => {
    const text = `${msg.title}\n\n${msg.text}`.slice(0, MAX_TEXT)
    const body = JSON.stringify({ chat_id: opts.chatId, text, disable_web_page_preview: true })
    const res = await postJson(url, body, {}, { timeoutMs: opts.timeoutMs, redact: [opts.botToken] })
    if (!res.ok) return res
    let reply: { ok?: unknown; description?: unknown } = {}
    try {
      reply = JSON.parse(res.value.body) as typeof reply
    } catch {
      reply = {}
    }
    if (res.value.status === 200 && reply.ok === true) return ok(undefined)
    const why = typeof reply.description === 'string' ? reply.description : `HTTP ${res.value.status}`
    const code = res.value.status === 401 || res.value.status === 403 ? 'UNAUTHORIZED' : 'UNAVAILABLE'
    return err(appError(code, `Telegram refused the message: ${why.slice(0, 200)}`))
  }
  return ok({ id: opts.id, kind: 'telegram', send, sendTest: () => send(testMessage(opts.now())) })
}
