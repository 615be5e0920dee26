/// <reference lib="dom" />
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AxeosSim, startAxeosSim } from '../support/sim-devices/axeos-sim'
import { fixtureText } from '../support/sim-devices/fixtures'
import { launchChromium, resultsDir, startServer } from './support'

const HOSTILE = `<img src=x onerror="window.__pwned=1">${'A'.repeat(200)}\u0007\u001b[31m`

let server: Awaited<ReturnType<typeof startServer>>
let browser: Browser
const sims: AxeosSim[] = []
let port = 0

/** A free TCP port, so every simulated device listens on the same port at its own 127.0.9.x address. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.9.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
    s.on('error', reject)
  })
}

beforeAll(async () => {
  port = await freePort()
  const info = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')
  const asic = fixtureText('bitaxe/axeos_system_asic_gamma.json')
  sims.push(await startAxeosSim({ info, asic, listen: { host: '127.0.9.1', port } }))
  sims.push(
    await startAxeosSim({
      info,
      asic,
      listen: { host: '127.0.9.2', port },
      patchInfo: { hostname: HOSTILE, macAddr: '10:F5:12:33:BB:F1' },
    }),
  )
  server = await startServer()
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await server?.stop()
  await Promise.all(sims.map((s) => s.close()))
})

describe('Fleet screen with simulated AxeOS devices (real captures)', () => {
  it('finds miners by scan, lists them, and renders a hostile device name as inert text', async () => {
    const r = await fetch(`${server.url}/api/scan.start`, {
      method: 'POST',
      body: JSON.stringify({ ranges: '127.0.9.1-127.0.9.4', ports: [{ port, role: 'http' }] }),
    })
    expect(r.status).toBe(200)
    const page = await browser.newPage({ viewport: { width: 1400, height: 800 } })
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${server.url}/#/fleet`)
    await expect.poll(() => page.getByTestId('fleet-row').count(), { timeout: 30_000 }).toBe(2)
    // The hostile hostname is shown as text: no element was created from it and no script ran.
    await page.getByText('<img src=x onerror', { exact: false }).first().waitFor()
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(await page.locator('[data-testid="fleet-table"] img').count()).toBe(0)
    // Filtering by text narrows the table.
    await page.getByLabel('Filter').fill('127.0.9.1')
    await expect.poll(() => page.getByTestId('fleet-row').count()).toBe(1)
    await page.getByLabel('Filter').fill('')
    await page.screenshot({ path: join(resultsDir, 'fleet-light.png') })
    // Device detail: history charts (uPlot) fed by the health module's store.
    await page.getByRole('button', { name: 'bitaxe' }).click()
    await page.getByTestId('device-detail').waitFor()
    await expect
      .poll(() => page.locator('[data-testid="device-detail"] .chart canvas').count(), { timeout: 30_000 })
      .toBe(3)
    await page.screenshot({ path: join(resultsDir, 'device-detail.png'), fullPage: true })
    expect(problems).toEqual([])
    await page.close()
  })
})
