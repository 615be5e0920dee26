import type { AppError, Result } from '../../../shared/errors'
import type { AlertEvent, Severity } from '../rules/types'
import type { DailySummary } from './summary'

export type ChannelKind = 'in-app' | 'webhook' | 'telegram' | 'discord' | 'email'

/** What an outside channel sends: plain text (never HTML), built by `messageFromEvent` or the summary. */
export interface ChannelMessage {
  kind: 'alert' | 'summary' | 'test'
  title: string
  text: string
  severity: Severity
  tsMs: number
  /** The alert behind the message (webhook receivers get it as JSON). */
  event?: AlertEvent
  summary?: DailySummary
}

/**
 * A place alerts go. `send` never throws: a failure comes back as an AppError whose message says
 * what the far end answered. Secrets (tokens, passwords, webhook secrets, Discord webhook URLs)
 * are given to the channel's constructor by the caller, who keeps them in the SecretStore; they
 * never appear in results, errors or log fields.
 */
export interface AlertChannel {
  readonly id: string
  readonly kind: ChannelKind
  send(msg: ChannelMessage): Promise<Result<void, AppError>>
  /** Sends a message saying the channel works (the "Send test" button). */
  sendTest(): Promise<Result<void, AppError>>
}

export function testMessage(tsMs: number): ChannelMessage {
  return {
    kind: 'test',
    title: 'Hashyard test message',
    text: 'This is a test from Hashyard: alerts for your farm will arrive here.',
    severity: 'info',
    tsMs,
  }
}

/** Title and text of an alert event as channels show it. */
export function messageFromEvent(e: AlertEvent): ChannelMessage {
  const mark =
    e.phase === 'recovered' ? 'Resolved' : e.phase === 'event' ? '' : e.severity === 'critical' ? 'Critical' : 'Alert'
  return {
    kind: 'alert',
    title: mark ? `${mark}: ${e.title}` : e.title,
    text: e.message,
    severity: e.phase === 'recovered' ? 'info' : e.severity,
    tsMs: e.tsMs,
    event: e,
  }
}
