/// <reference lib="dom" />
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, resultsDir, seriousA11yViolations, startServer } from './support'

/**
 * The USB setup screen in Chromium against the built headless server with simulated boards
 * (`HASHYARD_SIMULATE_SERIAL=1`: the simulated ESP32 ROM bootloader and ESP-Miner log behind
 * serialport's mock binding). The first board holds the AxeOS ≤ 2.14 fixture settings; each time a
 * written board reports its IP, the simulator plugs in a second one (AxeOS ≥ 2.15 pool slots).
 */

/** Every password in play: on the simulated boards before, and typed here. None may reach the page. */
const SECRETS = ['correct horse battery', 'hunter22', 'bench-wifi-secret', 'pool-secret-77']
/** A Wi-Fi name that is also markup: the device echoes it in its log, and it must stay text. */
const SSID = '<img src=x onerror=__p=1>Bench'

let server: Awaited<ReturnType<typeof startServer>>
let browser: Browser
let context: BrowserContext
let page: Page
const problems: string[] = []

beforeAll(async () => {
  server = await startServer([], { HASHYARD_SIMULATE_SERIAL: '1' })
  browser = await launchChromium()
  // axe is injected as a script, which the app's CSP rightly blocks: bypass it for this audit only.
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true })
  page = await context.newPage()
  page.on('pageerror', (e) => problems.push(e.message))
})
afterAll(async () => {
  await context?.close()
  await browser?.close()
  await server?.stop()
})

async function expectNoSecrets(): Promise<void> {
  const text = await page.evaluate(() => document.body.textContent ?? '')
  const html = await page.content()
  for (const s of SECRETS) {
    expect(text).not.toContain(s)
    expect(html).not.toContain(s)
  }
}

