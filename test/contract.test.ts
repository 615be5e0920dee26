import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startCore } from '../src/core/entry'
import { memoryLogger } from '../src/core/logger'
import { contract, methodNames, topicNames } from '../src/shared/contract'
import { METHOD_NAME, TOPIC_NAME } from '../src/shared/contract-kit'
import { tempDir } from './support/temp-dir'

const root = join(__dirname, '..')

describe('the API contract', () => {
  it('names methods noun.verb and topics noun.stream', () => {
    for (const m of methodNames()) expect(m, m).toMatch(METHOD_NAME)
    for (const t of topicNames()) expect(t, t).toMatch(TOPIC_NAME)
    for (const m of methodNames()) expect(m.endsWith('.stream'), m).toBe(false)
  })

  it('has every method and topic implemented by the full core', async () => {
    const t = tempDir()
    const core = await startCore({ dataDir: t.dir, host: 'test', logger: memoryLogger() })
    try {
      for (const m of methodNames()) {
        const r = await core.rpc.invoke(m, { __probe__: true }, { transport: 'memory' })
        // A strict schema refuses the probe key; NOT_SUPPORTED would mean no handler is registered.
        if (!r.ok) expect(r.error.code, m).not.toBe('NOT_SUPPORTED')
      }
    } finally {
      await core.close()
      t.cleanup()
    }
  })

  it('rejects unknown keys in every method input (strict objects)', () => {
    for (const m of methodNames()) {
      const r = contract[m].input.safeParse({ definitelyNotAKey: 1 })
      expect(r.success, `${m} accepted an unknown key`).toBe(false)
    }
  })

  it('is documented: docs/api.md matches the generated reference', () => {
    const generated = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/api-doc.ts')], {
      cwd: root,
      encoding: 'utf8',
    })
    const doc = readFileSync(join(root, 'docs/api.md'), 'utf8')
    expect(doc, 'docs/api.md is stale: run `npx tsx scripts/api-doc.ts > docs/api.md`').toBe(generated)
  })
})
