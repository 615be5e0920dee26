/// <reference lib="dom" />
import { join } from 'node:path'
import { bech32 } from '@scure/base'
import { describe, expect, it } from 'vitest'
import { grind, networkTarget, TestMiner } from '../../src/core/stratum/testing/miner'
import { FakeBitcoind } from '../support/fake-bitcoind'
import { freePort } from '../support/free-port'
import { resultsDir, seriousA11yViolations, withServerAndBrowser } from './support'

// A regtest P2WPKH address for a fixed 20-byte hash.
const REGTEST_ADDRESS = bech32.encode('bcrt', [0, ...bech32.toWords(Buffer.alloc(20, 0x22))])
let fake: FakeBitcoind

const env = withServerAndBrowser({
  before: async () => {
    fake = await FakeBitcoind.start({ chain: 'regtest' })
  },
  after: async () => {
    await fake?.close()
  },
})

const api = async (method: string, params: unknown): Promise<{ status: number; body: unknown }> => {
  const r = await fetch(`${env.server().url}/api/${method}`, { method: 'POST', body: JSON.stringify(params) })
  return { status: r.status, body: await r.json() }
}

describe('solo mining from the UI: node → pool → miner → block', () => {
  it('configures the pool by form, a real miner finds a block, the node accepts it, the UI celebrates', async () => {
    const page = await env.browser().newPage({ viewport: { width: 1280, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(e.message))
    await page.goto(`${env.server().url}/#/pools`)
    await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()

    // A Lightning address is refused with the reason, in plain words.
    await page.getByLabel('Payout address').fill('satoshi@getalby.com')
    await page.getByRole('button', { name: 'Save' }).click()
    await page
      .getByTestId('pool-save-result')
      .filter({ hasText: /Lightning/i })
      .waitFor()

    await page.getByLabel('Node RPC address').fill(fake.url)
    await page.getByLabel('RPC user').fill('hashyard')
    await page.getByLabel('RPC password').fill('correct horse')
    await page.getByLabel('Network').selectOption('regtest')
    await page.getByRole('button', { name: 'Test the node' }).click()
    await page
      .getByTestId('node-test-result')
      .filter({ hasText: /regtest/ })
      .waitFor()

    const port = await freePort()
    await page.getByLabel('Payout address').fill(REGTEST_ADDRESS)
    await page.getByLabel('Stratum port').fill(String(port))
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByTestId('pool-save-result').filter({ hasText: 'Saved' }).waitFor()
    // A CPU test miner needs a tiny difficulty; the owner can set it over the API.
    const vd = await api('pool.setSettings', {
      vardiff: { minDifficulty: 2 ** -32, startDifficulty: 2 ** -32 },
      host: '127.0.0.1',
    })
    expect(vd.status).toBe(200)
    await page.getByRole('button', { name: 'Start the pool' }).click()
    await page.getByTestId('pool-running').filter({ hasText: 'Running' }).waitFor()

    // A real miner (its own hashing code) connects and submits a share that is also a regtest block.
    const miner = await TestMiner.connect(port)
    const [sub, auth] = await miner.pipeline([
      ['mining.subscribe', ['testminer/1.0']],
      ['mining.authorize', ['rack1-01', 'x']],
    ])
    expect(auth?.result).toBe(true)
    const [, en1, en2Size] = (sub?.result ?? []) as [unknown, string, number]
    const job = await miner.notifyCount(1)
    const en2 = '01'.padStart(en2Size * 2, '0')
    const g = grind(job, en1, en2, networkTarget(job.nbits))
    const reply = await miner.request('mining.submit', ['rack1-01', job.jobId, en2, g.ntimeHex, g.nonceHex])
    expect(reply.result).toBe(true)

    // The fake node deserialized and validated the block on its own.
    await expect.poll(() => fake.acceptedBlocks.length, { timeout: 20_000 }).toBe(1)
    await page.getByTestId('pool-blocks').filter({ hasText: '1' }).waitFor()
    await page.getByTestId('pool-workers').getByText('rack1-01').waitFor()
    await page.screenshot({ path: join(resultsDir, 'pools-running.png'), fullPage: true })

    await page.getByRole('link', { name: 'Shares' }).click()
    await page.getByTestId('block-found').filter({ hasText: 'rack1-01' }).waitFor()
    await page.getByTestId('share-feed').getByText('BLOCK FOUND').waitFor()
    await page.screenshot({ path: join(resultsDir, 'shares-block.png') })
    miner.close()
    expect(problems).toEqual([])
    await page.close()
  })

  it('has no serious accessibility violations on the running pool screens', async () => {
    const ctx = await env.browser().newContext({ bypassCSP: true })
    const page = await ctx.newPage()
    for (const screen of ['pools', 'shares']) {
      await page.goto(`${env.server().url}/#/${screen}`)
      await page.getByTestId('connection-state').filter({ hasText: 'Connected' }).waitFor()
      expect(await seriousA11yViolations(page)).toEqual([])
    }
    await ctx.close()
  })
})
