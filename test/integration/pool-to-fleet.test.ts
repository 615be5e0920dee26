import { bech32 } from '@scure/base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevicesModule } from '../../src/core/devices/module'
import { type Core, startCore } from '../../src/core/entry'
import { memoryLogger } from '../../src/core/logger'
import { createPoolModule } from '../../src/core/pool/module'
import { grind, networkTarget, TestMiner } from '../../src/core/stratum/testing/miner'
import { memoryTransportPair } from '../../src/shared/protocol'
import { RpcClient } from '../../src/shared/rpc-client'
import { FakeBitcoind } from '../support/fake-bitcoind'
import { freePort } from '../support/free-port'
import { tempDir } from '../support/temp-dir'

// A miner pointed at the local pool appears in the Fleet (passive match by address) and is marked
// "first share accepted at difficulty X" once the pool accepts its first share.
const REGTEST_ADDRESS = bech32.encode('bcrt', [0, ...bech32.toWords(Buffer.alloc(20, 0x33))])
let fake: FakeBitcoind
let core: Core
let client: RpcClient
const data = tempDir()

beforeAll(async () => {
  fake = await FakeBitcoind.start({ chain: 'regtest' })
  core = await startCore({
    dataDir: data.dir,
    host: 'test',
    logger: memoryLogger(),
    modules: [
      createDevicesModule({ poll: { enabled: false }, passive: { allowLoopback: true } }),
      createPoolModule({ templateSource: { pollIntervalMs: 50 }, vardiff: { startByUserAgent: [] } }),
    ],
  })
  const [s, c] = memoryTransportPair()
  core.rpc.attach(s, { transport: 'memory' })
  client = new RpcClient(c)
})

afterAll(async () => {
  client.close()
  await core.close()
  await fake.close()
  data.cleanup()
})

describe('local pool → Fleet', () => {
  it('lists a connecting miner and confirms its first accepted share', async () => {
    const port = await freePort()
    await client.call('pool.setSettings', {
      node: { url: fake.url, user: 'hashyard', password: 'correct horse' },
      network: 'regtest',
      payoutAddress: REGTEST_ADDRESS,
      host: '127.0.0.1',
      port,
      vardiff: { minDifficulty: 2 ** -32, startDifficulty: 2 ** -32 },
    })
    await client.call('pool.start', {})
    const miner = await TestMiner.connect(port)
    const [sub, auth] = await miner.pipeline([
      ['mining.subscribe', ['bitaxe/BM1370/v2.12.2']],
      ['mining.authorize', ['rack2-07', 'x']],
    ])
    expect(auth?.result).toBe(true)
    const [, en1, en2Size] = (sub?.result ?? []) as [unknown, string, number]
    const job = await miner.notifyCount(1)
    const en2 = '02'.padStart(en2Size * 2, '0')
    const g = grind(job, en1, en2, networkTarget(job.nbits))
    expect((await miner.request('mining.submit', ['rack2-07', job.jobId, en2, g.ntimeHex, g.nonceHex])).result).toBe(
      true,
    )
    await expect
      .poll(
        async () =>
          (await client.call('devices.list', {})).devices.find((d) => d.worker === 'rack2-07')?.firstShare ?? null,
        {
          timeout: 20_000,
        },
      )
      .toMatchObject({ difficulty: expect.any(Number) })
    miner.close()
  })
})
