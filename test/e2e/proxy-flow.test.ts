/// <reference lib="dom" />
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startUpstream } from '../../src/core/proxy/testing/harness'
import type { TestUpstreamPool } from '../../src/core/proxy/testing/upstream-pool'
import { TestMiner } from '../../src/core/stratum/testing/miner'
import { freePort } from '../support/free-port'
import { resultsDir, withServerAndBrowser } from './support'

let upstream: TestUpstreamPool
let upstreamPort = 0
const env = withServerAndBrowser({
  before: async () => {
    upstream = await startUpstream({ extranonce2Size: 8 })
    upstreamPort = upstream.port
  },
  after: async () => {
    await upstream?.close()
  },
})

describe('mining on a pool through the proxy, from the UI', () => {
  it('tests and adds an upstream pool by form, starts the proxy, and a miner gets work through it', async () => {
    const proxyPort = await freePort()
    const set = await fetch(`${env.server().url}/api/proxy.setSettings`, {
      method: 'POST',
      body: JSON.stringify({ host: '127.0.0.1', port: proxyPort }),
    })
    expect(set.status).toBe(200)
    const page = await env.browser().newPage({ viewport: { width: 1280, height: 1000 } })
    await page.goto(`${env.server().url}/#/pools`)
    await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()

    // A closed port is reported in plain words by Test.
    const closed = await freePort()
    await page.getByLabel('Pool address').fill(`stratum+tcp://127.0.0.1:${closed}`)
    await page.getByLabel('Account / user').fill('farm')
    await page.getByRole('button', { name: 'Test', exact: true }).click()
    await page
      .getByTestId('proxy-note')
      .filter({ hasText: /refused|not accept|closed/i })
      .waitFor({ timeout: 30_000 })

    // The real upstream, pasted with its scheme: tested, then added normalised.
    await page.getByLabel('Pool address').fill(`  stratum+tcp://127.0.0.1:${upstreamPort}  `)
    await page.getByLabel('Password', { exact: true }).fill('s3cret-pool-pass')
    await page.getByRole('button', { name: 'Test', exact: true }).click()
    await expect
      .poll(async () => (await page.getByTestId('proxy-note').textContent()) ?? '', { timeout: 30_000 })
      .toMatch(/./)
    await page.getByRole('button', { name: 'Add pool' }).click()
    await page.getByTestId('proxy-pools').getByText(`stratum+tcp://127.0.0.1:${upstreamPort}`).waitFor()
    await page.getByRole('button', { name: 'Start the proxy' }).click()
    await page.getByRole('button', { name: 'Stop the proxy' }).waitFor()

    const miner = await TestMiner.connect(proxyPort)
    const [, auth] = await miner.pipeline([
      ['mining.subscribe', ['testminer/1.0']],
      ['mining.authorize', ['rig7', 'x']],
    ])
    expect(auth?.result).toBe(true)
    await miner.notifyCount(1)
    await page.getByTestId('proxy-pools').getByText('Up').waitFor({ timeout: 30_000 })
    expect(upstream.live.length).toBeGreaterThan(0)
    const html = await page.content()
    expect(html).not.toContain('s3cret-pool-pass')
    await page.screenshot({ path: join(resultsDir, 'pools-proxy.png'), fullPage: true })
    miner.close()
    await page.close()
  })
})
