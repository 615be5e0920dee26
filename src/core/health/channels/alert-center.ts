import { randomUUID } from 'node:crypto'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Database } from '../../store/sqlite'
import type { Clock } from '../clock'
import type { AlertData, AlertEvent, AlertSubject, OpenIncident, RuleType, Severity } from '../rules/types'
import type { AlertChannel } from './types'

/** One line of the in-app alert centre: an incident (fired → recovered) or an instant event. */
export interface AlertRecord {
  id: string
  ruleId: string
  ruleType: RuleType | 'test'
  severity: Severity
  subject: AlertSubject
  title: string
  message: string
  data: AlertData
  instant: boolean
  firedAtMs: number
  recoveredAtMs: number | null
  recoveryMessage: string | null
  ackedAtMs: number | null
}

export interface AlertListQuery {
  /** Only incidents not yet recovered (instant events excluded). */
  openOnly?: boolean
  unacknowledgedOnly?: boolean
  /** Newest first; default 200, at most 1000. */
  limit?: number
  /** Paging: records fired strictly before this. */
  beforeMs?: number
}

interface Row {
  id: string
  rule_id: string
  rule_type: string
  severity: string
  subject_kind: string
  subject_id: string
  subject_name: string
  title: string
  message: string
  data_json: string | null
  instant: number
  fired_at_ms: number
  recovered_at_ms: number | null
  recovery_message: string | null
  acked_at_ms: number | null
}

const toRecord = (r: Row): AlertRecord => ({
  id: r.id,
  ruleId: r.rule_id,
  ruleType: r.rule_type as AlertRecord['ruleType'],
  severity: r.severity as Severity,
  subject: { kind: r.subject_kind as AlertSubject['kind'], id: r.subject_id, name: r.subject_name },
  title: r.title,
  message: r.message,
  data: r.data_json ? (JSON.parse(r.data_json) as AlertData) : {},
  instant: r.instant === 1,
  firedAtMs: r.fired_at_ms,
  recoveredAtMs: r.recovered_at_ms,
  recoveryMessage: r.recovery_message,
  ackedAtMs: r.acked_at_ms,
})

/**
 * The in-app alert centre (issue 7 §3): every event the engine emits — including the ones the
 * rate limit kept from other channels — persisted in `health_alerts`, with acknowledge. It is
 * also where a restarted engine learns which incidents are still open (`openIncidents`).
 * Bounded: past `maxRecords`, the oldest finished records are deleted.
 */
export class AlertCenter {
  readonly #db: Database
  readonly #now: Clock
  readonly #max: number
  readonly #listeners = new Set<(r: AlertRecord) => void>()

  constructor(db: Database, now: Clock, opts: { maxRecords?: number } = {}) {
    this.#db = db
    this.#now = now
    this.#max = opts.maxRecords ?? 10_000
  }

  /** Stores an engine event; returns the record as it now stands. */
  record(e: AlertEvent): AlertRecord | undefined {
    if (e.phase === 'fired' || e.phase === 'event') {
      this.#insert({ ...e, ruleType: e.ruleType, instant: e.phase === 'event' })
    } else {
      const note = e.phase === 'closed' ? e.message : `${e.title}. ${e.message}`.trim()
      this.#db
        .prepare(
          'UPDATE health_alerts SET recovered_at_ms = ?, recovery_message = ? WHERE id = ? AND recovered_at_ms IS NULL',
        )
        .run(e.tsMs, note, e.incidentId)
    }
    const rec = this.get(e.incidentId)
    if (rec) this.#emit(rec)
    return rec
  }

