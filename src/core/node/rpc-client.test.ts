import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { Block, Transaction } from 'bitcoinjs-lib'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeBitcoind } from '../../../test/support/fake-bitcoind'
import { tempDir } from '../../../test/support/temp-dir'
import { NodeRpcClient, type NodeRpcConfig } from './rpc-client'

const USER = { user: 'hashyard', password: 'correct horse' }
const cleanups: (() => Promise<void> | void)[] = []

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function startNode(options: Parameters<typeof FakeBitcoind.start>[0] = {}): Promise<FakeBitcoind> {
  const node = await FakeBitcoind.start(options)
  cleanups.push(() => node.close())
  return node
}

function client(config: NodeRpcConfig): NodeRpcClient {
  const r = NodeRpcClient.create(config)
  if (!r.ok) throw new Error(r.error.message)
  cleanups.push(() => r.value.close())
  return r.value
}

/** A plain HTTP server for answers no Bitcoin node gives (wrong service on the port, broken shapes). */
async function rawServer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5))
}

function fixtureHex(name: string): string {
  return readFileSync(new URL(`../../../test/fixtures/blocks/${name}.hex`, import.meta.url), 'utf8').trim()
}

describe('NodeRpcClient: authentication', () => {
  it('calls the node with user and password', async () => {
    const node = await startNode()
    const rpc = client({ url: node.url, ...USER })
    const info = await rpc.getBlockchainInfo()
    expect(info).toMatchObject({ ok: true, value: { chain: 'regtest', blocks: 0, bestblockhash: node.tip.hash } })
    expect(node.calls).toEqual([{ method: 'getblockchaininfo', params: [], authorized: true }])
  })

  it('reports a wrong password as NODE_AUTH with a message naming rpcuser/rpcpassword', async () => {
    const node = await startNode()
    const r = await client({ url: node.url, user: 'hashyard', password: 'wrong' }).getBestBlockHash()
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error.code).toBe('NODE_AUTH')
    expect(r.error.details?.httpStatus).toBe(401)
    expect(r.error.message).toContain('rpcuser/rpcpassword')
    expect(r.error.message).not.toContain('wrong')
  })

  it('takes credentials written in the URL', async () => {
    const node = await startNode()
    const url = `http://hashyard:${encodeURIComponent('correct horse')}@127.0.0.1:${node.port}`
    expect((await client({ url }).getBestBlockHash()).ok).toBe(true)
  })

  it('says credentials are needed when none are configured', async () => {
    const node = await startNode()
    const r = await client({ url: node.url }).getBestBlockHash()
    expect(!r.ok && r.error.code).toBe('NODE_AUTH')
    expect(!r.ok && r.error.message).toContain('requires credentials')
  })

  it('authenticates with the cookie file, and re-reads it after the node restarts with a new one', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.cleanup)
    const cookieFile = join(tmp.dir, '.cookie')
    const node = await startNode({ credentials: null, cookieFile })
    const rpc = client({ url: node.url, cookieFile })
    expect((await rpc.getBestBlockHash()).ok).toBe(true)
    await node.goDown()
    await node.comeUp()
    expect(readFileSync(cookieFile, 'utf8')).toMatch(/^__cookie__:[0-9a-f]{64}$/)
    const after = await rpc.getBestBlockHash()
    expect(after.ok).toBe(true)
    // The first try used the old cookie and got 401; the retry read the new one.
    expect(node.calls.slice(-2).map((c) => c.authorized)).toEqual([false, true])
  })

  it('accepts the data directory instead of the cookie path', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.cleanup)
    const node = await startNode({ credentials: null, cookieFile: join(tmp.dir, '.cookie') })
    expect((await client({ url: node.url, cookieFile: tmp.dir }).getBestBlockHash()).ok).toBe(true)
  })

  it('reports a cookie that belongs to another node as NODE_AUTH', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.cleanup)
    const node = await startNode({ credentials: null, cookieFile: join(tmp.dir, '.cookie') })
    const other = join(tmp.dir, 'other')
    mkdirSync(other)
    writeFileSync(join(other, '.cookie'), `__cookie__:${'ab'.repeat(32)}`)
    const r = await client({ url: node.url, cookieFile: join(other, '.cookie') }).getBestBlockHash()
    expect(!r.ok && r.error.code).toBe('NODE_AUTH')
    expect(!r.ok && r.error.message).toContain('cookie')
  })

  it('says the node is not running when its cookie is missing and nothing listens', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.cleanup)
    const cookieFile = join(tmp.dir, '.cookie')
    const node = await startNode({ credentials: null, cookieFile })
    await node.goDown()
    const r = await client({ url: node.url, cookieFile }).getBestBlockHash()
    expect(!r.ok && r.error.code).toBe('NODE_UNREACHABLE')
    expect(!r.ok && r.error.details?.reason).toBe('refused')
  })

  it('explains a missing cookie when the node answers 401', async () => {
    const tmp = tempDir()
    cleanups.push(tmp.cleanup)
    const node = await startNode({ credentials: null, cookieFile: join(tmp.dir, '.cookie') })
    const r = await client({ url: node.url, cookieFile: join(tmp.dir, 'regtest', '.cookie') }).getBestBlockHash()
    expect(!r.ok && r.error.code).toBe('NODE_AUTH')
    expect(!r.ok && r.error.message).toContain('does not exist')
  })
})

