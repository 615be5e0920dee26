/// <reference lib="dom" />
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resultsDir, seriousA11yViolations, withServerAndBrowser } from './support'

const env = withServerAndBrowser()

const SCREENS = ['system', 'fleet', 'usb', 'pools', 'shares', 'alerts', 'settings'] as const

describe('accessibility (axe-core, WCAG 2.1 A/AA) in both themes', () => {
  for (const theme of ['light', 'dark'] as const) {
    it(`has no serious violations on any screen in the ${theme} theme`, async () => {
      const set = await fetch(`${env.server().url}/api/settings.set`, {
        method: 'POST',
        body: JSON.stringify({ key: 'ui.theme', value: theme }),
      })
      expect(set.status).toBe(200)
      // axe is injected as a script, which the app's CSP rightly blocks: bypass it for this audit only.
      const context = await env.browser().newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true })
      const page = await context.newPage()
      const found: string[] = []
      for (const screen of SCREENS) {
        await page.goto(`${env.server().url}/#/${screen}`)
        await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()
        await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme)
        await page.screenshot({ path: join(resultsDir, `${screen}-${theme}.png`) })
        for (const v of await seriousA11yViolations(page)) found.push(`${screen}: ${v}`)
      }
      expect(found).toEqual([])
      await context.close()
    })
  }
})
