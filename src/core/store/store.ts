import { copyFileSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../logger'
import { currentSchemaVersion, MIGRATIONS, type Migration, migrate } from './migrations'
import { type Database, openDatabase } from './sqlite'

export interface StoreInfo {
  driver: string
  sqliteVersion: string
  file: string
  schemaVersion: number
}

export interface Store {
  readonly db: Database
  readonly info: StoreInfo
  close(): void
}

/**
 * Opens (or creates) `hashyard.db` in the data folder. WAL + synchronous=NORMAL: a committed
 * transaction survives the process being killed at any moment (only an OS crash can lose the last
 * commits), which is what settings need; telemetry is batched once a second on top of that.
 */
export function openStore(
  dataDir: string,
  logger: Logger,
  moduleMigrations: Migration[] = [],
  file = 'hashyard.db',
): Store {
  const all = [...MIGRATIONS, ...moduleMigrations]
  mkdirSync(dataDir, { recursive: true })
  const path = join(dataDir, file)
  const existed = existsSync(path)
  const db = openDatabase(path)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  const integrity = db.pragma('quick_check', { simple: true })
  if (integrity !== 'ok') logger.error('store integrity check failed', { result: String(integrity) })

  const before = currentSchemaVersion(db)
  const latest = Math.max(...all.map((m) => m.version))
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  )
  const pending = all.filter((m) => !done.has(m.version))
  if (existed && before > 0 && pending.length > 0) {
    // A copy before changing the schema: a failed or buggy migration must never cost the owner their data.
    db.pragma('wal_checkpoint(TRUNCATE)')
    copyFileSync(path, `${path}.before-v${latest}.bak`)
  }
  const applied = migrate(db, all)
  if (applied.length) logger.info('store migrated', { from: before, applied })

  const sqliteVersion = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v
  return {
    db,
    info: { driver: 'better-sqlite3', sqliteVersion, file: path, schemaVersion: currentSchemaVersion(db) },
    close() {
      if (!db.open) return
      db.pragma('wal_checkpoint(TRUNCATE)')
      db.close()
    },
  }
}