describe('NodeRpcClient: node states and failures', () => {
  it('reports a closed port as NODE_UNREACHABLE (refused)', async () => {
    const node = await startNode()
    await node.goDown()
    const r = await client({ url: node.url, ...USER }).getBlockchainInfo()
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_UNREACHABLE', details: { reason: 'refused' } } })
    expect(!r.ok && r.error.message).toContain('Connection refused')
  })

  it('reports warm-up (-28) as NODE_WARMUP with the node’s own words', async () => {
    const node = await startNode()
    node.setMode('warmup')
    const r = await client({ url: node.url, ...USER }).getBlockTemplate()
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_WARMUP', details: { rpcCode: -28 } } })
    expect(!r.ok && r.error.message).toContain('Loading block index')
  })

  it('reports a mainnet node in initial download (-10) as NODE_SYNCING', async () => {
    const node = await startNode({ chain: 'main' })
    node.setMode('ibd')
    const r = await client({ url: node.url, ...USER }).getBlockTemplate()
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_SYNCING', details: { rpcCode: -10 } } })
  })

  it('passes other RPC errors on as NODE_RPC_ERROR with the node’s code and message', async () => {
    const node = await startNode()
    const rpc = client({ url: node.url, ...USER })
    const r = await rpc.call('getblocktemplate', [{ rules: [] }])
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_RPC_ERROR', details: { rpcCode: -8 } } })
    expect(!r.ok && r.error.message).toContain('segwit rule')
    const unknown = await rpc.call('frobnicate')
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NODE_RPC_ERROR', details: { rpcCode: -32601 } } })
  })

  it('times out on a node that never answers, saying which call', async () => {
    const node = await startNode()
    node.setMode('hang')
    const r = await client({ url: node.url, ...USER, timeoutMs: 150 }).getMiningInfo()
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_UNREACHABLE', details: { reason: 'timeout' } } })
    expect(!r.ok && r.error.message).toContain('getmininginfo')
  })

  it('returns NODE_CANCELLED when the caller aborts', async () => {
    const node = await startNode()
    node.setMode('hang')
    const abort = new AbortController()
    const pending = client({ url: node.url, ...USER }).getBestBlockHash({ signal: abort.signal })
    await waitFor(() => node.calls.length === 1)
    abort.abort()
    expect(await pending).toMatchObject({ ok: false, error: { code: 'NODE_CANCELLED' } })
  })

  it('reports something that is not JSON-RPC as NODE_BAD_RESPONSE', async () => {
    const url = await rawServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'))
    const r = await client({ url, ...USER }).getBestBlockHash()
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_BAD_RESPONSE', details: { httpStatus: 200 } } })
  })

  it('reports a template of the wrong shape as NODE_BAD_RESPONSE, naming the field', async () => {
    const url = await rawServer((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        const { id } = JSON.parse(body) as { id: number }
        res.end(JSON.stringify({ result: { version: 1, previousblockhash: 'zz' }, error: null, id }))
      })
    })
    const r = await client({ url, ...USER }).getBlockTemplate()
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_BAD_RESPONSE' } })
    expect(!r.ok && r.error.message).toContain('previousblockhash')
  })

  it('refuses a bad URL at creation with NODE_CONFIG', () => {
    const r = NodeRpcClient.create({ url: 'https://node.example:8332' })
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_CONFIG' } })
    expect(NodeRpcClient.create({ url: 'http://127.0.0.1:99999' })).toMatchObject({ ok: false })
    expect(NodeRpcClient.create({ url: '127.0.0.1', user: 'only-user' })).toMatchObject({ ok: false })
  })
})

