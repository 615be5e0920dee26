/**
 * Bit-exactness through a real TCP connection (issue 8, "Tests that must exist"): real mainnet
 * blocks and the recorded public-pool session (research §8.2) replayed as a miner would submit them.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { memoryLogger } from '../logger'
import type { BlockTemplate, Job } from '../pool/job'
import { buildJobFromParts } from '../pool/job'
import { templateFromBlock } from '../pool/testing/template-from-block'
import { type Extranonce1Allocator, StratumServer } from './server'
import type { BlockFinder, ShareEvent } from './session'
import { fixture } from './testing/harness'
import { TestMiner } from './testing/miner'
import type { WorkSource } from './work-feed'

/** Hands every connection the same, given extranonce1 (the real one of the replayed coinbase). */
class FixedExtranonce1 implements Extranonce1Allocator {
  constructor(private readonly en1: Buffer) {}
  allocate(): Buffer {
    return Buffer.from(this.en1)
  }
  release(): void {}
}

const fixedWork = (job: Job): WorkSource => ({ current: () => job, onJob: () => () => {} })

interface Replay {
  server: StratumServer
  miner: TestMiner
  shares: ShareEvent[]
  blocks: Array<{ job: Job; blockBytes: Buffer; hashHex: string; finder: BlockFinder }>
}

let running: Replay | undefined
afterEach(async () => {
  running?.miner.close()
  await running?.server.close({ reconnect: false, graceMs: 100 })
  running = undefined
})

async function serve(job: Job, en1: Buffer, network: 'mainnet' | 'testnet', startDifficulty: number): Promise<Replay> {
  const shares: ShareEvent[] = []
  const blocks: Replay['blocks'] = []
  const server = new StratumServer({
    work: fixedWork(job),
    network,
    logger: memoryLogger(),
    host: '127.0.0.1',
    port: 0,
    extranonce1: new FixedExtranonce1(en1),
    vardiff: { startDifficulty, startByUserAgent: [] },
    onShare: (e) => shares.push(e),
    onBlockFound: (j, blockBytes, hashHex, finder) => blocks.push({ job: j, blockBytes, hashHex, finder }),
  })
  const { port } = await server.listen()
  const miner = await TestMiner.connect(port)
  running = { server, miner, shares, blocks }
  return running
}

describe('replaying real mainnet blocks through a TCP connection', () => {
  for (const [file, hashHex] of [
    ['mainnet-482683.hex', '000000000000000000c238240ef6dcb26c37e75e16514e6ffc0aef7eee73e747'],
    ['mainnet-300025.hex', '0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c'],
  ] as const) {
    it(`reports ${file} with its real hash and byte-identical block bytes`, async () => {
      const r = templateFromBlock(fixture(`blocks/${file}`).toString('utf8'))
      const job = buildJobFromParts(r.template, r.parts, { jobId: 'b1', versionRollingMask: 0x1fffe000 })
      const { miner, shares, blocks } = await serve(job, r.parts.extranonce1, 'mainnet', 1)
      const [sub, auth] = await miner.pipeline([
        ['mining.subscribe', ['replay/1.0']],
        ['mining.authorize', ['replay.w1', 'x']],
      ])
      expect((sub!.result as unknown[])[1]).toBe(r.parts.extranonce1.toString('hex'))
      expect(auth!.result).toBe(true)
      const notify = await miner.notifyCount(1)
      expect(notify.jobId).toBe('b1')
      // The job's header version has no bits inside the rolling mask, so no 6th parameter.
      expect(Number.parseInt(notify.version, 16)).toBe(r.version)
      const reply = await miner.request('mining.submit', [
        'replay.w1',
        notify.jobId,
        r.parts.extranonce2.toString('hex'),
        r.ntime.toString(16).padStart(8, '0'),
        r.nonce.toString(16).padStart(8, '0'),
      ])
      expect(reply).toEqual({ id: 3, result: true, error: null })
      expect(blocks).toHaveLength(1)
      expect(blocks[0]!.hashHex).toBe(hashHex)
      expect(blocks[0]!.hashHex).toBe(r.blockHashHex)
      expect(blocks[0]!.blockBytes.equals(r.blockBytes)).toBe(true)
      expect(shares[0]).toMatchObject({ accepted: true, isBlock: true, hashHex, height: r.height })
    })
  }
})

