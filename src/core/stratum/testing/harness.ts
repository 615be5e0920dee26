/**
 * Test harness: a real StratumServer on 127.0.0.1:0 fed by a real WorkFeed from a real mainnet
 * template, with share/block callbacks recorded and TestMiners that clean up after themselves.
 */
import { readFileSync } from 'node:fs'
import { decodePayoutAddress } from '../../bitcoin/address'
import { type LogRecord, memoryLogger } from '../../logger'
import type { BlockTemplate, Job } from '../../pool/job'
import { templateFromBlock } from '../../pool/testing/template-from-block'
import { StratumServer, type StratumServerOptions } from '../server'
import type { BlockFinder, ShareEvent } from '../session'
import { WorkFeed, type WorkFeedOptions } from '../work-feed'
import { type NotifyJob, TestMiner } from './miner'

export const FIXTURES = new URL('../../../../test/fixtures/', import.meta.url)

export function fixture(path: string): Buffer {
  return readFileSync(new URL(path, FIXTURES))
}

/** BIP173's mainnet P2WPKH example: the pool's payout address in tests. */
export const POOL_ADDRESS = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4'

export function payoutScript(address: string, network: 'mainnet' | 'regtest' = 'mainnet'): Uint8Array {
  const d = decodePayoutAddress(address, network)
  if (!d.ok) throw new Error(d.message)
  return d.script
}

/** A real mainnet template (block 482,683's transactions): shares are never blocks by chance. */
export function mainnetTemplate(): BlockTemplate {
  return templateFromBlock(fixture('blocks/mainnet-482683.hex').toString('utf8')).template
}

/** Same transactions with regtest's nBits: about every other hash is a block. */
export function easyTemplate(prevOverride?: string): BlockTemplate {
  const t = mainnetTemplate()
  return {
    ...t,
    bits: '207fffff',
    target: '7fffff0000000000000000000000000000000000000000000000000000000000',
    ...(prevOverride ? { previousblockhash: prevOverride } : {}),
  }
}

/** The same template on top of another previous block (a new block arrived). */
export function nextBlockTemplate(t: BlockTemplate, n = 1): BlockTemplate {
  const prev = Buffer.from(t.previousblockhash, 'hex')
  prev[31] = (prev[31]! + n) & 0xff
  return { ...t, previousblockhash: prev.toString('hex'), height: t.height + 1 }
}

export interface FoundBlock {
  job: Job
  blockBytes: Buffer
  hashHex: string
  finder: BlockFinder
}

export interface Pool {
  server: StratumServer
  port: number
  tlsPort?: number
  feed: WorkFeed
  log: ReturnType<typeof memoryLogger>
  shares: ShareEvent[]
  blocks: FoundBlock[]
  connect(): Promise<TestMiner>
  /** subscribe (+configure) + authorize, then the first notify. */
  handshake(opts?: { user?: string; password?: string; configureMask?: string; ua?: string }): Promise<Ready>
  logged(pred: (r: LogRecord) => boolean): boolean
  stop(): Promise<void>
}

export interface Ready {
  miner: TestMiner
  en1: string
  en2Size: number
  job: NotifyJob
  difficulty: number
}

/** Tiny power-of-two difficulty: a share takes ~4,096 hashes to find. */
export const TINY_DIFF = 2 ** -20

export async function startPool(
  opts: {
    template?: BlockTemplate
    /** false: start without work (the node is not ready yet). */
    publish?: boolean
    server?: Partial<StratumServerOptions>
    feed?: Partial<WorkFeedOptions>
  } = {},
): Promise<Pool> {
  const log = memoryLogger('debug')
  const feed = new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 'hashyard-test', ...opts.feed })
  if (opts.publish !== false) feed.publish(opts.template ?? mainnetTemplate())
  const shares: ShareEvent[] = []
  const blocks: FoundBlock[] = []
  const server = new StratumServer({
    work: feed,
    network: 'mainnet',
    logger: log,
    host: '127.0.0.1',
    port: 0,
    vardiff: { minDifficulty: 2 ** -30, startDifficulty: TINY_DIFF, startByUserAgent: [] },
    onShare: (e) => shares.push(e),
    onBlockFound: (job, blockBytes, hashHex, finder) => blocks.push({ job, blockBytes, hashHex, finder }),
    ...opts.server,
  })
  const { port, tlsPort } = await server.listen()
  const miners: TestMiner[] = []
  const connect = async (): Promise<TestMiner> => {
    const m = await TestMiner.connect(port)
    miners.push(m)
    return m
  }
  return {
    server,
    port,
    ...(tlsPort !== undefined ? { tlsPort } : {}),
    feed,
    log,
    shares,
    blocks,
    connect,
    async handshake(h = {}) {
      const miner = await connect()
      const reqs: Array<[string, unknown[]]> = []
      if (h.configureMask !== undefined)
        reqs.push(['mining.configure', [['version-rolling'], { 'version-rolling.mask': h.configureMask }]])
      reqs.push(['mining.subscribe', [h.ua ?? 'testminer/1.0']])
      reqs.push(['mining.authorize', [h.user ?? `${POOL_ADDRESS}.w1`, h.password ?? 'x']])
      const replies = await miner.pipeline(reqs)
      const sub = replies[h.configureMask !== undefined ? 1 : 0]!.result as [unknown, string, number]
      const job = await miner.notifyCount(1)
      return { miner, en1: sub[1], en2Size: sub[2], job, difficulty: miner.difficulties.at(-1)! }
    },
    logged: (pred) => log.records.some(pred),
    async stop() {
      for (const m of miners) m.close()
      await server.close({ reconnect: false, graceMs: 200 })
    },
  }
}
