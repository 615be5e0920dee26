import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryLogger } from '../../src/core/logger'
import { BatchWriter } from '../../src/core/store/batch-writer'
import { type Migration, migrate } from '../../src/core/store/migrations'
import { SettingsRepo } from '../../src/core/store/settings-repo'
import { openDatabase } from '../../src/core/store/sqlite'
import { openStore } from '../../src/core/store/store'
import { tempDir } from '../support/temp-dir'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

describe('store', () => {
  it('opens in WAL mode and applies migrations once', () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    const s = openStore(t.dir, memoryLogger())
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(s.info.schemaVersion).toBe(1)
    s.close()
    const again = openStore(t.dir, memoryLogger())
    expect(again.info.schemaVersion).toBe(1)
    again.close()
  })

  it('backs up the database before migrating an existing one to a newer schema', () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    openStore(t.dir, memoryLogger()).close()
    const extra: Migration = { version: 999, name: 'test', up: 'CREATE TABLE t999 (x INTEGER)' }
    const s = openStore(t.dir, memoryLogger(), [extra])
    expect(s.info.schemaVersion).toBe(999)
    s.close()
    expect(existsSync(join(t.dir, 'hashyard.db.before-v999.bak'))).toBe(true)
  })

  it('applies a module migration numbered below one already applied (modules own version ranges)', () => {
    const db = openDatabase(':memory:')
    migrate(db, [{ version: 600, name: 'proxy', up: 'CREATE TABLE p (x)' }])
    const applied = migrate(db, [
      { version: 200, name: 'health', up: 'CREATE TABLE h (x)' },
      { version: 600, name: 'proxy', up: 'CREATE TABLE p (x)' },
    ])
    expect(applied).toEqual([200])
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'h'").get()).toBeDefined()
  })

  it('rolls back a failing migration and names it', () => {
    const db = openDatabase(':memory:')
    const bad: Migration[] = [
      { version: 1, name: 'ok', up: 'CREATE TABLE a (x)' },
      { version: 2, name: 'broken', up: 'CREATE TABLE b (x); THIS IS NOT SQL' },
    ]
    expect(() => migrate(db, bad)).toThrow(/migration 2 \(broken\) failed/)
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as Array<{ name: string }>
    expect(tables.map((r) => r.name)).toContain('a')
    expect(tables.map((r) => r.name)).not.toContain('b')
    expect(() => migrate(db, [bad[0]!, { ...bad[0]!, name: 'dup' }])).toThrow(/share version 1/)
  })

  it('validates settings and ignores unknown or corrupt stored rows', () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    const s = openStore(t.dir, memoryLogger())
    const repo = new SettingsRepo(s.db)
    expect(() => repo.set('ui.theme', 'neon')).toThrow(/ui\.theme/)
    repo.set('ui.theme', 'dark')
    s.db.prepare("INSERT INTO settings VALUES ('ui.language', '{not json', 0)").run()
    s.db.prepare("INSERT INTO settings VALUES ('old.key', '1', 0)").run()
    expect(repo.all()).toMatchObject({ 'ui.theme': 'dark', 'ui.language': 'en' })
    s.close()
  })

  it('batch writer bounds its buffer and counts what it dropped', () => {
    const written: number[][] = []
    const w = new BatchWriter<number>({ intervalMs: 60_000, maxRows: 3, write: (r) => written.push(r) })
    for (let i = 1; i <= 5; i++) w.push(i)
    w.close()
    expect(written).toEqual([[3, 4, 5]])
    expect(w.dropped).toBe(2)
  })

  it('survives SIGKILL at any moment: the database opens, no acknowledged setting or flushed telemetry is lost', async () => {
    for (let round = 0; round < 3; round++) {
      const t = tempDir()
      cleanups.push(t.cleanup)
      const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'kill-writer.ts'), t.dir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
      })
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (out.includes('ready')) {
            clearInterval(check)
            resolve()
          }
        }, 10)
      })
      // Let it write for a while, then kill it without warning at a different moment each round.
      await new Promise((r) => setTimeout(r, 300 + round * 170))
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))

      const acked = [...out.matchAll(/ack (\d+)/g)].map((m) => Number(m[1]))
      const flushed = [...out.matchAll(/flushed (\d+)/g)].map((m) => Number(m[1]))
      expect(acked.length).toBeGreaterThan(10)
      expect(flushed.length).toBeGreaterThan(0)

      const db = openDatabase(join(t.dir, 'hashyard.db'))
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok')
      const setting = db.prepare("SELECT value_json FROM settings WHERE key = 'telemetry.sampleIntervalMs'").get() as {
        value_json: string
      }
      // The stored value is the last acknowledged one, or one written just before the kill.
      expect(Number(setting.value_json)).toBeGreaterThanOrEqual(acked.at(-1)!)
      const maxTs = db.prepare('SELECT MAX(ts_ms) AS m, COUNT(*) AS c FROM system_samples').get() as {
        m: number
        c: number
      }
      expect(maxTs.m).toBeGreaterThanOrEqual(flushed.at(-1)!)
      // Every flushed row is there: no gaps below the last flushed sample.
      expect(maxTs.c).toBeGreaterThanOrEqual(flushed.at(-1)!)
      db.close()
    }
  })
})
