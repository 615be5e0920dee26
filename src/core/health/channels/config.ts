import type { z } from 'zod'
import { ChannelConfigSchema, type ChannelSecretName } from '../../../shared/contract/health'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Database } from '../../store/sqlite'
import type { Clock } from '../clock'
import { createDiscordChannel } from './discord'
import { createEmailChannel } from './email'
import { createTelegramChannel } from './telegram'
import type { AlertChannel } from './types'
import { createWebhookChannel } from './webhook'

/**
 * A channel's settings as the UI edits them and the store keeps them (schema in the API contract,
 * src/shared/contract/health.ts). Secrets are NOT here: they live in the SecretStore under
 * `channelSecretRef(id, name)`; the UI only learns whether one is set.
 */
export const channelConfigSchema = ChannelConfigSchema

export type ChannelConfig = z.infer<typeof channelConfigSchema>

/** Which secrets each kind needs: webhook `secret` (optional), telegram `botToken`, discord `webhookUrl`, email `password`. */
export type { ChannelSecretName }

export function channelSecretRef(channelId: string, name: ChannelSecretName): string {
  return `health.channel.${channelId}.${name}`
}

export function parseChannelConfig(input: unknown): Result<ChannelConfig, AppError> {
  const r = channelConfigSchema.safeParse(input)
  if (r.success) return ok(r.data)
  const issue = r.error.issues[0]
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
  return err(appError('INVALID_PARAMS', `alert channel: ${where}${issue?.message ?? 'invalid'}`))
}

/** Reads secrets by reference: the SecretStore fits (`get(ref)`). */
export interface SecretSource {
  get(ref: string): Promise<string | undefined>
}

/** Builds a live channel from its settings and its secrets. A missing required secret is an error value. */
export async function createChannel(
  config: ChannelConfig,
  secrets: SecretSource,
  now: Clock,
): Promise<Result<AlertChannel, AppError>> {
  const need = async (name: ChannelSecretName): Promise<Result<string, AppError>> => {
    const v = await secrets.get(channelSecretRef(config.id, name))
    return v ? ok(v) : err(appError('INVALID_PARAMS', `${config.name}: the ${name} is not set`))
  }
  switch (config.kind) {
    case 'webhook': {
      const secret = await secrets.get(channelSecretRef(config.id, 'secret'))
      return createWebhookChannel({ id: config.id, url: config.url, secret, now })
    }
    case 'telegram': {
      const token = await need('botToken')
      if (!token.ok) return token
      return createTelegramChannel({
        id: config.id,
        botToken: token.value,
        chatId: config.chatId,
        apiBase: config.apiBase,
        now,
      })
    }
    case 'discord': {
      const url = await need('webhookUrl')
      if (!url.ok) return url
      return createDiscordChannel({ id: config.id, webhookUrl: url.value, now })
    }
    case 'email': {
      const password = config.username ? await need('password') : undefined
      if (password && !password.ok) return password
      return createEmailChannel({
        id: config.id,
        from: config.from,
        to: config.to,
        now,
        smtp: {
          host: config.host,
          port: config.port,
          security: config.security,
          username: config.username,
          password: password?.value,
        },
      })
    }
  }
}

/** Channel settings in `health_channels` (validated on the way in and out). */
export class ChannelRepo {
  constructor(
    private readonly db: Database,
    private readonly now: Clock,
  ) {}

  list(): ChannelConfig[] {
    const rows = this.db.prepare('SELECT config_json FROM health_channels ORDER BY rowid').all() as Array<{
      config_json: string
    }>
    const out: ChannelConfig[] = []
    for (const r of rows) {
      let parsed: unknown
      try {
        parsed = JSON.parse(r.config_json)
      } catch {
        continue
      }
      const c = parseChannelConfig(parsed)
      if (c.ok) out.push(c.value)
    }
    return out
  }

  save(input: unknown): Result<ChannelConfig, AppError> {
    const c = parseChannelConfig(input)
    if (!c.ok) return c
    this.db
      .prepare(
        'INSERT INTO health_channels (id, config_json, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET config_json = excluded.config_json, updated_at_ms = excluded.updated_at_ms',
      )
      .run(c.value.id, JSON.stringify(c.value), this.now())
    return c
  }

  /** Deletes the settings; the caller also deletes the channel's secrets from the SecretStore. */
  delete(id: string): boolean {
    return this.db.prepare('DELETE FROM health_channels WHERE id = ?').run(id).changes > 0
  }
}