describe('USB setup with simulated ESP-Miner boards', () => {
  it('lists the simulated port, reads the legacy settings, writes Wi-Fi and a pool, and shows the IP', async () => {
    await page.goto(`${server.url}/#/usb`)
    await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()
    await page.getByRole('heading', { level: 1, name: 'USB setup' }).waitFor()

    // The simulated port appears with the board guessed from its USB ids (303a:1001).
    const row = page.getByTestId('usb-port-row').filter({ hasText: '/dev/ttyACM0' })
    await row.waitFor({ timeout: 15_000 })
    await expect.poll(() => row.textContent()).toContain('ESP32-S3/C3 native USB')
    expect(await row.textContent()).toContain('303a:1001')
    await row.getByRole('button', { name: /Select/ }).click()

    // The monitor opens and shows the firmware's boot log, with the IP line recognised.
    const log = page.getByTestId('usb-log')
    await expect.poll(() => log.textContent(), { timeout: 15_000 }).toContain('connect: IPv4 Address: 127.0.77.1')
    expect(await log.locator('.ev-ip').count()).toBeGreaterThan(0)

    // Read settings: the AxeOS ≤ 2.14 fixture's values, without any password.
    await page.getByRole('button', { name: 'Read settings' }).click()
    const settings = page.getByTestId('usb-settings')
    await settings.waitFor({ timeout: 30_000 })
    const shown = await settings.textContent()
    for (const v of [
      'FarmNet 2.4',
      'bitaxe-rack2-07',
      '192.168.1.20:3333',
      'public-pool.io:21496',
      'BM1366',
      '525 MHz',
      '1150 mV',
      '204',
      '24:58:7c:5e:a0:01',
      'AxeOS 2.14 or older (stratum keys)',
      'password saved on device',
    ]) {
      expect(shown).toContain(v)
    }
    // The form's empty fields were filled from the device; passwords never are.
    expect(await page.getByLabel('Network name (SSID)', { exact: true }).inputValue()).toBe('FarmNet 2.4')
    expect(await page.getByLabel('Worker name', { exact: true }).inputValue()).toBe('rack2-07')
    expect(await page.getByLabel('Wi-Fi password', { exact: true }).inputValue()).toBe('')

    // A bad worker name is caught in the form, before anything is sent.
    await page.getByLabel('Worker name', { exact: true }).fill('rack.01')
    await page.getByRole('button', { name: 'Write settings' }).click()
    await page.getByText('Use only letters, digits and _ @ + : - (up to 32), no dots.').waitFor()

    // A pasted stratum+tcp:// URL is fixed up into host and port, not refused.
    await page.getByLabel('Network name (SSID)', { exact: true }).fill(SSID)
    await page.getByLabel('Wi-Fi password', { exact: true }).fill('bench-wifi-secret')
    await page.getByLabel('Pool address', { exact: true }).fill('stratum+tcp://127.0.0.1:3333/')
    await page.getByLabel('Pool address', { exact: true }).blur()
    await expect.poll(() => page.getByLabel('Pool address', { exact: true }).inputValue()).toBe('127.0.0.1')
    expect(await page.getByLabel('Port', { exact: true }).inputValue()).toBe('3333')
    await page.getByText('Split into host and port, as the miner stores them.').waitFor()
    await page.getByLabel('Pool user (account or address)', { exact: true }).fill('bc1qbenchaccount')
    await page.getByLabel('Pool password', { exact: true }).fill('pool-secret-77')
    await page.getByLabel('Worker name', { exact: true }).fill('rack1-01')
    await page.getByLabel(/Bench mode/).check()
    // Record every state the progress block shows (bench mode may move on to the next board quickly).
    await page.evaluate(() => {
      const seen: string[] = []
      ;(window as unknown as { __progress: string[] }).__progress = seen
      const note = () => {
        for (const el of Array.from(document.querySelectorAll<HTMLElement>('[data-testid="usb-progress"]'))) {
          const d = el.dataset
          const s = `${d.path} ${d.op} ${d.phase} ${d.fraction}`
          if (seen.at(-1) !== s) seen.push(s)
        }
      }
      new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true })
    })
    await page.getByRole('button', { name: 'Write settings' }).click()

    // The IP the rebooted firmware prints appears (in the progress block, then in the bench table).
    await page.getByText('The miner joined the network as 127.0.77.1.').first().waitFor({ timeout: 60_000 })
    const seen = (await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress))
      .filter((s) => s.startsWith('/dev/ttyACM0 write '))
      .map((s) => s.split(' '))
    const order = ['connect', 'read', 'backup', 'erase', 'write', 'verify', 'reset', 'done', 'waiting-for-ip', 'online']
    const phases = seen.map((s) => s[2] as string)
    // Phases only move forward, the bar with them, and it ends full and online.
    expect(phases.map((p) => order.indexOf(p))).toEqual([...phases.map((p) => order.indexOf(p))].sort((a, b) => a - b))
    expect(phases).not.toContain('failed')
    expect(phases).toContain('write')
    expect(phases.at(-1)).toBe('online')
    const fractions = seen.map((s) => Number(s[3]))
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b))
    expect(fractions.at(-1)).toBe(1)
    await expectNoSecrets()

    // Bench mode: the next board plugged in (AxeOS ≥ 2.15 pool slots) is read, then gets the same
    // settings with the next worker name, and reports its IP.
    const benchRows = page.getByTestId('usb-bench-row')
    await benchRows.nth(1).filter({ hasText: '127.0.77.2' }).waitFor({ timeout: 60_000 })
    expect(await benchRows.count()).toBe(2)
    expect(await page.getByTestId('usb-layout').textContent()).toBe('AxeOS 2.15 or newer (pool slots)')
    const cells = async (i: number) => (await benchRows.nth(i).locator('td').allTextContents()).map((c) => c.trim())
    expect(await cells(0)).toEqual([
      '/dev/ttyACM0',
      'rack1-01',
      '24:58:7c:5e:a0:01',
      'The miner joined the network as 127.0.77.1.',
    ])
    expect(await cells(1)).toEqual([
      '/dev/ttyACM1',
      'rack1-02',
      '24:58:7c:5e:a0:02',
      'The miner joined the network as 127.0.77.2.',
    ])
    expect(await page.getByLabel('Worker name', { exact: true }).inputValue()).toBe('rack1-03')
    await page.getByText('Bench mode: plug in the next miner. It will be set up as rack1-03.').waitFor()

    // Back on the first board: its log shows the firmware booting with what was written.
    await page
      .getByTestId('usb-port-row')
      .filter({ hasText: '/dev/ttyACM0' })
      .getByRole('button', { name: /Select/ })
      .click()
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain(`connect: Connected to SSID: ${SSID}`)
    expect(await page.locator('main img').count()).toBe(0)
    expect(await page.evaluate(() => (window as unknown as { __p?: number }).__p)).toBeUndefined()
    await page.getByTestId('usb-ip').filter({ hasText: '127.0.77.1' }).waitFor()
    // What was read before the write is marked as such.
    await page.getByTestId('usb-settings-stale').waitFor()

    // Backups are listed per MAC, each with Restore.
    const backups = page.getByTestId('usb-backups')
    await backups.waitFor()
    expect(await backups.getByRole('button', { name: 'Restore' }).count()).toBeGreaterThan(0)

    await expectNoSecrets()
    const found = await seriousA11yViolations(page)
    expect(found).toEqual([])
    await page.screenshot({ path: join(resultsDir, 'usb-light.png'), fullPage: true })

    // The dark theme, switched in Settings; the screen keeps its state.
    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByLabel('Theme', { exact: true }).selectOption('dark')
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await page.getByRole('link', { name: 'USB setup' }).click()
    await page.getByTestId('usb-bench-row').first().waitFor()
    expect(await seriousA11yViolations(page)).toEqual([])
    await page.screenshot({ path: join(resultsDir, 'usb-dark.png'), fullPage: true })
    await expectNoSecrets()

    // Restore: the backup goes back to the board it came from, verified, with its own progress.
    await backups.getByRole('button', { name: 'Restore' }).first().click()
    await backups.getByText(/Write the backup of .* back to the miner on \/dev\/ttyACM0\?/).waitFor()
    await backups.getByRole('button', { name: 'Restore now' }).click()
    await page.getByText('Backup restored and verified. The miner is restarting.').waitFor({ timeout: 30_000 })
    expect(problems).toEqual([])
  })
})
