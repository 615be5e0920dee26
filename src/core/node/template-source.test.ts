import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeBitcoind } from '../../../test/support/fake-bitcoind'
import { checkPayoutNetwork } from './chain'
import { nodeError } from './errors'
import { type BlockchainInfo, type BlockTemplate, blockTemplateSchema } from './messages'
import { type CallOptions, NodeRpcClient, type RpcResult } from './rpc-client'
import {
  type NodeState,
  type NodeStatus,
  type TemplateEvent,
  type TemplateRpc,
  TemplateSource,
  type TemplateSourceOptions,
} from './template-source'

const USER = { user: 'hashyard', password: 'correct horse' }
const HOUR_MS = 3_600_000
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function startNode(options: Parameters<typeof FakeBitcoind.start>[0] = {}): Promise<FakeBitcoind> {
  const node = await FakeBitcoind.start(options)
  cleanups.push(() => node.close())
  return node
}

function rpcFor(url: string, password = USER.password): NodeRpcClient {
  const r = NodeRpcClient.create({ url, user: USER.user, password, timeoutMs: 2_000 })
  if (!r.ok) throw new Error(r.error.message)
  cleanups.push(() => r.value.close())
  return r.value
}

interface Harness {
  source: TemplateSource
  rpc: NodeRpcClient
  templates: TemplateEvent[]
  statuses: NodeStatus[]
}

/** Starts a source with fast retries; by default only the mechanism a test names is active. */
function startSource(url: string, options: Partial<TemplateSourceOptions> & { password?: string } = {}): Harness {
  const rpc = rpcFor(url, options.password)
  const source = new TemplateSource({
    rpc,
    pollIntervalMs: HOUR_MS,
    refreshIntervalMs: HOUR_MS,
    retryInitialMs: 10,
    retryMaxMs: 40,
    ...options,
  })
  const h: Harness = { source, rpc, templates: [], statuses: [] }
  source.on('template', (e) => h.templates.push(e))
  source.on('status', (s) => h.statuses.push(s))
  cleanups.push(() => source.stop())
  source.start()
  return h
}

function nextTemplate(
  source: TemplateSource,
  match: (e: TemplateEvent) => boolean = () => true,
): Promise<TemplateEvent> {
  return new Promise((resolve) => {
    const on = (e: TemplateEvent): void => {
      if (!match(e)) return
      source.off('template', on)
      resolve(e)
    }
    source.on('template', on)
  })
}

function untilState(source: TemplateSource, state: NodeState): Promise<NodeStatus> {
  if (source.status.state === state) return Promise.resolve(source.status)
  return new Promise((resolve) => {
    const on = (s: NodeStatus): void => {
      if (s.state !== state) return
      source.off('status', on)
      resolve(s)
    }
    source.on('status', on)
  })
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5))
}

