import { afterEach, describe, expect, it } from 'vitest'
import { parseBlock } from '../bitcoin/block'
import { toDisplayHex } from '../bitcoin/hash'
import { decodeBip34Height } from '../bitcoin/script'
import { merkleRoot } from '../pool/merkle'
import { encodeNotify } from './messages'
import {
  easyTemplate,
  mainnetTemplate,
  nextBlockTemplate,
  POOL_ADDRESS,
  type Pool,
  payoutScript,
  startPool,
  TINY_DIFF,
} from './testing/harness'
import { grind, networkTarget, shareTarget } from './testing/miner'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const en2Hex = (n: number, size = 4): string => n.toString(16).padStart(size * 2, '0')

describe('handshake', () => {
  it('answers an ESP-Miner pipelined configure/subscribe/authorize in order, then set_difficulty and notify', async () => {
    pool = await startPool()
    const miner = await pool.connect()
    miner.send(
      '{"id": 1, "method": "mining.configure", "params": [["version-rolling"], {"version-rolling.mask": "ffffffff"}]}\n' +
        '{"id": 2, "method": "mining.subscribe", "params": ["bitaxe/BM1370/v2.4.5"]}\n' +
        '{"id": 3, "method": "mining.authorize", "params": ["' +
        POOL_ADDRESS +
        '.bitaxe1", "x"]}\n',
    )
    await miner.notifyCount(1)
    const en1 = (miner.messages[1]!.result as unknown[])[1] as string
    expect(miner.rawLines.slice(0, 5)).toEqual([
      '{"id":1,"result":{"version-rolling":true,"version-rolling.mask":"1fffe000"},"error":null}',
      `{"id":2,"result":[[["mining.set_difficulty","${en1}"],["mining.notify","${en1}"]],"${en1}",4],"error":null}`,
      '{"id":3,"result":true,"error":null}',
      `{"id":null,"method":"mining.set_difficulty","params":[${TINY_DIFF}]}`,
      pool.feed.current()!.notifyLine(true).trimEnd(),
    ])
    expect(en1).toMatch(/^[0-9a-f]{8}$/)
    const [info] = pool.server.connections()
    expect(info).toMatchObject({
      userAgent: 'bitaxe/BM1370/v2.4.5',
      workers: [`${POOL_ADDRESS}.bitaxe1`],
      versionMask: 0x1fffe000,
    })
    expect(info!.remoteAddress).toBe('127.0.0.1')
  })

  it('takes a NerdQAxe burst (subscribe, configure, authorize, suggest, extranonce.subscribe) and applies the suggestion with a fresh clean job', async () => {
    pool = await startPool()
    const miner = await pool.connect()
    const replies = await miner.pipeline([
      ['mining.subscribe', ['NerdQAxe++/BM1370/v1.0.30']],
      ['mining.configure', [['version-rolling'], { 'version-rolling.mask': '1fffe000' }]],
      ['mining.authorize', [`${POOL_ADDRESS}.nerd`, 'x']],
      ['mining.suggest_difficulty', [2 ** -10]],
      ['mining.extranonce.subscribe', []],
    ])
    expect(replies.map((r) => r.error)).toEqual([null, null, null, null, null])
    expect(replies.slice(2).map((r) => r.result)).toEqual([true, true, true])
    const second = await miner.notifyCount(2)
    expect(miner.difficulties).toEqual([TINY_DIFF, 2 ** -10])
    expect(second.clean).toBe(true)
    expect(second.jobId).not.toBe(miner.notifies[0]!.jobId)
    // The re-issued job is the same work.
    expect({ ...second, jobId: '' }).toEqual({ ...miner.notifies[0]!, jobId: '' })
  })

  it('ends in the same state for every order of the five handshake messages sent in one burst', async () => {
    pool = await startPool()
    const msgs: Array<[string, unknown[]]> = [
      ['mining.configure', [['version-rolling'], { 'version-rolling.mask': 'ffffffff' }]],
      ['mining.subscribe', ['perm/1']],
      ['mining.authorize', [`${POOL_ADDRESS}.p`, 'x']],
      ['mining.suggest_difficulty', [2 ** -12]],
      ['mining.extranonce.subscribe', []],
    ]
    const perms = (xs: number[]): number[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x, i) => perms([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]))
    const orders = perms([0, 1, 2, 3, 4])
    expect(orders).toHaveLength(120)
    await Promise.all(
      orders.map(async (order) => {
        const miner = await pool!.connect()
        const replies = await miner.pipeline(order.map((i) => msgs[i]!))
        expect(replies.every((r) => r.error === null)).toBe(true)
        await miner.notifyCount(1)
        await miner.waitFor(() => miner.difficulties.at(-1) === 2 ** -12)
        // The newest job was sent after the newest difficulty.
        const lastDiff = miner.rawLines.findLastIndex((l) => l.includes('"mining.set_difficulty"'))
        const lastNotify = miner.rawLines.findLastIndex((l) => l.includes('"mining.notify"'))
        expect(lastNotify).toBeGreaterThan(lastDiff)
      }),
    )
    const infos = pool.server.connections()
    expect(infos).toHaveLength(120)
    for (const c of infos)
      expect(c).toMatchObject({ versionMask: 0x1fffe000, difficulty: 2 ** -12, userAgent: 'perm/1' })
  })

  it('sends the first job only once subscribed and authorized, whatever the order', async () => {
    pool = await startPool()
    const miner = await pool.connect()
    const auth = await miner.request('mining.authorize', [`${POOL_ADDRESS}.a`, 'x'])
    expect(auth.result).toBe(true)
    expect(miner.notifies).toHaveLength(0)
    await miner.request('mining.subscribe', [])
    await miner.notifyCount(1)
  })

  it('honours password d=N and configure minimum-difficulty within the pool limits', async () => {
    pool = await startPool()
    const a = await pool.handshake({ password: 'x,d=0.5' })
    expect(a.difficulty).toBe(0.5)
    const miner = await pool.connect()
    const replies = await miner.pipeline([
      ['mining.configure', [['minimum-difficulty', 'made-up-extension'], { 'minimum-difficulty.value': 1e30 }]],
      ['mining.subscribe', []],
      ['mining.authorize', [`${POOL_ADDRESS}.b`, 'x']],
    ])
    expect(replies[0]!.result).toEqual({ 'minimum-difficulty': true, 'made-up-extension': false })
    await miner.notifyCount(1)
    // Clamped to the job's network difficulty (block 482,683: ~9.2e11).
    expect(miner.difficulties[0]).toBeCloseTo(pool.feed.current()!.networkDifficulty, 0)
  })

  it('answers unknown methods with error 20, ignores pong and responses, never disconnects', async () => {
    pool = await startPool()
    const miner = await pool.connect()
    const r = await miner.request('mining.get_transactions', ['1'])
    expect(r).toEqual({ id: 1, result: null, error: [20, 'Unknown method mining.get_transactions', null] })
    miner.send(
      '{"id":42,"method":"pong","params":[]}\n{"id":43,"result":"pong","error":null}\n{"id":null,"method":"x.y"}\n',
    )
    const ping = await miner.request('mining.ping', [])
    expect(ping.result).toBe('pong')
    // Nothing was answered for the three ignored lines.
    expect(miner.messages.map((m) => m.id)).toEqual([1, 2])
  })
})