describe('replaying the recorded public-pool session (research §8.2)', () => {
  it('accepts the Bitaxe share with the recorded hash and difficulty 669.87', async () => {
    const template = JSON.parse(
      fixture('blocks/public-pool-testnet-template-2442185.json').toString('utf8'),
    ) as BlockTemplate
    // public-pool's own coinbase halves, from the notify it sent in the recording.
    const coinb1 =
      '02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1903c943255c7075626c69632d706f6f6c5c'
    const coinb2 =
      'ffffffff037a90000000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc3b0f250000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc0000000000000000266a24aa21a9edbd3d1d916aa0b57326a2d88ebe1b68a1d7c48585f26d8335fe6a94b62755f64c00000000'
    const job = buildJobFromParts(
      template,
      {
        coinb1: Buffer.from(coinb1, 'hex'),
        coinb2: Buffer.from(coinb2, 'hex'),
        extranonce1Size: 4,
        extranonce2Size: 4,
        segwit: true,
      },
      { jobId: '1', versionRollingMask: 0x1fffe000, ntime: 0x64b3f3ec },
    )
    const { miner, shares } = await serve(job, Buffer.from('57a6f098', 'hex'), 'testnet', 512)
    // The miner's lines verbatim from the recording (MockRecording1.ts).
    miner.send('{"id": 1, "method": "mining.subscribe", "params": ["bitaxe v2.2"]}\n')
    miner.send(
      '{"id": 2, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}\n',
    )
    miner.send(
      '{"id": 3, "method": "mining.authorize", "params": ["tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3", "x"]}\n',
    )
    miner.send('{"id": 4, "method": "mining.suggest_difficulty", "params": [512]}\n')
    const notify = await miner.notifyCount(1)
    await miner.waitFor((m) => m.id === 4)
    expect(miner.rawLines.slice(0, 3)).toEqual([
      '{"id":1,"result":[[["mining.set_difficulty","57a6f098"],["mining.notify","57a6f098"]],"57a6f098",4],"error":null}',
      '{"id":2,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}',
      '{"id":3,"result":true,"error":null}',
    ])
    expect(miner.difficulties).toEqual([512])
    expect(notify).toEqual({
      jobId: '1',
      prevhash: '171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000',
      coinb1,
      coinb2,
      branch: [
        '175335649d5e8746982969ec88f52e85ac9917106fba5468e699c8879ab974a1',
        'd5644ab3e708c54cd68dc5aedc92b8d3037449687f92ec41ed6e37673d969d4a',
        '5c9ec187517edc0698556cca5ce27e54c96acb014770599ed9df4d4937fbf2b0',
      ],
      version: '20000000',
      nbits: '192495f8',
      ntime: '64b3f3ec',
      clean: true,
    })
    miner.send(
      '{"id": 5, "method": "mining.submit", "params": ["tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.bitaxe3", "1", "c7080000", "64b3f3ec", "ed460d91", "00002000"]}\n',
    )
    const reply = await miner.waitFor((m) => m.id === 5)
    expect(reply).toEqual({ id: 5, result: true, error: null })
    const s = shares[0]!
    expect(s.hashHex).toBe('000000000061d52983863e5c424c00d9e0981874fddf6a8493433e73928a3e4e')
    expect(s.shareDifficulty).toBeCloseTo(669.868291, 5)
    expect(s).toMatchObject({ accepted: true, isBlock: false, difficulty: 512 })
  })
})
