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

/** Applies pending migrations; returns the versions applied. Throws (with the version) if one fails. */
export function migrate(db: Database, migrations: Migration[] = MIGRATIONS): number[] {
  const seen = new Set<number>()
  for (const m of migrations) {
    if (seen.has(m.version)) throw new Error(`two migrations share version ${m.version}`)
    seen.add(m.version)
  }
  const from = currentSchemaVersion(db)
  const applied: number[] = []
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= from) continue
    db.transaction(() => {
      if (typeof m.up === 'string') db.exec(m.up)
      else m.up(db)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      )
    })()
    applied.push(m.version)
  }
  return applied
}
