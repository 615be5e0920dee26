import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../../test/support/temp-dir'
import { memoryLogger } from '../../logger'
import { MIGRATIONS, migrate } from '../../store/migrations'
import { openDatabase } from '../../store/sqlite'
import { HEALTH_MIGRATIONS } from '../migrations'
import { DEFAULT_RULES } from './defaults'
import { RuleRepo } from './rule-repo'

const cleanups: Array<() => void> = []
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c()
})

function repo() {
  const t = tempDir()
  const db = openDatabase(`${t.dir}/hashyard.db`)
  cleanups.push(t.cleanup, () => db.close())
  migrate(db, [...MIGRATIONS, ...HEALTH_MIGRATIONS])
  const log = memoryLogger()
  return { r: new RuleRepo(db, () => 1_700_000_000_000, log), db, log }
}

describe('alert rules in the store', () => {
  it('starts with the defaults on, keeps edits, and a deleted default stays deleted', () => {
    const { r } = repo()
    expect(r.list()).toEqual(DEFAULT_RULES)
    const hot = { ...DEFAULT_RULES[3]!, aboveC: 70, scope: { kind: 'tag', tag: 'bitaxe' } }
    expect(r.save({ ...hot, id: 'bitaxe-hot' }).ok).toBe(true)
    expect(r.delete('default-block-found').ok).toBe(true)
    const ids = r.list().map((x) => x.id)
    expect(ids).toContain('bitaxe-hot')
    expect(ids).not.toContain('default-block-found')
    expect(r.delete('nope')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(r.resetToDefaults()).toEqual(DEFAULT_RULES)
    expect(r.list()).toEqual(DEFAULT_RULES)
  })

  it('refuses an invalid rule and skips a corrupted row with a warning', () => {
    const { r, db, log } = repo()
    expect(r.save({ ...DEFAULT_RULES[0], forMs: -1 })).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } })
    r.list()
    db.prepare("UPDATE health_rules SET rule_json = '{' WHERE id = 'default-temp-high'").run()
    expect(r.list().map((x) => x.id)).not.toContain('default-temp-high')
    expect(log.records.some((x) => x.msg === 'alert rule skipped: stored value is invalid')).toBe(true)
  })
})
