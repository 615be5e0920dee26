// Store driver benchmark: better-sqlite3 13 vs node:sqlite on the write pattern Hashyard has
// (telemetry and shares batched into one transaction per second) and on a range query.
// Run: npx tsx bench/store.ts   (part of npm run bench)
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'

interface Driver {
  name: string
  open(file: string): {
    exec(sql: string): void
    insertMany(rows: Array<[number, number, number]>): void
    rangeCount(from: number, to: number): number
    close(): void
  }
}

const require = createRequire(import.meta.url)

const better: Driver = {
  name: 'better-sqlite3 13',
  open(file) {
    const Db = require('better-sqlite3') as typeof import('better-sqlite3')
    const db = new Db(file)
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    db.exec('CREATE TABLE s (ts INTEGER PRIMARY KEY, a REAL, b REAL) WITHOUT ROWID')
    const ins = db.prepare('INSERT INTO s VALUES (?, ?, ?)')
    const q = db.prepare('SELECT COUNT(*) AS c, AVG(a) AS m FROM s WHERE ts BETWEEN ? AND ?')
    const tx = db.transaction((rows: Array<[number, number, number]>) => {
      for (const r of rows) ins.run(r[0], r[1], r[2])
    })
    return {
      exec: (s) => db.exec(s),
      insertMany: (rows) => tx(rows),
      rangeCount: (f, t) => (q.get(f, t) as { c: number }).c,
      close: () => db.close(),
    }
  },
}

const nodeSqlite: Driver = {
  name: 'node:sqlite',
  open(file) {
    const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite')
    const db = new DatabaseSync(file)
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL')
    db.exec('CREATE TABLE s (ts INTEGER PRIMARY KEY, a REAL, b REAL) WITHOUT ROWID')
    const ins = db.prepare('INSERT INTO s VALUES (?, ?, ?)')
    const q = db.prepare('SELECT COUNT(*) AS c, AVG(a) AS m FROM s WHERE ts BETWEEN ? AND ?')
    return {
      exec: (s) => db.exec(s),
      insertMany: (rows) => {
        db.exec('BEGIN')
        for (const r of rows) ins.run(r[0], r[1], r[2])
        db.exec('COMMIT')
      },
      rangeCount: (f, t) => (q.get(f, t) as { c: number }).c,
      close: () => db.close(),
    }
  },
}

export interface StoreBenchResult {
  driver: string
  insertRowsPerS: number
  rangeQueryMs: number
}

export function runStoreBench(rows = 200_000, batch = 1000): StoreBenchResult[] {
  const out: StoreBenchResult[] = []
  for (const d of [better, nodeSqlite]) {
    const dir = mkdtempSync(join(tmpdir(), 'hy-bench-store-'))
    let db: ReturnType<Driver['open']>
    try {
      db = d.open(join(dir, 'b.db'))
    } catch (e) {
      console.log(`${d.name}: unavailable (${String(e)})`)
      continue
    }
    const t0 = performance.now()
    for (let i = 0; i < rows; i += batch) {
      const chunk: Array<[number, number, number]> = []
      for (let j = i; j < i + batch; j++) chunk.push([j, Math.random(), j * 0.5])
      db.insertMany(chunk)
    }
    const insertS = (performance.now() - t0) / 1000
    const t1 = performance.now()
    let n = 0
    for (let k = 0; k < 50; k++) n += db.rangeCount(k * 1000, k * 1000 + 100_000)
    const rangeMs = (performance.now() - t1) / 50
    if (n === 0) throw new Error('range query found nothing')
    db.close()
    rmSync(dir, { recursive: true, force: true })
    out.push({
      driver: d.name,
      insertRowsPerS: Math.round(rows / insertS),
      rangeQueryMs: Math.round(rangeMs * 100) / 100,
    })
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(runStoreBench())
}
