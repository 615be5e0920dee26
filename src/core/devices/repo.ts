/**
 * The device table: one record per physical machine, kept in SQLite and mirrored in memory so the
 * poller and `devices.stream` never parse JSON on the hot path. Records are matched by MAC, then
 * serial, then hostname, then IP (identity-match.ts), so a DHCP change keeps one history.
 * Every owner action and every control operation goes to the per-device action log.
 *
 * Strings from devices are stored verbatim (they are shown as text, never interpreted); they are
 * capped in length so a hostile device cannot bloat the store.
 */
import { randomBytes } from 'node:crypto'
import type { Device, DeviceStatusFrame } from '../../shared/contract/devices'
import type { Migration } from '../store/migrations'
import type { Database } from '../store/sqlite'
import { conflicts, findMatch, identityKeyOf, isWeak, type MatchReason } from './identity-match'
import type { DeviceStatus, DriverCapabilities, Vendor } from './types'

export const DEVICE_MIGRATIONS: Migration[] = [
  {
    version: 400,
    name: 'devices',
    up: `
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        mac TEXT, serial TEXT, hostname TEXT, ip TEXT,
        vendor TEXT, kind TEXT, model TEXT, firmware TEXT,
        http_port INTEGER, rpc_port INTEGER, v3_port INTEGER,
        name TEXT, site TEXT, rack TEXT, row_label TEXT, slot TEXT,
        tags_json TEXT NOT NULL DEFAULT '[]',
        source TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER,
        online INTEGER, offline_since_ms INTEGER, last_error TEXT,
        capabilities_json TEXT, status_json TEXT,
        worker TEXT, user_agent TEXT
      );
      CREATE UNIQUE INDEX devices_mac ON devices(mac) WHERE mac IS NOT NULL;
      CREATE INDEX devices_ip ON devices(ip);
      CREATE TABLE device_actions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        ts_ms INTEGER NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL, message TEXT NOT NULL, data_json TEXT
      );
      CREATE INDEX device_actions_device ON device_actions(device_id, seq);
      CREATE TABLE device_samples (
        device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        ts_ms INTEGER NOT NULL, online INTEGER NOT NULL,
        hashrate_ths REAL, power_w REAL, temp_max_c REAL,
        PRIMARY KEY (device_id, ts_ms)
      ) WITHOUT ROWID;
      CREATE TABLE device_credentials (
        vendor TEXT NOT NULL, range_text TEXT NOT NULL DEFAULT '', username TEXT NOT NULL,
        secret_ref TEXT NOT NULL, updated_at_ms INTEGER NOT NULL,
        PRIMARY KEY (vendor, range_text)
      );
    `,
  },
  {
    version: 401,
    name: 'devices first share',
    up: `
      ALTER TABLE devices ADD COLUMN first_share_ms INTEGER;
      ALTER TABLE devices ADD COLUMN first_share_diff REAL;
      ALTER TABLE devices ADD COLUMN first_share_worker TEXT;
    `,
  },
]

/** A device as the API shows it (the contract's `Device`, minus the runtime-only `busy`). */
export type DeviceRecord = Omit<Device, 'busy'>

/** What a scan, mDNS or a driver's detect saw. */
export interface Sighting {
  ip: string | null
  mac: string | null
  serial: string | null
  hostname: string | null
  vendor: Vendor | null
  kind: string | null
  model: string | null
  firmware: string | null
  httpPort: number | null
  rpcPort: number | null
  v3Port: number | null
  capabilities: DriverCapabilities | null
  source: DeviceRecord['source']
}

export interface UpsertResult {
  record: DeviceRecord
  created: boolean
  matchedBy: MatchReason | null
  /** Ids of weak duplicate records folded into this one. */
  merged: string[]
}

export interface ActionRow {
  seq: number
  deviceId: string
  tsMs: number
  action: string
  outcome: 'ok' | 'failed' | 'info'
  message: string
  data?: Record<string, unknown>
}

export interface SampleRow {
  deviceId: string
  tsMs: number
  online: boolean
  hashrateThs: number | null
  powerW: number | null
  tempMaxC: number | null
}

/** Longest device-provided string kept (a 10 KB hostname is cut, not stored). */
export const MAX_DEVICE_TEXT = 256

