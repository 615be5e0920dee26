import { readFileSync } from 'node:fs'
import { Block, script as bscript, Transaction } from 'bitcoinjs-lib'
import { afterEach, describe, expect, it } from 'vitest'
import { FakeBitcoind, fromDisplay } from './fake-bitcoind'

// Blocks here are assembled by hand with bitcoinjs-lib only, never with our src/core code, so the
// fake node is checked against an implementation that does not share our bugs.

interface Template {
  version: number
  previousblockhash: string
  transactions: { data: string; txid: string; hash: string }[]
  coinbasevalue: number
  curtime: number
  mintime: number
  bits: string
  height: number
  longpollid: string
  default_witness_commitment?: string
}

const AUTH = `Basic ${Buffer.from('hashyard:correct horse').toString('base64')}`
const nodes: FakeBitcoind[] = []

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()))
})

async function startNode(options: Parameters<typeof FakeBitcoind.start>[0] = {}): Promise<FakeBitcoind> {
  const node = await FakeBitcoind.start(options)
  nodes.push(node)
  return node
}

async function rpc(
  node: FakeBitcoind,
  method: string,
  params: unknown[] = [],
  auth = AUTH,
): Promise<{ status: number; body: { result: unknown; error: { code: number; message: string } | null } | null }> {
  const res = await fetch(node.url, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }),
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? null : JSON.parse(text) }
}

async function template(node: FakeBitcoind): Promise<Template> {
  const r = await rpc(node, 'getblocktemplate', [{ rules: ['segwit'] }])
  expect(r.body?.error).toBeNull()
  return r.body?.result as Template
}

interface BuildOptions {
  /** Replaces the BIP34 height push at the start of the scriptSig. */
  heightPush?: Uint8Array
  payoutSats?: bigint
  /** Put the 32-byte witness reserved value in the coinbase (otherwise the node inserts it, as Core). */
  coinbaseWitness?: boolean
  commitment?: Uint8Array
  transactions?: Transaction[]
}

function buildBlock(t: Template, o: BuildOptions = {}): Block {
  const heightPush = o.heightPush ?? bscript.compile([bscript.number.encode(t.height)])
  const extranonce = bscript.compile([Buffer.from('0000000100000002', 'hex')])
  const coinbase = new Transaction()
  coinbase.version = 2
  coinbase.addInput(new Uint8Array(32), 0xffffffff, 0xffffffff, Buffer.concat([heightPush, extranonce]))
  coinbase.addOutput(Uint8Array.from([0x51]), o.payoutSats ?? BigInt(t.coinbasevalue))
  const commitment = o.commitment ?? Buffer.from(t.default_witness_commitment ?? '', 'hex')
  if (commitment.length > 0) coinbase.addOutput(commitment, 0n)
  if (o.coinbaseWitness === true) coinbase.setWitness(0, [new Uint8Array(32)])
  const block = new Block()
  block.version = t.version
  block.prevHash = fromDisplay(t.previousblockhash)
  block.transactions = [coinbase, ...(o.transactions ?? t.transactions.map((x) => Transaction.fromHex(x.data)))]
  block.merkleRoot = Block.calculateMerkleRoot(block.transactions)
  block.timestamp = t.curtime
  block.bits = Number.parseInt(t.bits, 16)
  return mine(block)
}

function mine(block: Block): Block {
  block.nonce = 0
  while (!block.checkProofOfWork()) block.nonce++
  return block
}

/** Flips bits of one header byte until the hash misses the target (the outcome is then certain). */
function breakProofOfWork(block: Block): Block {
  const header = Buffer.from(block.toBuffer())
  for (let mask = 1; mask < 256; mask++) {
    const copy = Buffer.from(header)
    copy[76] = copy[76]! ^ mask
    const candidate = Block.fromBuffer(copy)
    if (!candidate.checkProofOfWork()) return candidate
  }
  throw new Error('no flip of the nonce byte misses the target')
}

/** BIP141 commitment script computed by bitcoinjs-lib (coinbase wtxid taken as zero, reserved value zero). */
function commitmentFor(transactions: Transaction[]): Buffer {
  const dummy = new Transaction()
  dummy.addInput(new Uint8Array(32), 0xffffffff)
  dummy.setWitness(0, [new Uint8Array(32)])
  const commitment = Block.calculateMerkleRoot([dummy, ...transactions], true)
  return Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commitment])
}

