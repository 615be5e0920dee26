import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const root = join(__dirname, '..')
const probes: string[] = []
afterEach(() => {
  for (const p of probes.splice(0)) rmSync(p, { force: true })
})

/** Writes a throwaway file into a real source folder and lints it with the project's rules. */
function lintProbe(relPath: string, source: string): { status: number | null; output: string } {
  const file = join(root, relPath)
  probes.push(file)
  writeFileSync(file, source)
  const r = spawnSync(process.execPath, [join(root, 'node_modules/@biomejs/biome/bin/biome'), 'lint', file], {
    cwd: root,
    encoding: 'utf8',
  })
  return { status: r.status, output: `${r.stdout}${r.stderr}` }
}

describe('layer rules (biome noRestrictedImports)', () => {
  it('fails the build when src/core imports electron', () => {
    const r = lintProbe('src/core/zz-lint-probe.ts', "import { app } from 'electron'\nexport const n = app\n")
    expect(r.status).not.toBe(0)
    expect(r.output).toMatch(/Only src\/main and src\/preload may import electron/)
  })

  it('fails when the renderer imports Node built-ins or the core', () => {
    const r = lintProbe(
      'src/renderer/src/zz-lint-probe.ts',
      "import { readFileSync } from 'node:fs'\nimport { startCore } from '../../core/entry'\nexport const x = [readFileSync, startCore]\n",
    )
    expect(r.status).not.toBe(0)
    expect(r.output).toMatch(/Node built-ins are not available/)
    expect(r.output).toMatch(/reach the core through the contract/)
  })

  it('fails when src/shared imports Node built-ins', () => {
    const r = lintProbe(
      'src/shared/zz-lint-probe.ts',
      "import { createHash } from 'node:crypto'\nexport const h = createHash\n",
    )
    expect(r.status).not.toBe(0)
  })

  it('allows electron in src/main', () => {
    const r = lintProbe('src/main/zz-lint-probe.ts', "import { app } from 'electron'\nexport const n = app\n")
    expect(r.output).not.toMatch(/may import electron/)
  })
})
