/**
 * Device login credentials per vendor, with per-range overrides (a rack of Antminers whose
 * password was changed). Usernames and ranges live in `device_credentials`; passwords only in the
 * SecretStore, by reference. Nothing here is ever returned by the API or logged: `list()` says
 * whether a password is set, never what it is.
 */
import type { AppError } from '../../shared/errors'
import { err, ok, type Result } from '../../shared/errors'
import { ipToInt, parseTargets } from '../discovery/ip-range'
import type { SecretStore } from '../secrets/secret-store'
import type { Database } from '../store/sqlite'
import type { DeviceCredentials, Vendor } from './types'

export interface CredentialInfo {
  vendor: Vendor
  range: string | null
  username: string
  hasPassword: boolean
  updatedAtMs: number
}

interface Entry {
  vendor: Vendor
  range: string
  username: string
  ref: string
  updatedAtMs: number
  /** Addresses the range covers (as integers); empty for the vendor default. */
  members: Set<number>
}

/** Ranges are bounded like scans: a credential override for a /8 is a typo, not a plan. */
const MAX_RANGE_ADDRESSES = 65_536

export class CredentialStore {
  readonly #db: Database
  readonly #secrets: SecretStore
  #entries: Entry[] = []
  /** Decrypted passwords by ref; cleared when an entry changes. */
  readonly #cache = new Map<string, string>()
  readonly #listeners = new Set<() => void>()

  constructor(db: Database, secrets: SecretStore) {
    this.#db = db
    this.#secrets = secrets
    this.#load()
  }

  #load(): void {
    const rows = this.#db
      .prepare('SELECT vendor, range_text, username, secret_ref, updated_at_ms FROM device_credentials')
      .all() as Array<{
      vendor: Vendor
      range_text: string
      username: string
      secret_ref: string
      updated_at_ms: number
    }>
    this.#entries = rows.map((r) => ({
      vendor: r.vendor,
      range: r.range_text,
      username: r.username,
      ref: r.secret_ref,
      updatedAtMs: r.updated_at_ms,
      members: membersOf(r.range_text),
    }))
  }

  /** Called after any change, so cached drivers are rebuilt with the new credentials. */
  onChange(cb: () => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /** Sets (password string) or removes (password null) the entry for a vendor and optional range. */
  async set(
    vendor: Vendor,
    range: string | null,
    username: string,
    password: string | null,
  ): Promise<Result<CredentialInfo | null, AppError>> {
    const rangeText = range?.trim() ?? ''
    if (rangeText !== '') {
      const parsed = parseTargets(rangeText, MAX_RANGE_ADDRESSES)
      if (!parsed.ok) return err(parsed.error)
    }
    const ref = `devices.credentials.${vendor}.${rangeText === '' ? 'default' : rangeText}`
    if (password === null) {
      this.#db.prepare('DELETE FROM device_credentials WHERE vendor = ? AND range_text = ?').run(vendor, rangeText)
      this.#secrets.delete(ref)
      this.#cache.delete(ref)
      this.#load()
      for (const cb of this.#listeners) cb()
      return ok(null)
    }
    await this.#secrets.put(ref, password)
    const now = Date.now()
    this.#db
      .prepare(
        `INSERT INTO device_credentials (vendor, range_text, username, secret_ref, updated_at_ms) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(vendor, range_text) DO UPDATE SET username = excluded.username, secret_ref = excluded.secret_ref,
         updated_at_ms = excluded.updated_at_ms`,
      )
      .run(vendor, rangeText, username, ref, now)
    this.#cache.delete(ref)
    this.#load()
    for (const cb of this.#listeners) cb()
    return ok({ vendor, range: rangeText === '' ? null : rangeText, username, hasPassword: true, updatedAtMs: now })
  }

  list(): CredentialInfo[] {
    return this.#entries.map((e) => ({
      vendor: e.vendor,
      range: e.range === '' ? null : e.range,
      username: e.username,
      hasPassword: this.#secrets.has(e.ref),
      updatedAtMs: e.updatedAtMs,
    }))
  }

  /**
   * The credentials for a device: the smallest range containing its address wins over a larger
   * one, any range wins over the vendor default; undefined means "use the driver's default".
   */
  async resolve(vendor: Vendor, ip: string | null): Promise<DeviceCredentials | undefined> {
    const n = ip === null ? undefined : ipToInt(ip)
    let best: Entry | undefined
    for (const e of this.#entries) {
      if (e.vendor !== vendor) continue
      if (e.range === '') {
        if (!best) best = e
        continue
      }
      if (n === undefined || !e.members.has(n)) continue
      if (!best || best.range === '' || e.members.size < best.members.size) best = e
    }
    if (!best) return undefined
    let password = this.#cache.get(best.ref)
    if (password === undefined) {
      password = await this.#secrets.get(best.ref)
      if (password === undefined) return undefined
      this.#cache.set(best.ref, password)
    }
    return { username: best.username, password }
  }
}

function membersOf(range: string): Set<number> {
  if (range === '') return new Set()
  const parsed = parseTargets(range, MAX_RANGE_ADDRESSES)
  const out = new Set<number>()
  if (!parsed.ok) return out
  for (const ip of parsed.value) {
    const n = ipToInt(ip)
    if (n !== undefined) out.add(n)
  }
  return out
}