async function submit(node: FakeBitcoind, block: Block | string): Promise<unknown> {
  const r = await rpc(node, 'submitblock', [typeof block === 'string' ? block : block.toHex()])
  if (r.body?.error) return r.body.error
  return r.body?.result
}

describe('fake bitcoind: auth and RPC shape', () => {
  it('answers 401 with an empty body to wrong credentials and to none', async () => {
    const node = await startNode()
    const wrong = await rpc(node, 'getbestblockhash', [], `Basic ${Buffer.from('hashyard:nope').toString('base64')}`)
    expect(wrong.status).toBe(401)
    expect(wrong.body).toBeNull()
    const none = await fetch(node.url, { method: 'POST', body: '{}' })
    expect(none.status).toBe(401)
    expect(node.calls.map((c) => c.authorized)).toEqual([false, false])
  })

  it('refuses getblocktemplate without the segwit rule, as Bitcoin Core does', async () => {
    const node = await startNode()
    const r = await rpc(node, 'getblocktemplate', [{}])
    expect(r.status).toBe(500)
    expect(r.body?.error?.code).toBe(-8)
    expect(r.body?.error?.message).toContain('segwit rule')
  })

  it('answers an unknown method with -32601 and HTTP 404', async () => {
    const node = await startNode()
    const r = await rpc(node, 'frobnicate')
    expect(r.status).toBe(404)
    expect(r.body?.error?.code).toBe(-32601)
  })

  it('answers -28 to everything while warming up', async () => {
    const node = await startNode()
    node.setMode('warmup')
    const r = await rpc(node, 'getblockchaininfo')
    expect(r.body?.error).toEqual({ code: -28, message: 'Loading block index…' })
  })

  it('reports initial block download and refuses mainnet templates then (-10)', async () => {
    const node = await startNode({ chain: 'main' })
    node.setMode('ibd')
    const info = (await rpc(node, 'getblockchaininfo')).body?.result as { initialblockdownload: boolean }
    expect(info.initialblockdownload).toBe(true)
    const gbt = await rpc(node, 'getblocktemplate', [{ rules: ['segwit'] }])
    expect(gbt.body?.error?.code).toBe(-10)
  })
})

