import { createHmac, timingSafeEqual } from 'node:crypto'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Clock } from '../clock'
import { checkHttpUrl, postJson } from './http-post'
import { type AlertChannel, type ChannelMessage, testMessage } from './types'

export const SIGNATURE_HEADER = 'X-Hashyard-Signature'
export const TIMESTAMP_HEADER = 'X-Hashyard-Timestamp'

export interface WebhookOptions {
  id: string
  url: string
  /** HMAC key (a secret). Without one the request carries no signature header. */
  secret?: string
  now: Clock
  timeoutMs?: number
}

/** The JSON a webhook receives. `sentAtMs` is inside the signed body, so a replay can be refused. */
export interface WebhookPayload {
  source: 'hashyard'
  type: ChannelMessage['kind']
  sentAtMs: number
  title: string
  text: string
  severity: ChannelMessage['severity']
  event: ChannelMessage['event'] | null
  summary: ChannelMessage['summary'] | null
}

/** `sha256=<hex HMAC-SHA256 of the exact body bytes>` (the format GitHub's webhooks use). */
export function webhookSignature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * For receivers (and tests): checks the signature in constant time. Receivers should also refuse
 * a body whose `sentAtMs` (equal to the timestamp header) is more than a few minutes old.
 */
export function verifyWebhookSignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (!header) return false
  const want = Buffer.from(webhookSignature(secret, body))
  const got = Buffer.from(header)
  return want.length === got.length && timingSafeEqual(want, got)
}

export function createWebhookChannel(opts: WebhookOptions): Result<AlertChannel, AppError> {
  const url = checkHttpUrl(opts.url, 'webhook URL')
  if (!url.ok) return url
  const send = async (msg: ChannelMessage): Promise<Result<void, AppError>> => {
    const payload: WebhookPayload = {
      source: 'hashyard',
      type: msg.kind,
      sentAtMs: opts.now(),
      title: msg.title,
      text: msg.text,
      severity: msg.severity,
      event: msg.event ?? null,
      summary: msg.summary ?? null,
    }
    const body = JSON.stringify(payload)
    const headers: Record<string, string> = { [TIMESTAMP_HEADER]: String(payload.sentAtMs) }
    if (opts.secret) headers[SIGNATURE_HEADER] = webhookSignature(opts.secret, body)
    const res = await postJson(url.value, body, headers, { timeoutMs: opts.timeoutMs, redact: [opts.secret ?? ''] })
    if (!res.ok) return res
    if (res.value.status < 200 || res.value.status > 299) {
      return err(appError('UNAVAILABLE', `webhook answered HTTP ${res.value.status}: ${res.value.body.slice(0, 200)}`))
    }
    return ok(undefined)
  }
  return ok({ id: opts.id, kind: 'webhook', send, sendTest: () => send(testMessage(opts.now())) })
}
