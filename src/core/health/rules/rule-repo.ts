import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Logger } from '../../logger'
import type { Database } from '../../store/sqlite'
import type { Clock } from '../clock'
import { DEFAULT_RULES } from './defaults'
import { parseRule } from './schema'
import type { AlertRule } from './types'

/**
 * The owner's alert rules. A fresh store is seeded with `DEFAULT_RULES` (all on); from then on
 * the table is the truth, so a rule the owner deleted stays deleted. Every write is validated;
 * a row that no longer parses (hand-edited, or from a newer version) is skipped with a warning.
 */
export class RuleRepo {
  readonly #db: Database
  readonly #now: Clock
  readonly #log: Logger

  constructor(db: Database, now: Clock, logger: Logger) {
    this.#db = db
    this.#now = now
    this.#log = logger
  }

  list(): AlertRule[] {
    const rows = this.#db.prepare('SELECT id, rule_json FROM health_rules ORDER BY rowid').all() as Array<{
      id: string
      rule_json: string
    }>
    if (rows.length === 0 && !this.#seeded()) {
      this.resetToDefaults()
      return DEFAULT_RULES.map((r) => ({ ...r }))
    }
    const out: AlertRule[] = []
    for (const row of rows) {
      let parsed: unknown
      try {
        parsed = JSON.parse(row.rule_json)
      } catch {
        parsed = undefined
      }
      const r = parseRule(parsed)
      if (r.ok) out.push(r.value)
      else this.#log.warn('alert rule skipped: stored value is invalid', { id: row.id, error: r.error.message })
    }
    return out
  }

  /** Creates or replaces a rule from untrusted input. */
  save(input: unknown): Result<AlertRule, AppError> {
    const r = parseRule(input)
    if (!r.ok) return r
    this.#db
      .prepare(
        'INSERT INTO health_rules (id, rule_json, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET rule_json = excluded.rule_json, updated_at_ms = excluded.updated_at_ms',
      )
      .run(r.value.id, JSON.stringify(r.value), this.#now())
    this.#markSeeded()
    return r
  }

  delete(id: string): Result<void, AppError> {
    this.list() // seeds a fresh store first, so deleting a default sticks
    const changes = this.#db.prepare('DELETE FROM health_rules WHERE id = ?').run(id).changes
    return changes === 0 ? err(appError('NOT_FOUND', `no alert rule "${id.slice(0, 64)}"`)) : ok(undefined)
  }

  resetToDefaults(): AlertRule[] {
    const now = this.#now()
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM health_rules').run()
      const ins = this.#db.prepare('INSERT INTO health_rules (id, rule_json, updated_at_ms) VALUES (?, ?, ?)')
      for (const r of DEFAULT_RULES) ins.run(r.id, JSON.stringify(r), now)
      this.#markSeeded()
    })()
    return DEFAULT_RULES.map((r) => ({ ...r }))
  }

  #seeded(): boolean {
    return this.#db.prepare("SELECT 1 FROM health_meta WHERE key = 'rules-seeded'").get() !== undefined
  }

  #markSeeded(): void {
    this.#db.prepare("INSERT OR IGNORE INTO health_meta (key, value) VALUES ('rules-seeded', '1')").run()
  }
}