describe('fake bitcoind: regtest templates', () => {
  it('serves a fresh regtest chain: height 1 on the real genesis, easy bits, real transactions, a witness commitment', async () => {
    const node = await startNode()
    const t = await template(node)
    expect(t.previousblockhash).toBe('0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206')
    expect(t.height).toBe(1)
    expect(t.bits).toBe('207fffff')
    expect(t.transactions).toHaveLength(11)
    for (const tx of t.transactions) expect(Transaction.fromHex(tx.data).getId()).toBe(tx.txid)
    expect(t.transactions.some((tx) => tx.hash !== tx.txid)).toBe(true)
    const txs = t.transactions.map((x) => Transaction.fromHex(x.data))
    expect(t.default_witness_commitment).toBe(commitmentFor(txs).toString('hex'))
    // Fees: the block's total fee (coinbase minus 12.5 BTC) plus the regtest subsidy of 50 BTC.
    expect(t.coinbasevalue).toBe(5_000_000_000 + (1_256_817_877 - 1_250_000_000))
  })

  it('accepts a correctly assembled block (coinbase without witness: the node adds the reserved value, as Core)', async () => {
    const node = await startNode()
    const t = await template(node)
    const block = buildBlock(t)
    expect(await submit(node, block)).toBeNull()
    expect(node.tip).toEqual({ hash: block.getId(), height: 1 })
    expect(node.acceptedBlocks.map((b) => b.hash)).toEqual([block.getId()])
    const header = (await rpc(node, 'getblockheader', [block.getId(), true])).body?.result as {
      confirmations: number
      height: number
    }
    expect(header).toMatchObject({ confirmations: 1, height: 1 })
    // The mined transactions left the mempool.
    expect((await template(node)).transactions).toHaveLength(0)
    expect(await submit(node, block)).toBe('duplicate')
  })

  it('accepts a block whose coinbase carries the witness reserved value', async () => {
    const node = await startNode()
    const block = buildBlock(await template(node), { coinbaseWitness: true })
    expect(await submit(node, block)).toBeNull()
  })

  it('rejects a header byte flipped so the hash misses the target: high-hash', async () => {
    const node = await startNode()
    const block = breakProofOfWork(buildBlock(await template(node)))
    expect(await submit(node, block)).toBe('high-hash')
    expect(node.acceptedBlocks).toHaveLength(0)
  })

  it('rejects a flipped merkle root byte (header re-mined): bad-txnmrklroot', async () => {
    const node = await startNode()
    const block = buildBlock(await template(node))
    block.merkleRoot![0] = block.merkleRoot![0]! ^ 0x01
    expect(await submit(node, mine(block))).toBe('bad-txnmrklroot')
  })

  it('rejects a flipped coinbase height byte (OP_1 → OP_2): bad-cb-height', async () => {
    const node = await startNode()
    const block = buildBlock(await template(node), { heightPush: Uint8Array.from([0x52]) })
    expect(await submit(node, block)).toBe('bad-cb-height')
  })

  it('rejects the non-minimal height push `01 01` on a fresh chain (the ckpool/public-pool bug)', async () => {
    const node = await startNode()
    const block = buildBlock(await template(node), { heightPush: Uint8Array.from([0x01, 0x01]) })
    expect(await submit(node, block)).toBe('bad-cb-height')
    // Marked invalid as Core would (BLOCK_CONSENSUS): resubmitting says so.
    expect(await submit(node, block)).toBe('duplicate-invalid')
  })

  it.each([
    [15, Uint8Array.from([0x60])],
    [16, Uint8Array.from([0x01, 0x11])],
    [126, Uint8Array.from([0x01, 0x7f])],
    [127, Uint8Array.from([0x02, 0x80, 0x00])],
  ])('accepts the minimal height push for the block after tip %i', async (tipHeight, push) => {
    const node = await startNode({ regtestTipHeight: tipHeight })
    const t = await template(node)
    expect(t.height).toBe(tipHeight + 1)
    expect(await submit(node, buildBlock(t, { heightPush: push }))).toBeNull()
  })

  it('rejects an unknown previous block (prev-blk-not-found), a child of an invalid block (bad-prevblk), and a stale parent (inconclusive)', async () => {
    const node = await startNode()
    const t = await template(node)
    const orphan = buildBlock({ ...t, previousblockhash: 'ab'.repeat(32) })
    expect(await submit(node, orphan)).toBe('prev-blk-not-found')

    const invalid = buildBlock(t, { heightPush: Uint8Array.from([0x52]) })
    expect(await submit(node, invalid)).toBe('bad-cb-height')
    const child = buildBlock({ ...t, previousblockhash: invalid.getId(), height: 2, curtime: t.curtime + 1 })
    expect(await submit(node, child)).toBe('bad-prevblk')

    node.advanceBlock()
    expect(await submit(node, buildBlock(t))).toBe('inconclusive')
  })

  it('rejects a wrong witness commitment, an overpaying coinbase, a transaction it does not know, and wrong bits', async () => {
    const node = await startNode()
    const t = await template(node)
    const commitment = Buffer.from(t.default_witness_commitment!, 'hex')
    commitment[10] = commitment[10]! ^ 0xff
    expect(await submit(node, buildBlock(t, { commitment }))).toBe('bad-witness-merkle-match')
    expect(await submit(node, buildBlock(t, { payoutSats: BigInt(t.coinbasevalue) + 1n }))).toBe('bad-cb-amount')
    const noCommitment = buildBlock(t, { commitment: new Uint8Array(0) })
    expect(await submit(node, noCommitment)).toBe('unexpected-witness')
    expect(await submit(node, buildBlock({ ...t, bits: '207ffffe' }))).toBe('bad-diffbits')
    // A transaction the node never saw (a known one with its locktime changed): its inputs are "missing".
    const stranger = Transaction.fromHex(t.transactions.find((x) => x.hash === x.txid)!.data)
    stranger.locktime = 1
    const txs = [...t.transactions.map((x) => Transaction.fromHex(x.data)), stranger]
    const withStranger = buildBlock(t, { transactions: txs, commitment: commitmentFor(txs) })
    expect(await submit(node, withStranger)).toBe('bad-txns-inputs-missingorspent')
  })

  it('rejects a time at or before the median time past: time-too-old', async () => {
    const node = await startNode({ regtestTipHeight: 3 })
    const t = await template(node)
    expect(await submit(node, buildBlock({ ...t, curtime: t.mintime - 1 }))).toBe('time-too-old')
  })

  it('holds a long-poll until advanceBlock(), then answers with the new tip', async () => {
    const node = await startNode()
    const t = await template(node)
    let answered = false
    const pending = rpc(node, 'getblocktemplate', [{ rules: ['segwit'], longpollid: t.longpollid }]).then((r) => {
      answered = true
      return r
    })
    // Wait until the node holds the request: it is recorded when it arrives.
    while (!node.calls.some((c) => JSON.stringify(c.params).includes('longpollid'))) {
      await new Promise((r) => setTimeout(r, 5))
    }
    expect(answered).toBe(false)
    const newTip = node.advanceBlock()
    const r = await pending
    expect((r.body!.result as Template).previousblockhash).toBe(newTip)
    expect((r.body!.result as Template).height).toBe(2)
  })

  it('answers a long-poll with a stale id at once', async () => {
    const node = await startNode()
    const t = await template(node)
    node.advanceBlock()
    const r = await rpc(node, 'getblocktemplate', [{ rules: ['segwit'], longpollid: t.longpollid }])
    expect((r.body!.result as Template).height).toBe(2)
  })

  it('tests a proposal without proof of work (getblocktemplate mode "proposal")', async () => {
    const node = await startNode()
    const t = await template(node)
    // Core does not add the witness reserved value to proposals (only submitblock does).
    const good = buildBlock(t, { coinbaseWitness: true })
    const bad = buildBlock(t, { heightPush: Uint8Array.from([0x52]), coinbaseWitness: true })
    const noReserved = await rpc(node, 'getblocktemplate', [{ mode: 'proposal', data: buildBlock(t).toHex() }])
    expect(noReserved.body?.result).toBe('bad-witness-nonce-size')
    const ok = await rpc(node, 'getblocktemplate', [{ mode: 'proposal', data: good.toHex() }])
    expect(ok.body?.result).toBeNull()
    const ko = await rpc(node, 'getblocktemplate', [{ mode: 'proposal', data: bad.toHex() }])
    expect(ko.body?.result).toBe('bad-cb-height')
    expect(node.acceptedBlocks).toHaveLength(0)
  })

  it('answers -22 to bytes that are not a block', async () => {
    const node = await startNode()
    expect(await submit(node, 'zz')).toMatchObject({ code: -22 })
    expect(await submit(node, '00'.repeat(81))).toMatchObject({ code: -22 })
  })
})