const cap = (s: string | null): string | null => (s === null ? null : s.slice(0, MAX_DEVICE_TEXT))

interface Row {
  id: string
  mac: string | null
  serial: string | null
  hostname: string | null
  ip: string | null
  vendor: string | null
  kind: string | null
  model: string | null
  firmware: string | null
  http_port: number | null
  rpc_port: number | null
  v3_port: number | null
  name: string | null
  site: string | null
  rack: string | null
  row_label: string | null
  slot: string | null
  tags_json: string
  source: string
  first_seen_ms: number
  last_seen_ms: number | null
  online: number | null
  offline_since_ms: number | null
  last_error: string | null
  capabilities_json: string | null
  status_json: string | null
  worker: string | null
  user_agent: string | null
  first_share_ms: number | null
  first_share_diff: number | null
  first_share_worker: string | null
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback
  try {
    return JSON.parse(text) as T
  } catch {
    // Only this process writes these columns; a broken value is treated as absent.
    return fallback
  }
}

function fromRow(r: Row): DeviceRecord {
  const rec: DeviceRecord = {
    id: r.id,
    identityKey: '',
    vendor: (r.vendor as Vendor | null) ?? null,
    kind: r.kind,
    model: r.model,
    firmware: r.firmware,
    mac: r.mac,
    serial: r.serial,
    hostname: r.hostname,
    ip: r.ip,
    httpPort: r.http_port,
    rpcPort: r.rpc_port,
    v3Port: r.v3_port,
    name: r.name,
    location: { site: r.site, rack: r.rack, row: r.row_label, slot: r.slot },
    tags: parseJson<string[]>(r.tags_json, []),
    source: r.source as DeviceRecord['source'],
    firstSeenMs: r.first_seen_ms,
    lastSeenMs: r.last_seen_ms,
    online: r.online === null ? null : r.online === 1,
    offlineSinceMs: r.offline_since_ms,
    lastError: r.last_error,
    capabilities: parseJson<DriverCapabilities | null>(r.capabilities_json, null),
    status: parseJson<DeviceStatusFrame | null>(r.status_json, null),
    worker: r.worker,
    userAgent: r.user_agent,
    firstShare:
      r.first_share_ms === null
        ? null
        : { tsMs: r.first_share_ms, difficulty: r.first_share_diff ?? 0, worker: r.first_share_worker },
  }
  rec.identityKey = identityKeyOf(rec)
  return rec
}

const newId = () => `d-${randomBytes(6).toString('hex')}`

export class DeviceRepo {
  readonly #db: Database
  readonly #byId = new Map<string, DeviceRecord>()
  readonly #listeners = new Set<(id: string) => void>()
  /** Records whose poll results are not on disk yet (written in one transaction, see #deferSave). */
  readonly #dirty = new Set<string>()
  #flushTimer: ReturnType<typeof setTimeout> | undefined
  readonly #upsert: ReturnType<Database['prepare']>
  /** Only the columns a poll changes: a deferred save binds 6 values, not 31. */
  readonly #pollUpdate: ReturnType<Database['prepare']>
  readonly #insertSample: ReturnType<Database['prepare']>

