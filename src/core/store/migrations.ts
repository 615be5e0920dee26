import type { Database } from './sqlite'

/**
 * Numbered, append-only. Each runs once in its own transaction; never edit a released one —
 * add the next number. Modules add their tables here (pool, proxy, devices, history…).
 */
export interface Migration {
  version: number
  name: string
  up: string | ((db: Database) => void)
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'foundation',
    up: `
      CREATE TABLE settings (key TEXT PRIMARY KEY, value_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL);
      CREATE TABLE secrets (ref TEXT PRIMARY KEY, scheme TEXT NOT NULL, blob BLOB NOT NULL, updated_at_ms INTEGER NOT NULL);
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, level TEXT NOT NULL, source TEXT NOT NULL,
        message TEXT NOT NULL, data_json TEXT
      );
      CREATE TABLE system_samples (
        ts_ms INTEGER PRIMARY KEY, uptime_s REAL NOT NULL, rss_bytes INTEGER NOT NULL, heap_used_bytes INTEGER NOT NULL,
        event_loop_delay_p99_ms REAL NOT NULL, connections INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
]

export function currentSchemaVersion(db: Database): number {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)',
  )
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }
  return row.v ?? 0
}

/**
 * Applies every migration not yet recorded, in version order; returns the versions applied.
 * Tracked per version, not by "highest applied": modules own separate version ranges, so a module
 * added later (say 200–299 after 600 exists) must still get its tables. Throws, naming the
 * migration, if one fails; that migration's transaction is rolled back.
 */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number[] {
  const seen = new Set<number>()
  for (const m of migrations) {
    if (seen.has(m.version)) throw new Error(`two migrations share version ${m.version}`)
    seen.add(m.version)
  }
  currentSchemaVersion(db) // creates the bookkeeping table on a new database
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  )
  const applied: number[] = []
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue
    try {
      db.transaction(() => {
        if (typeof m.up === 'string') db.exec(m.up)
        else m.up(db)
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(
          m.version,
          m.name,
          Date.now(),
        )
      })()
    } catch (e) {
      throw new Error(`migration ${m.version} (${m.name}) failed: ${e instanceof Error ? e.message : String(e)}`)
    }
    applied.push(m.version)
  }
  return applied
}