describe('fake bitcoind: mainnet fixture blocks', () => {
  it.each(['mainnet-482683', 'mainnet-300025'] as const)(
    'accepts the real block %s, built on its real parent',
    async (name) => {
      const node = await startNode({ chain: 'main', mainnetBlock: name })
      const hex = readFileSync(new URL(`../fixtures/blocks/${name}.hex`, import.meta.url), 'utf8').trim()
      const real = Block.fromHex(hex)
      const t = await template(node)
      expect(t.previousblockhash).toBe(Buffer.from(real.prevHash!).reverse().toString('hex'))
      expect(t.transactions.map((x) => x.txid)).toEqual(real.transactions!.slice(1).map((x) => x.getId()))
      expect(t.bits).toBe(real.bits.toString(16).padStart(8, '0'))
      expect(await submit(node, hex)).toBeNull()
      expect(node.tip.hash).toBe(real.getId())
    },
  )

  it('rejects the real block with one flipped byte: in the header (high-hash), in a transaction (bad-txnmrklroot)', async () => {
    const node = await startNode({ chain: 'main' })
    const hex = readFileSync(new URL('../fixtures/blocks/mainnet-482683.hex', import.meta.url), 'utf8').trim()
    const bytes = Buffer.from(hex, 'hex')
    const header = Buffer.from(bytes)
    header[79] = header[79]! ^ 0x01
    expect(await submit(node, header.toString('hex'))).toBe('high-hash')
    const body = Buffer.from(bytes)
    // Byte 50 of the coinbase is inside its scriptSig (after the 3-byte height push).
    body[81 + 50] = body[81 + 50]! ^ 0x01
    expect(await submit(node, body.toString('hex'))).toBe('bad-txnmrklroot')
    expect(await submit(node, hex)).toBeNull()
  })
})