  constructor(db: Database) {
    this.#db = db
    this.#upsert = db.prepare(
      `INSERT INTO devices (id, mac, serial, hostname, ip, vendor, kind, model, firmware, http_port, rpc_port, v3_port,
           name, site, rack, row_label, slot, tags_json, source, first_seen_ms, last_seen_ms, online, offline_since_ms,
           last_error, capabilities_json, status_json, worker, user_agent, first_share_ms, first_share_diff,
           first_share_worker)
         VALUES (@id, @mac, @serial, @hostname, @ip, @vendor, @kind, @model, @firmware, @http_port, @rpc_port, @v3_port,
           @name, @site, @rack, @row_label, @slot, @tags_json, @source, @first_seen_ms, @last_seen_ms, @online,
           @offline_since_ms, @last_error, @capabilities_json, @status_json, @worker, @user_agent, @first_share_ms,
           @first_share_diff, @first_share_worker)
         ON CONFLICT(id) DO UPDATE SET mac=excluded.mac, serial=excluded.serial, hostname=excluded.hostname,
           ip=excluded.ip, vendor=excluded.vendor, kind=excluded.kind, model=excluded.model, firmware=excluded.firmware,
           http_port=excluded.http_port, rpc_port=excluded.rpc_port, v3_port=excluded.v3_port, name=excluded.name, site=excluded.site,
           rack=excluded.rack, row_label=excluded.row_label, slot=excluded.slot, tags_json=excluded.tags_json,
           source=excluded.source, last_seen_ms=excluded.last_seen_ms, online=excluded.online,
           offline_since_ms=excluded.offline_since_ms, last_error=excluded.last_error,
           capabilities_json=excluded.capabilities_json, status_json=excluded.status_json, worker=excluded.worker,
           user_agent=excluded.user_agent, first_share_ms=excluded.first_share_ms,
           first_share_diff=excluded.first_share_diff, first_share_worker=excluded.first_share_worker`,
    )
    this.#pollUpdate = db.prepare(
      `UPDATE devices SET last_seen_ms = @last_seen_ms, online = @online, offline_since_ms = @offline_since_ms,
         last_error = @last_error, status_json = @status_json WHERE id = @id`,
    )
    this.#insertSample = db.prepare(
      `INSERT OR REPLACE INTO device_samples (device_id, ts_ms, online, hashrate_ths, power_w, temp_max_c)
         VALUES (@device_id, @ts_ms, @online, @hashrate_ths, @power_w, @temp_max_c)`,
    )
    for (const r of db.prepare('SELECT * FROM devices').all() as Row[]) this.#byId.set(r.id, fromRow(r))
  }

  list(): DeviceRecord[] {
    return [...this.#byId.values()]
  }

  get(id: string): DeviceRecord | undefined {
    return this.#byId.get(id)
  }

  findByIp(ip: string): DeviceRecord | undefined {
    for (const r of this.#byId.values()) if (r.ip === ip) return r
    return undefined
  }

  /** Called with the id of every record that changed (or was deleted). */
  onChange(cb: (id: string) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  #emit(id: string): void {
    for (const cb of this.#listeners) cb(id)
  }

  /**
   * Poll results change every device every 15 s: they update memory at once and reach the disk in
   * one transaction per 250 ms instead of one commit per device, keeping the event loop free.
   * Only for changes to the poll columns (see #pollUpdate); any other change goes through #save,
   * which also writes the poll columns and takes the record off the pending list.
   */
  #deferSave(rec: DeviceRecord): void {
    this.#byId.set(rec.id, rec)
    this.#dirty.add(rec.id)
    if (this.#flushTimer) return
    this.#flushTimer = setTimeout(() => this.flush(), 250)
    this.#flushTimer.unref?.()
  }

  /** Writes pending poll results. Called by the timer and on shutdown. */
  flush(): void {
    if (this.#flushTimer) clearTimeout(this.#flushTimer)
    this.#flushTimer = undefined
    if (this.#dirty.size === 0 || !this.#db.open) return
    const ids = [...this.#dirty]
    this.#dirty.clear()
    this.#db.transaction(() => {
      for (const id of ids) {
        const r = this.#byId.get(id)
        if (r)
          this.#pollUpdate.run({
            id: r.id,
            last_seen_ms: r.lastSeenMs,
            online: r.online === null ? null : r.online ? 1 : 0,
            offline_since_ms: r.offlineSinceMs,
            last_error: r.lastError,
            status_json: r.status ? JSON.stringify(r.status) : null,
          })
      }
    })()
  }

  #save(rec: DeviceRecord): void {
    this.#dirty.delete(rec.id)
    rec.identityKey = identityKeyOf(rec)
    this.#upsert.run({
      id: rec.id,
      mac: rec.mac,
      serial: rec.serial,
      hostname: rec.hostname,
      ip: rec.ip,
      vendor: rec.vendor,
      kind: rec.kind,
      model: rec.model,
      firmware: rec.firmware,
      http_port: rec.httpPort,
      rpc_port: rec.rpcPort,
      v3_port: rec.v3Port,
      name: rec.name,
      site: rec.location.site,
      rack: rec.location.rack,
      row_label: rec.location.row,
      slot: rec.location.slot,
      tags_json: JSON.stringify(rec.tags),
      source: rec.source,
      first_seen_ms: rec.firstSeenMs,
      last_seen_ms: rec.lastSeenMs,
      online: rec.online === null ? null : rec.online ? 1 : 0,
      offline_since_ms: rec.offlineSinceMs,
      last_error: rec.lastError,
      capabilities_json: rec.capabilities ? JSON.stringify(rec.capabilities) : null,
      status_json: rec.status ? JSON.stringify(rec.status) : null,
      worker: rec.worker,
      user_agent: rec.userAgent,
      first_share_ms: rec.firstShare?.tsMs ?? null,
      first_share_diff: rec.firstShare?.difficulty ?? null,
      first_share_worker: rec.firstShare?.worker ?? null,
    })
    this.#byId.set(rec.id, rec)
  }

  /**
   * Records a sighting: updates the matching record (filling in what it learned: a MAC for an
   * IP-only record, the new IP after a DHCP change) or creates one. Weak duplicates at the same
   * IP (a passive record, an RPC-only identify) are merged in, and another record still claiming
   * the IP loses it: two machines cannot hold one address.
   */
  upsertSighting(s: Sighting, nowMs = Date.now()): UpsertResult {
    const sighting = {
      ...s,
      mac: cap(s.mac),
      serial: cap(s.serial),
      hostname: cap(s.hostname),
      model: cap(s.model),
      firmware: cap(s.firmware),
      kind: cap(s.kind),
    }
    return this.#db.transaction((): UpsertResult => {
      const all = this.list()
      const match = findMatch(all, sighting)
      let rec: DeviceRecord
      let created = false
      if (match) {
        rec = { ...match.record, location: { ...match.record.location }, tags: [...match.record.tags] }
        const prevIp = rec.ip
        rec.mac = sighting.mac ?? rec.mac
        rec.serial = sighting.serial ?? rec.serial
        rec.hostname = sighting.hostname ?? rec.hostname
        rec.ip = sighting.ip ?? rec.ip
        rec.vendor = sighting.vendor ?? rec.vendor
        rec.kind = sighting.kind ?? rec.kind
        rec.model = sighting.model ?? rec.model
        rec.firmware = sighting.firmware ?? rec.firmware
        rec.httpPort = sighting.httpPort ?? rec.httpPort
        rec.rpcPort = sighting.rpcPort ?? rec.rpcPort
        rec.v3Port = sighting.v3Port ?? rec.v3Port
        rec.capabilities = sighting.capabilities ?? rec.capabilities
        // A better-informed discovery replaces a passive guess.
        if (rec.source === 'passive' && sighting.source !== 'passive') rec.source = sighting.source
        rec.lastSeenMs = nowMs
        this.#save(rec)
        if (prevIp !== null && sighting.ip !== null && prevIp !== sighting.ip)
          this.#appendAction(rec.id, 'address-changed', 'info', `Address changed from ${prevIp} to ${sighting.ip}`, {
            from: prevIp,
            to: sighting.ip,
          })
      } else {
        created = true
        rec = {
          id: newId(),
          identityKey: '',
          vendor: sighting.vendor,
          kind: sighting.kind,
          model: sighting.model,
          firmware: sighting.firmware,
          mac: sighting.mac,
          serial: sighting.serial,
          hostname: sighting.hostname,
          ip: sighting.ip,
          httpPort: sighting.httpPort,
          rpcPort: sighting.rpcPort,
          v3Port: sighting.v3Port,
          name: null,
          location: { site: null, rack: null, row: null, slot: null },
          tags: [],
          source: sighting.source,
          firstSeenMs: nowMs,
          lastSeenMs: nowMs,
          online: null,
          offlineSinceMs: null,
          lastError: null,
          capabilities: sighting.capabilities,
          status: null,
          worker: null,
          userAgent: null,
          firstShare: null,
        }
        this.#save(rec)
        this.#appendAction(rec.id, 'discovered', 'info', `Found by ${sighting.source} at ${sighting.ip ?? 'unknown'}`)
      }
      const merged: string[] = []
      if (rec.ip !== null) {
        for (const other of this.list()) {
          if (other.id === rec.id || other.ip !== rec.ip) continue
          if (isWeak(other) && !conflicts(other, rec) && (other.vendor === null || other.vendor === rec.vendor)) {
            this.#mergeInto(rec, other)
            merged.push(other.id)
          } else {
            const moved = { ...other, ip: null, online: false, offlineSinceMs: other.offlineSinceMs ?? nowMs }
            this.#save(moved)
            this.#appendAction(
              other.id,
              'address-lost',
              'info',
              `Address ${rec.ip} now belongs to another device; waiting to be found again`,
            )
            this.#emit(other.id)
          }
        }
      }
      this.#emit(rec.id)
      return { record: this.#byId.get(rec.id) ?? rec, created, matchedBy: match?.by ?? null, merged }
    })()
  }

  /** Folds a weak duplicate into `into`: owner fields it lacks, action history; then deletes it. */
  #mergeInto(into: DeviceRecord, dup: DeviceRecord): void {
    const next = { ...into, location: { ...into.location } }
    next.name ??= dup.name
    for (const k of ['site', 'rack', 'row', 'slot'] as const) next.location[k] ??= dup.location[k]
    next.tags = [...new Set([...into.tags, ...dup.tags])]
    next.worker ??= dup.worker
    next.userAgent ??= dup.userAgent
    next.firstSeenMs = Math.min(into.firstSeenMs, dup.firstSeenMs)
    this.#save(next)
    this.#db.prepare('UPDATE device_actions SET device_id = ? WHERE device_id = ?').run(into.id, dup.id)
    this.#db.prepare('UPDATE device_samples SET device_id = ? WHERE device_id = ?').run(into.id, dup.id)
    this.#db.prepare('DELETE FROM devices WHERE id = ?').run(dup.id)
    this.#byId.delete(dup.id)
    this.#appendAction(into.id, 'merged', 'info', `Merged the record first seen at ${dup.ip ?? 'unknown'}`)
    this.#emit(dup.id)
  }

  /** Applies an owner edit and logs it. Undefined when the device does not exist. */
  update(
    id: string,
    change: (r: DeviceRecord) => void,
    log?: { action: string; message: string },
  ): DeviceRecord | undefined {
    const cur = this.#byId.get(id)
    if (!cur) return undefined
    const next: DeviceRecord = { ...cur, location: { ...cur.location }, tags: [...cur.tags] }
    change(next)
    this.#db.transaction(() => {
      this.#save(next)
      if (log) this.#appendAction(id, log.action, 'ok', log.message)
    })()
    this.#emit(id)
    return next
  }

  /** A successful poll. Returns true when the device came back online. */
  recordStatus(id: string, status: DeviceStatus, nowMs = Date.now()): boolean {
    const cur = this.#byId.get(id)
    if (!cur) return false
    const cameBack = cur.online === false
    const next: DeviceRecord = {
      ...cur,
      status,
      online: true,
      offlineSinceMs: null,
      lastError: null,
      lastSeenMs: nowMs,
    }
    this.#deferSave(next)
    if (cameBack) this.#appendAction(id, 'online', 'info', 'The device answers again')
    this.#emit(id)
    return cameBack
  }

  /** A failed poll; `offline` marks it offline from `sinceMs` (the first failure of the run). */
  recordFailure(id: string, message: string, offline: boolean, sinceMs: number): void {
    const cur = this.#byId.get(id)
    if (!cur) return
    const goingOffline = offline && cur.online !== false
    const next: DeviceRecord = {
      ...cur,
      lastError: message.slice(0, 500),
      online: offline ? false : cur.online,
      offlineSinceMs: offline ? (cur.offlineSinceMs ?? sinceMs) : cur.offlineSinceMs,
    }
    this.#deferSave(next)
    if (goingOffline) this.#appendAction(id, 'offline', 'info', `No answer: ${message.slice(0, 200)}`)
    this.#emit(id)
  }

  /** Passive sighting from the pool or proxy: the stratum worker and user agent. */
  notePassive(id: string, worker: string | null, userAgent: string | null, nowMs = Date.now()): void {
    const cur = this.#byId.get(id)
    if (!cur) return
    this.#save({
      ...cur,
      worker: cap(worker) ?? cur.worker,
      userAgent: cap(userAgent) ?? cur.userAgent,
      lastSeenMs: nowMs,
    })
    this.#emit(id)
  }

  /**
   * The first accepted share since discovery or since the last pool change. Returns true when this
   * share is that first one (it is recorded and logged); later shares change nothing.
   */
  noteFirstShare(id: string, share: { tsMs: number; difficulty: number; worker: string | null }): boolean {
    const cur = this.#byId.get(id)
    if (!cur || cur.firstShare !== null) return false
    const next: DeviceRecord = {
      ...cur,
      firstShare: { tsMs: share.tsMs, difficulty: share.difficulty, worker: cap(share.worker) },
      lastSeenMs: share.tsMs,
    }
    this.#db.transaction(() => {
      this.#save(next)
      this.#appendAction(id, 'first-share', 'ok', `First share accepted at difficulty ${share.difficulty}`, {
        difficulty: share.difficulty,
        worker: cap(share.worker),
      })
    })()
    this.#emit(id)
    return true
  }

  /** Forgets the first share, so the next accepted one confirms a new pool setting. */
  clearFirstShare(id: string): void {
    const cur = this.#byId.get(id)
    if (!cur || cur.firstShare === null) return
    this.#save({ ...cur, firstShare: null })
    this.#emit(id)
  }

  #appendAction(
    deviceId: string,
    action: string,
    outcome: ActionRow['outcome'],
    message: string,
    data?: Record<string, unknown>,
  ): void {
    this.#db
      .prepare(
        'INSERT INTO device_actions (device_id, ts_ms, action, outcome, message, data_json) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(deviceId, Date.now(), action, outcome, message, data ? JSON.stringify(data) : null)
  }

  /** Appends to a device's action log. Never pass secrets in `data`. */
  logAction(
    deviceId: string,
    action: string,
    outcome: ActionRow['outcome'],
    message: string,
    data?: Record<string, unknown>,
  ): void {
    if (!this.#byId.has(deviceId)) return
    this.#appendAction(deviceId, action, outcome, message, data)
  }

  /** Newest first. */
  actions(opts: { deviceId?: string; beforeSeq?: number; limit?: number } = {}): ActionRow[] {
    const rows = this.#db
      .prepare(
        `SELECT seq, device_id, ts_ms, action, outcome, message, data_json FROM device_actions
         WHERE (@dev IS NULL OR device_id = @dev) AND seq < @before ORDER BY seq DESC LIMIT @limit`,
      )
      .all({
        dev: opts.deviceId ?? null,
        before: opts.beforeSeq ?? Number.MAX_SAFE_INTEGER,
        limit: opts.limit ?? 200,
      }) as Array<{
      seq: number
      device_id: string
      ts_ms: number
      action: string
      outcome: ActionRow['outcome']
      message: string
      data_json: string | null
    }>
    return rows.map((r) => {
      const base: ActionRow = {
        seq: r.seq,
        deviceId: r.device_id,
        tsMs: r.ts_ms,
        action: r.action,
        outcome: r.outcome,
        message: r.message,
      }
      const data = parseJson<Record<string, unknown> | null>(r.data_json, null)
      return data ? { ...base, data } : base
    })
  }

  /** Telemetry history, written in one transaction per poll tick. */
  insertSamples(rows: readonly SampleRow[]): void {
    if (rows.length === 0) return
    const stmt = this.#insertSample
    this.#db.transaction(() => {
      for (const r of rows)
        if (this.#byId.has(r.deviceId))
          stmt.run({
            device_id: r.deviceId,
            ts_ms: r.tsMs,
            online: r.online ? 1 : 0,
            hashrate_ths: r.hashrateThs,
            power_w: r.powerW,
            temp_max_c: r.tempMaxC,
          })
    })()
  }

  samples(deviceId: string, sinceMs = 0, limit = 1000): SampleRow[] {
    const rows = this.#db
      .prepare(
        'SELECT ts_ms, online, hashrate_ths, power_w, temp_max_c FROM device_samples WHERE device_id = ? AND ts_ms >= ? ORDER BY ts_ms LIMIT ?',
      )
      .all(deviceId, sinceMs, limit) as Array<{
      ts_ms: number
      online: number
      hashrate_ths: number | null
      power_w: number | null
      temp_max_c: number | null
    }>
    return rows.map((r) => ({
      deviceId,
      tsMs: r.ts_ms,
      online: r.online === 1,
      hashrateThs: r.hashrate_ths,
      powerW: r.power_w,
      tempMaxC: r.temp_max_c,
    }))
  }

  /** Drops telemetry older than the retention window. */
  pruneSamples(olderThanMs: number): void {
    this.#db.prepare('DELETE FROM device_samples WHERE ts_ms < ?').run(olderThanMs)
  }
}
