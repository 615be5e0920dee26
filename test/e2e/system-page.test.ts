/// <reference lib="dom" />
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { resultsDir, root, withServerAndBrowser } from './support'

const env = withServerAndBrowser()

async function openApp(): Promise<{ page: Page; problems: string[] }> {
  const page = await env.browser().newPage({ viewport: { width: 1280, height: 800 } })
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
  await page.goto(`${env.server().url}/`)
  return { page, problems }
}

describe('the UI in Chromium against npm run serve', () => {
  it('loads with no console errors and shows live data from the core', async () => {
    const { page, problems } = await openApp()
    const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string
    await page.getByTestId('version').filter({ hasText: version }).waitFor()
    await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()
    // Live: the sample time changes as new frames arrive over the WebSocket.
    const first = await page.getByTestId('sample-time').textContent()
    await page.waitForFunction(
      (prev) => document.querySelector('[data-testid="sample-time"]')?.textContent !== prev,
      first,
      { timeout: 10_000 },
    )
    await page.getByTestId('ports').getByText('ui+api').waitFor()
    await page
      .getByTestId('events')
      .getByText(/Hashyard .* started \(headless\)/)
      .waitFor()
    await page.screenshot({ path: join(resultsDir, 'system-light.png'), fullPage: true })
    expect(problems).toEqual([])
    await page.close()
  })

  it('switches theme and language, and the choice persists in the core', async () => {
    const { page, problems } = await openApp()
    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByLabel('Theme').selectOption('dark')
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await page.getByLabel('Language').selectOption('es')
    await page.getByRole('heading', { name: 'Ajustes' }).waitFor()
    await page.getByRole('link', { name: 'Sistema' }).click()
    await page.getByRole('heading', { name: 'Sistema', level: 1 }).waitFor()
    await page.screenshot({ path: join(resultsDir, 'system-dark-es.png'), fullPage: true })
    // A new page load gets the same settings from the core.
    const again = await openApp()
    await again.page.getByRole('heading', { name: 'Sistema', level: 1 }).waitFor()
    expect(await again.page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await again.page.getByLabel('Idioma').count()
    expect([...problems, ...again.problems]).toEqual([])
    await page.close()
    await again.page.close()
  })
})
