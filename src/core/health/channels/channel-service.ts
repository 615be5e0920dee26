import { randomBytes } from 'node:crypto'
import type { ChannelConfigInput, ChannelSecretName, ChannelView } from '../../../shared/contract/health'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Logger } from '../../logger'
import type { SecretStore } from '../../secrets/secret-store'
import type { Database } from '../../store/sqlite'
import type { Clock } from '../clock'
import type { AlertCenter } from './alert-center'
import { type ChannelConfig, ChannelRepo, channelSecretRef, createChannel } from './config'
import type { AlertChannel } from './types'

/** The secrets each kind uses; anything else sent with a save is refused. */
const SECRETS_OF: Record<ChannelConfig['kind'], readonly ChannelSecretName[]> = {
  webhook: ['secret'],
  telegram: ['botToken'],
  discord: ['webhookUrl'],
  email: ['password'],
}
const ALL_SECRETS: readonly ChannelSecretName[] = ['secret', 'botToken', 'webhookUrl', 'password']

/** The id "Send test" uses for the in-app alert centre. Not available to stored channels. */
export const IN_APP_CHANNEL_ID = 'in-app'

export type SecretPatch = Partial<Record<ChannelSecretName, string | null | undefined>>

/**
 * Channel settings plus their secrets, and the live channels built from them (issue 7 §3).
 * Secrets go to the SecretStore and come back only as `hasSecret` flags. The live list is rebuilt
 * after every change, so the dispatcher (which asks for it synchronously) sees edits at once.
 */
export class ChannelService {
  readonly #repo: ChannelRepo
  readonly #secrets: SecretStore
  readonly #now: Clock
  readonly #log: Logger
  readonly #center: AlertCenter
  #live: AlertChannel[] = []

  constructor(o: { db: Database; secrets: SecretStore; now: Clock; logger: Logger; center: AlertCenter }) {
    this.#repo = new ChannelRepo(o.db, o.now)
    this.#secrets = o.secrets
    this.#now = o.now
    this.#log = o.logger
    this.#center = o.center
  }

  /** The enabled outside channels, for the dispatcher. */
  live(): readonly AlertChannel[] {
    return this.#live
  }

  configs(): ChannelConfig[] {
    return this.#repo.list()
  }

  list(): ChannelView[] {
    return this.#repo.list().map((c) => this.#view(c))
  }

  async save(
    input: ChannelConfigInput | (Omit<ChannelConfigInput, 'id'> & { id?: string }),
    secrets: SecretPatch = {},
  ) {
    const id = input.id ?? `ch-${randomBytes(6).toString('hex')}`
    if (id === IN_APP_CHANNEL_ID)
      return err(appError('INVALID_PARAMS', `"${IN_APP_CHANNEL_ID}" is the alert centre's id`))
    const kind = input.kind
    for (const [name, v] of Object.entries(secrets)) {
      if (v !== undefined && !SECRETS_OF[kind].includes(name as ChannelSecretName)) {
        return err(appError('INVALID_PARAMS', `a ${kind} channel has no ${name}`))
      }
    }
    const existing = this.#repo.list().find((c) => c.id === id)
    const saved = this.#repo.save({ ...input, id })
    if (!saved.ok) return saved
    // A kind change leaves the old kind's secrets behind: drop them.
    if (existing && existing.kind !== kind) {
      for (const name of SECRETS_OF[existing.kind]) this.#secrets.delete(channelSecretRef(id, name))
    }
    for (const [name, v] of Object.entries(secrets)) {
      if (v === undefined) continue
      const ref = channelSecretRef(id, name as ChannelSecretName)
      if (v === null) this.#secrets.delete(ref)
      else await this.#secrets.put(ref, v)
    }
    await this.rebuild()
    return ok(this.#view(saved.value))
  }

  async delete(id: string): Promise<boolean> {
    const deleted = this.#repo.delete(id)
    for (const name of ALL_SECRETS) this.#secrets.delete(channelSecretRef(id, name))
    await this.rebuild()
    return deleted
  }

  /** "Send test": plain words either way; never the secret. Disabled channels can be tested too. */
  async test(id: string): Promise<Result<{ ok: boolean; message: string }, AppError>> {
    if (id === IN_APP_CHANNEL_ID) {
      await this.#center.asChannel(IN_APP_CHANNEL_ID).sendTest()
      return ok({ ok: true, message: 'A test alert was added to the alert centre.' })
    }
    const cfg = this.#repo.list().find((c) => c.id === id)
    if (!cfg) return err(appError('NOT_FOUND', `no alert channel "${id.slice(0, 64)}"`))
    const ch = await this.#build(cfg)
    if (!ch.ok) return ok({ ok: false, message: `Not sent: ${ch.error.message}` })
    const r = await ch.value.sendTest()
    if (r.ok) return ok({ ok: true, message: `Test message delivered: ${describe(cfg)} accepted it.` })
    return ok({ ok: false, message: `Not delivered: ${r.error.message}` })
  }

  /** Rebuilds the live channels from settings and secrets; a broken one is skipped with a warning. */
  async rebuild(): Promise<void> {
    const out: AlertChannel[] = []
    for (const cfg of this.#repo.list()) {
      if (!cfg.enabled) continue
      const ch = await this.#build(cfg)
      if (ch.ok) out.push(ch.value)
      else this.#log.warn('alert channel not usable', { channel: cfg.id, kind: cfg.kind, error: ch.error.message })
    }
    this.#live = out
  }

  async #build(cfg: ChannelConfig): Promise<Result<AlertChannel, AppError>> {
    try {
      return await createChannel(cfg, this.#secrets, this.#now)
    } catch (e) {
      // The SecretStore throws when a secret was stored under another cipher (moved data folder).
      return err(
        appError('UNAVAILABLE', `its secret cannot be read on this host: enter it again (${String(e).slice(0, 100)})`),
      )
    }
  }

  #view(c: ChannelConfig): ChannelView {
    const hasSecret: ChannelView['hasSecret'] = {}
    for (const name of SECRETS_OF[c.kind]) hasSecret[name] = this.#secrets.has(channelSecretRef(c.id, name))
    return { ...c, hasSecret }
  }
}

function describe(c: ChannelConfig): string {
  switch (c.kind) {
    case 'webhook':
      return `the webhook at ${safeHost(c.url)}`
    case 'telegram':
      return 'Telegram'
    case 'discord':
      return 'Discord'
    case 'email':
      return `the mail server ${c.host}`
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'its URL'
  }
}