describe('NodeRpcClient: mining calls', () => {
  it('gets a validated template with the segwit rule and long-polls until the tip changes', async () => {
    const node = await startNode()
    const rpc = client({ url: node.url, ...USER })
    const t = await rpc.getBlockTemplate()
    expect(t.ok).toBe(true)
    if (!t.ok) return
    expect(node.calls[0]?.params).toEqual([{ rules: ['segwit'] }])
    expect(t.value.height).toBe(1)
    const held = rpc.getBlockTemplate(
      { longpollid: t.value.longpollid },
      { dedicatedConnection: true, timeoutMs: 60_000 },
    )
    await waitFor(() => node.calls.length === 2)
    const tip = node.advanceBlock()
    const next = await held
    expect(next).toMatchObject({ ok: true, value: { previousblockhash: tip, height: 2 } })
  })

  it('submits a real block: accepted, then duplicate; a tampered one is rejected with the reason', async () => {
    const node = await startNode({ chain: 'main' })
    const rpc = client({ url: node.url, ...USER })
    const hex = fixtureHex('mainnet-482683')
    const tampered = Buffer.from(hex, 'hex')
    tampered[131] = tampered[131]! ^ 0x01
    const bad = await rpc.submitBlock(tampered.toString('hex'))
    expect(bad).toMatchObject({ ok: true, value: { status: 'rejected', reason: 'bad-txnmrklroot' } })
    expect(bad.ok && bad.value.status === 'rejected' && bad.value.message).toContain('merkle root')
    expect(await rpc.submitBlock(hex)).toEqual({ ok: true, value: { status: 'accepted' } })
    expect(await rpc.submitBlock(hex)).toEqual({ ok: true, value: { status: 'duplicate' } })
    const hash = '000000000000000000c238240ef6dcb26c37e75e16514e6ffc0aef7eee73e747'
    expect(await rpc.getBestBlockHash()).toEqual({ ok: true, value: hash })
    expect(await rpc.getBlockHeader(hash)).toMatchObject({ ok: true, value: { height: 482683, confirmations: 1 } })
    expect(await rpc.getBlockHash(482683)).toEqual({ ok: true, value: hash })
    expect(await rpc.getBlockHex(hash)).toEqual({ ok: true, value: hex })
  })

  it('confirms a found block: in the chain, stale when another block won the height, unknown', async () => {
    const node = await startNode()
    const rpc = client({ url: node.url, ...USER })
    const t = await rpc.getBlockTemplate()
    if (!t.ok) throw new Error(t.error.message)
    // A coinbase-only block on the genesis, assembled with bitcoinjs-lib.
    const coinbase = new Transaction()
    coinbase.addInput(new Uint8Array(32), 0xffffffff, 0xffffffff, Uint8Array.from([0x51, 0x04, 1, 2, 3, 4]))
    coinbase.addOutput(Uint8Array.from([0x51]), 5_000_000_000n)
    const block = new Block()
    block.version = t.value.version
    block.prevHash = Uint8Array.from(Buffer.from(t.value.previousblockhash, 'hex').reverse())
    block.transactions = [coinbase]
    block.merkleRoot = Block.calculateMerkleRoot([coinbase])
    block.timestamp = t.value.curtime
    block.bits = Number.parseInt(t.value.bits, 16)
    while (!block.checkProofOfWork()) block.nonce++
    const competitor = node.advanceBlock()
    expect(await rpc.submitBlock(block.toHex())).toMatchObject({ ok: true, value: { status: 'inconclusive' } })
    expect(await rpc.confirmBlock(block.getId())).toEqual({ ok: true, value: { state: 'stale', height: 1 } })
    expect(await rpc.confirmBlock(competitor)).toEqual({
      ok: true,
      value: { state: 'in-chain', height: 1, confirmations: 1 },
    })
    expect(await rpc.confirmBlock('00'.repeat(32))).toEqual({ ok: true, value: { state: 'unknown' } })
  })

  it('answers null for blocks and heights the node does not have', async () => {
    const node = await startNode()
    const rpc = client({ url: node.url, ...USER })
    expect(await rpc.getBlockHeader('00'.repeat(32))).toEqual({ ok: true, value: null })
    expect(await rpc.getBlockHex('00'.repeat(32))).toEqual({ ok: true, value: null })
    expect(await rpc.getBlockHash(5)).toEqual({ ok: true, value: null })
  })

  it('reports a block that is not a block as the node’s decode error', async () => {
    const node = await startNode()
    const r = await client({ url: node.url, ...USER }).submitBlock('00')
    expect(r).toMatchObject({ ok: false, error: { code: 'NODE_RPC_ERROR', details: { rpcCode: -22 } } })
  })

  it('leaves no socket open after close()', async () => {
    const node = await startNode()
    const rpc = client({ url: node.url, ...USER })
    await Promise.all([rpc.getBestBlockHash(), rpc.getMiningInfo(), rpc.getBlockchainInfo()])
    expect(node.connectionCount()).toBeGreaterThan(0)
    rpc.close()
    await waitFor(() => node.connectionCount() === 0)
    expect(await rpc.getBestBlockHash()).toMatchObject({ ok: false, error: { code: 'NODE_CANCELLED' } })
  })
})