describe('TemplateSource: templates', () => {
  it('emits the initial template with clean jobs and reports connected with chain and heights', async () => {
    const node = await startNode()
    const { source } = startSource(node.url, { longPoll: false })
    const first = await nextTemplate(source)
    expect(first.reason).toBe('initial')
    expect(first.cleanJobs).toBe(true)
    expect(first.template.previousblockhash).toBe(node.tip.hash)
    expect(first.template.height).toBe(1)
    const status = await untilState(source, 'connected')
    expect(status).toMatchObject({ chain: 'regtest', network: 'regtest', height: 0, headers: 0, templateHeight: 1 })
    expect(status.lastTemplateAtMs).toBe(first.receivedAtMs)
    expect(status.message).toContain('regtest')
    expect(source.template).toBe(first.template)
  })

  it('detects a new block through the long-poll alone', async () => {
    const node = await startNode()
    const { source } = startSource(node.url, { longPoll: true })
    await nextTemplate(source)
    // The long-poll is held at the node before the block arrives.
    await waitFor(() => node.calls.some((c) => JSON.stringify(c.params).includes('longpollid')))
    const next = nextTemplate(source, (e) => e.reason === 'new-block')
    const tip = node.advanceBlock()
    const e = await next
    expect(e).toMatchObject({ reason: 'new-block', cleanJobs: true })
    expect(e.template.previousblockhash).toBe(tip)
    expect(e.template.height).toBe(2)
    expect(node.calls.some((c) => c.method === 'getbestblockhash')).toBe(false)
  })

  it('detects a new block through the getbestblockhash poll when long-polling is off', async () => {
    const node = await startNode()
    const { source } = startSource(node.url, { longPoll: false, pollIntervalMs: 10 })
    await nextTemplate(source)
    await waitFor(() => node.calls.some((c) => c.method === 'getbestblockhash'))
    const next = nextTemplate(source, (e) => e.reason === 'new-block')
    const tip = node.advanceBlock()
    const e = await next
    expect(e.template.previousblockhash).toBe(tip)
    expect(e.cleanJobs).toBe(true)
    expect(node.calls.some((c) => JSON.stringify(c.params).includes('longpollid'))).toBe(false)
  })

  it('refreshes periodically without clearing jobs, picking up new transactions', async () => {
    const node = await startNode({ regtestMempoolSize: 2 })
    const { source } = startSource(node.url, { longPoll: false, refreshIntervalMs: 20 })
    const first = await nextTemplate(source)
    expect(first.template.transactions).toHaveLength(2)
    const refreshed = nextTemplate(source, (e) => e.template.transactions.length === 5)
    node.addMempoolTransactions(3)
    const e = await refreshed
    expect(e).toMatchObject({ reason: 'refresh', cleanJobs: false })
    expect(e.template.previousblockhash).toBe(first.template.previousblockhash)
    // The refresh also re-reads the chain state.
    expect(node.calls.filter((c) => c.method === 'getblockchaininfo').length).toBeGreaterThan(1)
  })

  it('with long-poll and poll both on, never goes back to an older tip and marks each new tip once', async () => {
    const node = await startNode()
    const { source, templates } = startSource(node.url, { pollIntervalMs: 5 })
    await nextTemplate(source)
    for (let i = 0; i < 5; i++) {
      const height = node.tip.height + 2
      const next = nextTemplate(source, (e) => e.template.height === height)
      node.advanceBlock()
      await next
    }
    const heights = templates.map((e) => e.template.height)
    expect(heights).toEqual([...heights].sort((a, b) => a - b))
    const newBlocks = templates.filter((e) => e.reason === 'new-block').map((e) => e.template.height)
    expect(newBlocks).toEqual([2, 3, 4, 5, 6])
  })
})

/**
 * A node whose answers a test releases in a chosen order. Used only for the one race a real
 * node cannot be made to produce on demand: a refresh answered after a long-poll's newer template.
 */
class ScriptedRpc implements TemplateRpc {
  readonly endpoint = { display: 'scripted:0' }
  readonly templateCalls: { request: { longpollid?: string }; answer(t: BlockTemplate): void }[] = []

  async getBlockchainInfo(): Promise<RpcResult<BlockchainInfo>> {
    const info = {
      chain: 'regtest',
      blocks: 0,
      headers: 0,
      bestblockhash: 'aa'.repeat(32),
      initialblockdownload: false,
    }
    return { ok: true, value: info }
  }

  async getBestBlockHash(): Promise<RpcResult<string>> {
    return { ok: true, value: 'aa'.repeat(32) }
  }

  getBlockTemplate(
    request: { longpollid?: string } = {},
    options: CallOptions = {},
  ): Promise<RpcResult<BlockTemplate>> {
    return new Promise((resolve) => {
      this.templateCalls.push({ request, answer: (t) => resolve({ ok: true, value: t }) })
      options.signal?.addEventListener('abort', () =>
        resolve({ ok: false, error: nodeError('NODE_CANCELLED', 'cancelled') }),
      )
    })
  }
}