describe('shares', () => {
  it('accepts real shares ground at a tiny difficulty, with and without rolled version bits', async () => {
    pool = await startPool()
    const { miner, en1, job } = await pool.handshake({ configureMask: 'ffffffff' })
    const target = shareTarget(TINY_DIFF)
    const plain = grind(job, en1, en2Hex(1), target)
    const r1 = await miner.request('mining.submit', [
      `${POOL_ADDRESS}.w1`,
      job.jobId,
      en2Hex(1),
      plain.ntimeHex,
      plain.nonceHex,
    ])
    expect(r1).toEqual({ id: 4, result: true, error: null })
    const rolled = grind(job, en1, en2Hex(2), target, { versionBits: 0x0a5fe000 })
    const r2 = await miner.request('mining.submit', [
      `${POOL_ADDRESS}.w1`,
      job.jobId,
      en2Hex(2),
      rolled.ntimeHex,
      rolled.nonceHex,
      '0a5fe000',
    ])
    expect(r2.result).toBe(true)
    expect(pool.shares.map((s) => [s.accepted, s.hashHex])).toEqual([
      [true, plain.hashHex],
      [true, rolled.hashHex],
    ])
    const s = pool.shares[1]!
    expect(s).toMatchObject({
      difficulty: TINY_DIFF,
      worker: `${POOL_ADDRESS}.w1`,
      userAgent: 'testminer/1.0',
      isBlock: false,
    })
    expect(s.shareDifficulty).toBeGreaterThanOrEqual(TINY_DIFF)
    const [info] = pool.server.connections()
    expect(info).toMatchObject({ accepted: 2, rejected: 0, diffAccepted: 2 * TINY_DIFF })
    expect(info!.bestShareDifficulty).toBe(Math.max(pool.shares[0]!.shareDifficulty, s.shareDifficulty))
    expect(info!.lastSubmitLatencyMs).toBeGreaterThanOrEqual(0)
  })

  it('accepts upper-case hex and un-padded nonce/ntime (NerdMiner) as the same share', async () => {
    pool = await startPool()
    const { miner, en1, job } = await pool.handshake()
    let g = grind(job, en1, en2Hex(7), shareTarget(TINY_DIFF))
    // Find a nonce with a leading zero nibble so it can be sent un-padded.
    while (!g.nonceHex.startsWith('0'))
      g = grind(job, en1, en2Hex(7), shareTarget(TINY_DIFF), { startNonce: g.nonce + 1 })
    const r = await miner.request('mining.submit', [
      'w',
      job.jobId,
      en2Hex(7).toUpperCase(),
      g.ntimeHex.toUpperCase(),
      g.nonceHex.replace(/^0+/, ''),
    ])
    expect(r.result).toBe(true)
    // …and the same share in lower case is a duplicate (keyed on the hash, not the text).
    const d = await miner.request('mining.submit', ['w', job.jobId, en2Hex(7), g.ntimeHex, g.nonceHex])
    expect(d).toEqual({ id: 4, result: null, error: [22, 'Duplicate share', null], 'reject-reason': 'duplicate' })
  })

  it('refuses submit before subscribe (25) and before authorize (24)', async () => {
    pool = await startPool()
    const miner = await pool.connect()
    const r1 = await miner.request('mining.submit', ['w', '1', '00000000', '00000000', '00000000'])
    expect(r1).toEqual({ id: 1, result: null, error: [25, 'Not subscribed', null], 'reject-reason': 'not-subscribed' })
    await miner.request('mining.subscribe', [])
    const r2 = await miner.request('mining.submit', ['w', '1', '00000000', '00000000', '00000000'])
    expect(r2).toEqual({
      id: 3,
      result: null,
      error: [24, 'Unauthorized worker', null],
      'reject-reason': 'unauthorized',
    })
  })

  it('rejects each invalid share with its standard code and reason', async () => {
    pool = await startPool()
    const { miner, en1, job } = await pool.handshake()
    const w = `${POOL_ADDRESS}.w1`
    const good = grind(job, en1, en2Hex(3), shareTarget(TINY_DIFF))
    const low = grind(job, en1, en2Hex(3), shareTarget(TINY_DIFF), { want: 'above' })
    const cases: Array<[unknown[], number, string, string]> = [
      [[w, 'ffffffffff', en2Hex(3), good.ntimeHex, good.nonceHex], 21, 'Job not found', 'job-not-found'],
      [
        [w, job.jobId, '000003', good.ntimeHex, good.nonceHex],
        20,
        'Invalid extranonce2 length: expected 4 bytes, got 3',
        'bad-extranonce2',
      ],
      [
        [w, job.jobId, en2Hex(3), good.ntimeHex],
        20,
        'Invalid submit parameters: mining.submit takes 5 or 6 parameters, got 4',
        'bad-params',
      ],
      [
        [w, job.jobId, en2Hex(3), good.ntimeHex, 'xyz'],
        20,
        'Invalid submit parameters: nonce must be hex of at most 8 digits',
        'bad-params',
      ],
      [[w, job.jobId, en2Hex(3), low.ntimeHex, low.nonceHex], 23, 'Low difficulty share', 'low-difficulty'],
      [
        [w, job.jobId, en2Hex(3), good.ntimeHex, good.nonceHex, '00002000'],
        20,
        'Version rolling not negotiated: send mining.configure first',
        'version-not-negotiated',
      ],
      [
        [w, job.jobId, en2Hex(3), (Number.parseInt(job.ntime, 16) - 1).toString(16), good.nonceHex],
        20,
        'Ntime out of range',
        'ntime-out-of-range',
      ],
      [
        [w, job.jobId, en2Hex(3), (Number.parseInt(job.ntime, 16) + 7001).toString(16), good.nonceHex],
        20,
        'Ntime out of range',
        'ntime-out-of-range',
      ],
    ]
    for (const [params, code, message, reason] of cases) {
      const r = await miner.request('mining.submit', params)
      expect(r.result).toBeNull()
      expect((r.error as unknown[])[0]).toBe(code)
      expect((r.error as unknown[])[1] as string).toContain(message)
      expect((r.error as unknown[])[2]).toBeNull()
      expect(r['reject-reason']).toBe(reason)
    }
    // The good share is still good after all that, once.
    expect((await miner.request('mining.submit', [w, job.jobId, en2Hex(3), good.ntimeHex, good.nonceHex])).result).toBe(
      true,
    )
    const dup = await miner.request('mining.submit', [w, job.jobId, en2Hex(3), good.ntimeHex, good.nonceHex])
    expect(dup['reject-reason']).toBe('duplicate')
    const [info] = pool.server.connections()
    expect(info!.rejectedByReason).toEqual({
      'job-not-found': 1,
      'bad-extranonce2': 1,
      'bad-params': 2,
      'low-difficulty': 1,
      'version-not-negotiated': 1,
      'ntime-out-of-range': 2,
      duplicate: 1,
    })
    expect(pool.shares.filter((s) => !s.accepted).map((s) => s.reason)).toHaveLength(9)
  })

  it('rejects version bits outside the negotiated mask (old Bitmain 0x40000000)', async () => {
    pool = await startPool()
    const { miner, en1, job } = await pool.handshake({ configureMask: '00ffe000' })
    expect(pool.server.connections()[0]!.versionMask).toBe(0x00ffe000)
    const g = grind(job, en1, en2Hex(1), shareTarget(TINY_DIFF), { versionBits: 0x1f000000, mask: 0x1fffe000 })
    for (const bits of ['40000000', '1f000000']) {
      const r = await miner.request('mining.submit', ['w', job.jobId, en2Hex(1), g.ntimeHex, g.nonceHex, bits])
      expect(r['reject-reason']).toBe('bad-version')
      expect(r.error).toEqual([20, `Version bits outside the negotiated mask: ${bits} outside 00ffe000`, null])
    }
  })

  it('judges a share by the difficulty in force when its job was sent, not the current one', async () => {
    pool = await startPool()
    const { miner, en1, job } = await pool.handshake()
    // Raise the difficulty: the re-issued job carries 2^-4, the first job keeps 2^-20.
    await miner.request('mining.suggest_difficulty', [2 ** -4])
    const second = await miner.notifyCount(2)
    const easy = grind(job, en1, en2Hex(5), shareTarget(TINY_DIFF))
    expect(easy.hashValue > shareTarget(2 ** -4)).toBe(true)
    expect(
      (await miner.request('mining.submit', ['w', job.jobId, en2Hex(5), easy.ntimeHex, easy.nonceHex])).result,
    ).toBe(true)
    // The same-quality share on the new job is too weak.
    const weak = grind(second, en1, en2Hex(5), shareTarget(2 ** -4), { want: 'above' })
    const r = await miner.request('mining.submit', ['w', second.jobId, en2Hex(5), weak.ntimeHex, weak.nonceHex])
    expect(r['reject-reason']).toBe('low-difficulty')
  })

  it('rejects shares of the previous block as stale (21) after a new block', async () => {
    pool = await startPool()
    const { miner, en1, job } = await pool.handshake()
    const g = grind(job, en1, en2Hex(9), shareTarget(TINY_DIFF))
    pool.feed.publish(nextBlockTemplate(mainnetTemplate()))
    const fresh = await miner.notifyCount(2)
    expect(fresh.clean).toBe(true)
    const r = await miner.request('mining.submit', ['w', job.jobId, en2Hex(9), g.ntimeHex, g.nonceHex])
    expect(r).toEqual({ id: 3, result: null, error: [21, 'Stale share', null], 'reject-reason': 'stale' })
    // Older work of the same block is still fine (clean=false refresh).
    pool.feed.publish(nextBlockTemplate(mainnetTemplate()), { clean: false })
    await miner.notifyCount(3)
    const ok = grind(fresh, en1, en2Hex(9), shareTarget(TINY_DIFF))
    expect((await miner.request('mining.submit', ['w', fresh.jobId, en2Hex(9), ok.ntimeHex, ok.nonceHex])).result).toBe(
      true,
    )
  })
})

