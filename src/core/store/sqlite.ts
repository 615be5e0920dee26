import { createRequire } from 'node:module'
import type BetterSqlite3 from 'better-sqlite3'

/**
 * The only module that loads the SQLite addon. better-sqlite3 13 ships N-API prebuilds, so the same
 * binary loads in Node ≥ 22.14 and in Electron 45's utility process without a rebuild
 * (docs/architecture.md "Store" has the measurement behind choosing it over node:sqlite).
 * Loaded with require at run time so the bundler keeps it external.
 */
export type Database = BetterSqlite3.Database

export function openDatabase(file: string): Database {
  const require = createRequire(import.meta.url)
  const Ctor = require('better-sqlite3') as typeof BetterSqlite3
  return new Ctor(file)
}
