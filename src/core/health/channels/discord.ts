import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Clock } from '../clock'
import { checkHttpUrl, postJson } from './http-post'
import { type AlertChannel, type ChannelMessage, testMessage } from './types'

export interface DiscordOptions {
  id: string
  /** `https://discord.com/api/webhooks/<id>/<token>`: the URL itself is the secret. */
  webhookUrl: string
  now: Clock
  timeoutMs?: number
}

const COLOURS = { info: 0x2e86de, warning: 0xf0a500, critical: 0xd63031 } as const
const RESOLVED_COLOUR = 0x27ae60

/**
 * Discord "Execute Webhook": `content` plus one embed. `allowed_mentions: { parse: [] }` stops a
 * device named `@everyone` from pinging a whole server. Limits per Discord's docs: content 2000
 * characters, embed title 256, description 4096.
 */
export function createDiscordChannel(opts: DiscordOptions): Result<AlertChannel, AppError> {
  const url = checkHttpUrl(opts.webhookUrl, 'Discord webhook URL')
  if (!url.ok) return url
  const send = async (msg: ChannelMessage): Promise<Result<void, AppError>> => {
    const resolved = msg.event?.phase === 'recovered'
    const body = JSON.stringify({
      username: 'Hashyard',
      content: msg.title.slice(0, 2000),
      embeds: [
        {
          title: msg.title.slice(0, 256),
          description: msg.text.slice(0, 4096),
          color: resolved ? RESOLVED_COLOUR : COLOURS[msg.severity],
          timestamp: new Date(msg.tsMs).toISOString(),
          footer: { text: 'Hashyard' },
        },
      ],
      allowed_mentions: { parse: [] },
    })
    const res = await postJson(url.value, body, {}, { timeoutMs: opts.timeoutMs, redact: [url.value.pathname] })
    if (!res.ok) return res
    if (res.value.status >= 200 && res.value.status <= 299) return ok(undefined)
    let why = `HTTP ${res.value.status}`
    try {
      const j = JSON.parse(res.value.body) as { message?: unknown; retry_after?: unknown }
      if (typeof j.message === 'string') why += `: ${j.message.slice(0, 200)}`
      if (typeof j.retry_after === 'number') why += ` (retry after ${j.retry_after} s)`
    } catch {
      why += res.value.body ? `: ${res.value.body.slice(0, 200)}` : ''
    }
    const code = res.value.status === 401 || res.value.status === 404 ? 'UNAUTHORIZED' : 'UNAVAILABLE'
    return err(appError(code, `Discord refused the message: ${why}`))
  }
  return ok({ id: opts.id, kind: 'discord', send, sendTest: () => send(testMessage(opts.now())) })
}
