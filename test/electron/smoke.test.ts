/// <reference lib="dom" />
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { _electron } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../support/temp-dir'

const root = join(__dirname, '../..')

/**
 * Locates an installed Electron binary WITHOUT require('electron'): from Electron 42 on, that
 * require starts a download, which these offline machines cannot do.
 */
function electronBinary(): string | undefined {
  const pkgDir = join(root, 'node_modules/electron')
  const pathTxt = join(pkgDir, 'path.txt')
  if (!existsSync(pathTxt)) return undefined
  const bin = join(pkgDir, 'dist', readFileSync(pathTxt, 'utf8').trim())
  return existsSync(bin) ? bin : undefined
}

const binary = electronBinary()
const hasDisplay = Boolean(process.env.DISPLAY)
const skipReason = !binary
  ? 'no Electron binary installed (it cannot be downloaded on offline build machines; run on a release machine with `npx install-electron` then `xvfb-run npm test`)'
  : !hasDisplay
    ? 'no display: run under xvfb-run'
    : ''

describe.skipIf(skipReason !== '')(`Electron smoke${skipReason ? ` — skipped: ${skipReason}` : ''}`, () => {
  it('opens the window from app://, bridges to the core over IPC, and keeps the sandbox', async () => {
    const data = tempDir()
    const app = await _electron.launch({
      executablePath: binary!,
      args: ['--no-sandbox', root],
      env: { ...process.env, HASHYARD_DATA_DIR: data.dir },
    })
    try {
      const win = await app.firstWindow()
      expect(win.url()).toMatch(/^app:\/\/hashyard\//)
      await win.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()
      await win.getByText(/running as/i).waitFor()
      expect(await win.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined')
      expect(
        await win.evaluate(() => Object.keys((window as unknown as { hashyardBridge: object }).hashyardBridge).sort()),
      ).toEqual(['onMessage', 'protocol', 'send'])
    } finally {
      await app.close()
      data.cleanup()
    }
  })
})

if (skipReason) {
  // Make the reason visible in the test output, not only in the suite name.
  console.info(`[electron smoke] skipped: ${skipReason}`)
}