describe('blocks', () => {
  it('reports a block with its hash and bytes that a node would accept', async () => {
    pool = await startPool({ template: easyTemplate() })
    const { miner, en1, job } = await pool.handshake()
    const g = grind(job, en1, en2Hex(11), networkTarget(job.nbits))
    const r = await miner.request('mining.submit', ['w', job.jobId, en2Hex(11), g.ntimeHex, g.nonceHex])
    expect(r.result).toBe(true)
    expect(pool.blocks).toHaveLength(1)
    const b = pool.blocks[0]!
    expect(b.hashHex).toBe(g.hashHex)
    expect(b.finder).toMatchObject({ worker: `${POOL_ADDRESS}.w1`, stale: false })
    // Check the block as a node would: header, merkle root over its transactions, BIP34 height.
    const parsed = parseBlock(b.blockBytes)
    if (!parsed.ok) throw new Error(parsed.error.message)
    expect(toDisplayHex(parsed.value.hash)).toBe(g.hashHex)
    expect(b.blockBytes.subarray(0, 80).equals(g.header)).toBe(true)
    const txs = parsed.value.transactions
    expect(parsed.value.header.merkleRoot.equals(merkleRoot(txs.map((t) => t.txid)))).toBe(true)
    expect(decodeBip34Height(txs[0]!.inputs[0]!.scriptSig)).toBe(pool.feed.current()!.height)
    expect(txs).toHaveLength(1 + easyTemplate().transactions.length)
    expect(txs[0]!.outputs[0]!.script.equals(Buffer.from(payoutScript(POOL_ADDRESS)))).toBe(true)
    // The share event says so too; a resubmission is a duplicate and no second block.
    expect(pool.shares[0]).toMatchObject({ accepted: true, isBlock: true, hashHex: g.hashHex })
    const again = await miner.request('mining.submit', ['w', job.jobId, en2Hex(11), g.ntimeHex, g.nonceHex])
    expect(again['reject-reason']).toBe('duplicate')
    expect(pool.blocks).toHaveLength(1)
  })

  it('reports a block found on a stale job before rejecting the share as stale', async () => {
    pool = await startPool({ template: easyTemplate() })
    const { miner, en1, job } = await pool.handshake()
    const g = grind(job, en1, en2Hex(12), networkTarget(job.nbits))
    pool.feed.publish(nextBlockTemplate(easyTemplate()))
    await miner.notifyCount(2)
    const r = await miner.request('mining.submit', ['w', job.jobId, en2Hex(12), g.ntimeHex, g.nonceHex])
    expect(r['reject-reason']).toBe('stale')
    expect(pool.blocks.map((b) => [b.hashHex, b.finder.stale])).toEqual([[g.hashHex, true]])
  })
})