function scriptedTemplate(prevByte: string, height: number): BlockTemplate {
  return blockTemplateSchema.parse({
    version: 0x20000000,
    previousblockhash: prevByte.repeat(32),
    transactions: [],
    coinbasevalue: 5_000_000_000,
    longpollid: `${prevByte.repeat(32)}1`,
    target: `7fffff${'00'.repeat(29)}`,
    mintime: 1,
    curtime: 2,
    bits: '207fffff',
    height,
  })
}

describe('TemplateSource: ordering', () => {
  it('drops a refresh sent before a block but answered after the long-poll delivered the new tip', async () => {
    const rpc = new ScriptedRpc()
    const source = new TemplateSource({ rpc, pollIntervalMs: HOUR_MS, refreshIntervalMs: HOUR_MS })
    cleanups.push(() => source.stop())
    const events: TemplateEvent[] = []
    source.on('template', (e) => events.push(e))
    source.start()
    await waitFor(() => rpc.templateCalls.length === 1)
    rpc.templateCalls[0]!.answer(scriptedTemplate('aa', 1))
    await waitFor(() => rpc.templateCalls.length === 2) // the long-poll, held
    source.refreshNow()
    await waitFor(() => rpc.templateCalls.length === 3) // the refresh, sent before the block
    expect(rpc.templateCalls[1]!.request.longpollid).toBe(`${'aa'.repeat(32)}1`)
    rpc.templateCalls[1]!.answer(scriptedTemplate('bb', 2))
    await waitFor(() => events.length === 2)
    rpc.templateCalls[2]!.answer(scriptedTemplate('aa', 1))
    // One macrotask turn lets the refresh's continuation (microtasks) run before stop().
    await new Promise((r) => setTimeout(r, 0))
    expect(rpc.templateCalls).toHaveLength(4) // the next long-poll: the loop went on
    await source.stop()
    expect(events.map((e) => [e.reason, e.template.height])).toEqual([
      ['initial', 1],
      ['new-block', 2],
    ])
    expect(source.template?.height).toBe(2)
  })
})