  get(id: string): AlertRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM health_alerts WHERE id = ?').get(id) as Row | undefined
    return row ? toRecord(row) : undefined
  }

  list(q: AlertListQuery = {}): AlertRecord[] {
    const where: string[] = []
    const args: number[] = []
    if (q.openOnly) where.push('recovered_at_ms IS NULL AND instant = 0')
    if (q.unacknowledgedOnly) where.push('acked_at_ms IS NULL')
    if (q.beforeMs !== undefined) {
      where.push('fired_at_ms < ?')
      args.push(q.beforeMs)
    }
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 200)))
    const sql = `SELECT * FROM health_alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY fired_at_ms DESC, rowid DESC LIMIT ${limit}`
    return (this.#db.prepare(sql).all(...args) as Row[]).map(toRecord)
  }

  acknowledge(id: string): Result<AlertRecord, AppError> {
    const changes = this.#db
      .prepare('UPDATE health_alerts SET acked_at_ms = COALESCE(acked_at_ms, ?) WHERE id = ?')
      .run(this.#now(), id).changes
    const rec = changes ? this.get(id) : undefined
    if (!rec) return err(appError('NOT_FOUND', 'no such alert'))
    this.#emit(rec)
    return ok(rec)
  }

  /** Acknowledges everything; returns how many records changed. */
  acknowledgeAll(): number {
    return this.#db.prepare('UPDATE health_alerts SET acked_at_ms = ? WHERE acked_at_ms IS NULL').run(this.#now())
      .changes
  }

  counts(): { open: number; unacknowledged: number } {
    const row = this.#db
      .prepare(
        'SELECT SUM(recovered_at_ms IS NULL AND instant = 0) AS open, SUM(acked_at_ms IS NULL) AS unacked FROM health_alerts',
      )
      .get() as { open: number | null; unacked: number | null }
    return { open: row.open ?? 0, unacknowledged: row.unacked ?? 0 }
  }

  /** Open incidents by severity (the badge colour, the `hashyard_alerts_open` gauge). */
  openBySeverity(): Record<Severity, number> {
    const out: Record<Severity, number> = { info: 0, warning: 0, critical: 0 }
    const rows = this.#db
      .prepare(
        'SELECT severity, COUNT(*) AS n FROM health_alerts WHERE recovered_at_ms IS NULL AND instant = 0 GROUP BY severity',
      )
      .all() as Array<{ severity: string; n: number }>
    for (const r of rows) if (r.severity in out) out[r.severity as Severity] = r.n
    return out
  }

  /** For a new engine at start-up: incidents that fired and have not recovered. */
  openIncidents(): OpenIncident[] {
    const rows = this.#db
      .prepare(
        'SELECT id, rule_id, subject_kind, subject_id, fired_at_ms FROM health_alerts WHERE recovered_at_ms IS NULL AND instant = 0',
      )
      .all() as Array<Pick<Row, 'id' | 'rule_id' | 'subject_kind' | 'subject_id' | 'fired_at_ms'>>
    return rows.map((r) => ({
      incidentId: r.id,
      ruleId: r.rule_id,
      subject: { kind: r.subject_kind as AlertSubject['kind'], id: r.subject_id },
      firedAtMs: r.fired_at_ms,
    }))
  }

  /** Addresses already announced as unknown devices (so a restart does not announce them again). */
  announcedAddresses(): string[] {
    return (
      this.#db
        .prepare("SELECT DISTINCT subject_id FROM health_alerts WHERE rule_type = 'unknown-device'")
        .all() as Array<{ subject_id: string }>
    ).map((r) => r.subject_id)
  }

  /** Live updates for the UI (`alerts.stream`); returns the unsubscribe. */
  onChange(listener: (r: AlertRecord) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** The centre as a channel, so "Send test" works for it too. */
  asChannel(id = 'in-app'): AlertChannel {
    const sendTest = async () => {
      const now = this.#now()
      const rec = this.#insert({
        incidentId: `test-${randomUUID()}`,
        ruleId: 'test',
        ruleType: 'test',
        severity: 'info',
        subject: { kind: 'farm', id: 'farm', name: 'Farm' },
        tsMs: now,
        title: 'Hashyard test message',
        message: 'This is a test: alerts for your farm will appear here.',
        data: { test: true },
        instant: true,
      })
      if (rec) this.#emit(rec)
      return ok(undefined)
    }
    return { id, kind: 'in-app', send: async () => ok(undefined), sendTest }
  }

  #insert(e: {
    incidentId: string
    ruleId: string
    ruleType: AlertRecord['ruleType']
    severity: Severity
    subject: AlertSubject
    tsMs: number
    title: string
    message: string
    data: AlertData
    instant: boolean
  }): AlertRecord | undefined {
    this.#db
      .prepare(
        `INSERT OR IGNORE INTO health_alerts (id, rule_id, rule_type, severity, subject_kind, subject_id, subject_name,
           title, message, data_json, instant, fired_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        e.incidentId,
        e.ruleId,
        e.ruleType,
        e.severity,
        e.subject.kind,
        e.subject.id,
        e.subject.name,
        e.title,
        e.message,
        JSON.stringify(e.data),
        e.instant ? 1 : 0,
        e.tsMs,
      )
    this.#prune()
    return this.get(e.incidentId)
  }

  #emit(r: AlertRecord): void {
    for (const l of this.#listeners) l(r)
  }

  #prune(): void {
    const n = (this.#db.prepare('SELECT COUNT(*) AS n FROM health_alerts').get() as { n: number }).n
    if (n <= this.#max) return
    this.#db
      .prepare(
        `DELETE FROM health_alerts WHERE id IN (SELECT id FROM health_alerts WHERE recovered_at_ms IS NOT NULL OR instant = 1
           ORDER BY fired_at_ms ASC LIMIT ?)`,
      )
      .run(n - this.#max)
  }
}