describe('work distribution', () => {
  it('broadcasts one pre-encoded notify line to every ready connection, set_difficulty only on change', async () => {
    pool = await startPool()
    const readies = await Promise.all(Array.from({ length: 20 }, () => pool!.handshake()))
    const idle = await pool.connect() // not subscribed: gets nothing
    const job = pool.feed.publish(nextBlockTemplate(mainnetTemplate()))
    const line = job.notifyLine(true).trimEnd()
    await Promise.all(readies.map((r) => r.miner.notifyCount(2)))
    for (const r of readies) {
      expect(r.miner.rawLines.at(-1)).toBe(line)
      expect(r.miner.difficulties).toEqual([TINY_DIFF])
    }
    expect(idle.messages).toEqual([])
    // Each connection got its own extranonce1.
    expect(new Set(readies.map((r) => r.en1)).size).toBe(20)
  })

  it("pays the miner's own address when allowed, with its own job, and refuses bad addresses precisely", async () => {
    pool = await startPool({ server: { payoutMode: 'miner' } })
    const mine = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'
    const { miner, en1, job } = await pool.handshake({ user: `${mine}.rig1` })
    expect(job.jobId).not.toBe(pool.feed.current()!.id)
    expect(job.coinb2).toContain(Buffer.from(payoutScript(mine)).toString('hex'))
    const g = grind(job, en1, en2Hex(1), shareTarget(TINY_DIFF))
    expect(
      (await miner.request('mining.submit', [`${mine}.rig1`, job.jobId, en2Hex(1), g.ntimeHex, g.nonceHex])).result,
    ).toBe(true)

    const other = await pool.connect()
    await other.request('mining.subscribe', [])
    const cases: Array<[string, string]> = [
      ['alice@getalby.com', 'Lightning address'],
      ['tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4.w', 'testnet'],
      ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5.w', 'checksum'],
    ]
    for (const [user, why] of cases) {
      const r = await other.request('mining.authorize', [user, 'x'])
      expect(r.result).toBe(false)
      expect((r.error as unknown[])[0]).toBe(24)
      expect(((r.error as unknown[])[1] as string).toLowerCase()).toContain(why.toLowerCase())
    }
    expect(other.notifies).toHaveLength(0)
  })

  it('notify lines from a re-issued job are byte-compatible with the job builder', async () => {
    pool = await startPool()
    const job = pool.feed.current()!
    const again = pool.feed.reissue(job)
    expect(again.notifyLine(false)).toBe(encodeNotify([again.id, ...job.notifyParams(false).slice(1)]))
    expect(job.notifyLine(false)).toBe(encodeNotify(job.notifyParams(false)))
  })
})