describe('TemplateSource: node status', () => {
  it('reports a wrong password as auth and emits no template', async () => {
    const node = await startNode()
    const { source, templates } = startSource(node.url, { password: 'nope' })
    const s = await untilState(source, 'auth')
    expect(s.errorCode).toBe('NODE_AUTH')
    expect(s.message).toContain('rpcuser')
    expect(templates).toHaveLength(0)
  })

  it('reports warm-up, then connects when the node is ready', async () => {
    const node = await startNode()
    node.setMode('warmup')
    const { source } = startSource(node.url)
    expect((await untilState(source, 'warmup')).message).toContain('Loading block index')
    const first = nextTemplate(source)
    node.setMode('ready')
    expect((await first).reason).toBe('initial')
    expect(source.status.state).toBe('connected')
  })

  it('reports syncing while the node is behind its headers, then connects', async () => {
    const node = await startNode()
    node.setMode('ibd')
    const { source, templates } = startSource(node.url)
    const s = await untilState(source, 'syncing')
    expect(s).toMatchObject({ errorCode: 'NODE_SYNCING', height: 0, headers: 5_000 })
    expect(s.message).toContain('block 0 of 5000')
    expect(templates).toHaveLength(0)
    const first = nextTemplate(source)
    node.setMode('ready')
    await first
    expect(source.status.state).toBe('connected')
  })

  it('reports a mainnet node in initial block download as syncing', async () => {
    const node = await startNode({ chain: 'main' })
    node.setMode('ibd')
    const { source } = startSource(node.url)
    expect((await untilState(source, 'syncing')).chain).toBe('main')
  })

  it('reports a payout address of another network as wrong-network, and connects once it is fixed', async () => {
    const node = await startNode()
    const { source, templates } = startSource(node.url, {
      payoutCheck: (network) => (network === 'mainnet' ? null : 'payout address is mainnet'),
    })
    const s = await untilState(source, 'wrong-network')
    expect(s).toMatchObject({
      errorCode: 'NODE_WRONG_NETWORK',
      network: 'regtest',
      message: 'payout address is mainnet',
    })
    expect(templates).toHaveLength(0)
    const first = nextTemplate(source)
    source.setPayoutCheck(() => null)
    expect((await first).reason).toBe('initial')
  })

  it('reports the node going away as unreachable and recovers when it comes back', async () => {
    const node = await startNode()
    const { source } = startSource(node.url, { pollIntervalMs: 10 })
    await nextTemplate(source)
    await node.goDown()
    const down = await untilState(source, 'unreachable')
    expect(down).toMatchObject({ errorCode: 'NODE_UNREACHABLE' })
    expect(down.message).toContain('refused')
    // The template is kept so miners can keep working on it meanwhile.
    expect(source.template?.height).toBe(1)
    node.advanceBlock()
    const back = nextTemplate(source)
    await node.comeUp()
    const e = await back
    expect(e).toMatchObject({ reason: 'new-block', cleanJobs: true })
    expect(e.template.height).toBe(2)
    expect(source.status.state).toBe('connected')
  })

  it('reports an answer of the wrong shape as error', async () => {
    const server = http.createServer((_req, res) => res.end('{"result": {"chain": 1}, "error": null, "id": 1}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    server.on('connection', (s) => cleanups.push(() => void s.destroy()))
    const { source } = startSource(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    expect((await untilState(source, 'error')).errorCode).toBe('NODE_BAD_RESPONSE')
  })
})

describe('TemplateSource: stop', () => {
  it('cancels the held long-poll and timers, and leaves no socket open', async () => {
    const node = await startNode()
    const { source, rpc, templates } = startSource(node.url, { pollIntervalMs: 10, refreshIntervalMs: 10 })
    await nextTemplate(source)
    await waitFor(() => node.calls.some((c) => JSON.stringify(c.params).includes('longpollid')))
    await source.stop()
    expect(source.status.state).toBe('stopped')
    rpc.close()
    await waitFor(() => node.connectionCount() === 0)
    const count = templates.length
    const calls = node.calls.length
    node.advanceBlock()
    // Nothing was left to react: a fresh client sees the node idle and the source silent.
    const probe = rpcFor(node.url)
    expect((await probe.getBestBlockHash()).ok).toBe(true)
    expect(templates).toHaveLength(count)
    expect(node.calls.length).toBe(calls + 1)
  })

  it('can be stopped while the node is down and retrying', async () => {
    const node = await startNode()
    await node.goDown()
    const { source } = startSource(node.url)
    await untilState(source, 'unreachable')
    await source.stop()
    expect(source.status.state).toBe('stopped')
  })
})

describe('checkPayoutNetwork', () => {
  it.each([
    ['main', 'mainnet'],
    ['test', 'testnet'],
    ['testnet4', 'testnet4'],
    ['signet', 'signet'],
    ['regtest', 'regtest'],
  ] as const)('maps chain %s to %s', (chain, network) => {
    expect(checkPayoutNetwork(chain)).toEqual({ ok: true, value: network })
    expect(checkPayoutNetwork(chain, network)).toEqual({ ok: true, value: network })
  })

  it('refuses a payout address of another network, and an unknown chain, with a sentence', () => {
    const r = checkPayoutNetwork('main', 'testnet')
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_WRONG_NETWORK' } })
    expect(!r.ok && r.error.message).toBe(
      'The payout address is a testnet address but the node runs mainnet: use a mainnet address or a testnet node.',
    )
    expect(checkPayoutNetwork('liquidv1')).toMatchObject({ ok: false, error: { code: 'NODE_WRONG_NETWORK' } })
  })
})
