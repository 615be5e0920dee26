import { describe, expect, it } from 'vitest'
import { decodePayoutAddress } from '../bitcoin/address'
import { parseTransaction } from '../bitcoin/block'
import { fromDisplayHex, toDisplayHex } from '../bitcoin/hash'
import { nbitsToTarget } from '../bitcoin/target'
import {
  type BlockTemplate,
  buildJob,
  buildJobFromParts,
  JobBuildError,
  JobIdAllocator,
  prevHashFromStratum,
  prevHashToStratum,
} from './job'
import { publicPoolTestnetTemplate, PUBLIC_POOL_SESSION as S } from './testing/fixtures'

const MASK = 0x1fffe000

function publicPoolJob() {
  return buildJobFromParts(
    publicPoolTestnetTemplate(),
    {
      coinb1: Buffer.from(S.coinb1, 'hex'),
      coinb2: Buffer.from(S.coinb2, 'hex'),
      extranonce1Size: 4,
      extranonce2Size: 4,
      segwit: true,
    },
    { jobId: S.jobId, versionRollingMask: MASK, ntime: Number.parseInt(S.ntime, 16) },
  )
}

function buildError(fn: () => unknown): string {
  try {
    fn()
    return 'built'
  } catch (e) {
    return e instanceof JobBuildError ? e.code : `other: ${(e as Error).message}`
  }
}

describe('stratum prevhash (research §0, §8.1)', () => {
  it('word-swaps the display hash of blocks 840000 and 125552', () => {
    expect(prevHashToStratum('0000000000000000000172014ba58d66455762add0512355ad651207918494ab')).toBe(
      '918494abad651207d0512355455762ad4ba58d66000172010000000000000000',
    )
    expect(prevHashToStratum('00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81')).toBe(
      'ab02cd818b9e567ee21793cddef299feb29ad444a41b85b8000008a300000000',
    )
  })
  it('maps the stratum form back to the internal (header) order', () => {
    const internal = prevHashFromStratum('918494abad651207d0512355455762ad4ba58d66000172010000000000000000')
    expect(internal && toDisplayHex(internal)).toBe('0000000000000000000172014ba58d66455762add0512355ad651207918494ab')
    expect(prevHashFromStratum('xyz')).toBeNull()
  })
})

describe('buildJobFromParts', () => {
  it('produces exactly the public-pool mining.notify of the recorded session (research §8.2, §8.4)', () => {
    const job = publicPoolJob()
    expect(job.notifyParams(false)).toEqual([
      S.jobId,
      S.prevHashStratum,
      S.coinb1,
      S.coinb2,
      S.merkleBranch,
      S.version,
      S.nbits,
      S.ntime,
      false,
    ])
    expect(job.notifyParams(true)[8]).toBe(true)
    expect(job.prevHashHex).toBe('00000000000000022246451e9af7ac4f8bff2527d223f6e623740e92171592f2')
    expect(toDisplayHex(job.prevHash)).toBe(job.prevHashHex)
  })
  it('serializes the notify line once: valid JSON, newline-terminated, same string every call', () => {
    const job = publicPoolJob()
    const line = job.notifyLine(true)
    expect(line.endsWith('\n')).toBe(true)
    expect(JSON.parse(line)).toEqual({ id: null, method: 'mining.notify', params: [...job.notifyParams(true)] })
    expect(job.notifyLine(true)).toBe(line)
    expect(job.notifyLine(false)).not.toBe(line)
  })
  it('derives the network target and difficulty from bits, and keeps the template transactions by reference', () => {
    const template = publicPoolTestnetTemplate()
    const job = buildJobFromParts(
      template,
      {
        coinb1: Buffer.from(S.coinb1, 'hex'),
        coinb2: Buffer.from(S.coinb2, 'hex'),
        extranonce1Size: 4,
        extranonce2Size: 4,
        segwit: true,
      },
      { jobId: 'a' },
    )
    expect(job.networkTarget).toBe(BigInt(`0x${template.target}`))
    expect(job.nbits).toBe(0x192495f8)
    expect(job.transactions).toBe(template.transactions)
    expect(job.ntime).toBe(template.curtime) // max(curtime, mintime)
    expect(job.mintime).toBe(template.mintime)
    expect(job.height).toBe(2442185)
  })
  it('takes a given merkle branch instead of template transactions (upstream work)', () => {
    const job = buildJobFromParts(
      { ...publicPoolTestnetTemplate(), transactions: [] },
      {
        coinb1: Buffer.from(S.coinb1, 'hex'),
        coinb2: Buffer.from(S.coinb2, 'hex'),
        extranonce1Size: 4,
        extranonce2Size: 4,
        segwit: true,
        merkleBranch: S.merkleBranch.map((h) => Buffer.from(h, 'hex')),
      },
      { jobId: 'b' },
    )
    expect(job.merkleBranch.map((b) => b.toString('hex'))).toEqual(S.merkleBranch)
  })
})

describe('buildJob from getblocktemplate', () => {
  const payout = decodePayoutAddress('tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4', 'testnet')
  if (!payout.ok) throw new Error(payout.message)

  it('builds a coinbase paying coinbasevalue to the payout script, with the template commitment, and the §8.4 branch', () => {
    const template = publicPoolTestnetTemplate()
    const job = buildJob(template, {
      payoutScript: payout.script,
      coinbaseTag: '/Hashyard/',
      extranonce2Size: 4,
      jobId: '1f',
    })
    const tx = parseTransaction(Buffer.concat([job.coinb1, Buffer.alloc(8, 0x11), job.coinb2]))
    if (!tx.ok) throw new Error(tx.error.message)
    expect(tx.value.inputs[0]!.scriptSig.subarray(0, 4).toString('hex')).toBe('03c94325')
    expect(tx.value.outputs.map((o) => [o.value, o.script.toString('hex')])).toEqual([
      [2465717n, Buffer.from(payout.script).toString('hex')],
      [0n, template.default_witness_commitment],
    ])
    expect(job.segwit).toBe(true)
    expect(job.merkleBranch.map((b) => b.toString('hex'))).toEqual(S.merkleBranch)
    expect(job.extranonce1Size).toBe(4)
    expect(job.extranonce2Size).toBe(4)
  })
  it('clears the rolling-mask bits from the job version (regtest testdummy bit 28, research §1.3)', () => {
    const template = { ...publicPoolTestnetTemplate(), version: 0x30000000 }
    const base = { payoutScript: payout.script, coinbaseTag: '', extranonce2Size: 4, jobId: '2' }
    expect(buildJob(template, { ...base, versionRollingMask: MASK }).version).toBe(0x20000000)
    expect(buildJob(template, { ...base, versionRollingMask: MASK }).notifyParams(true)[5]).toBe('20000000')
    expect(buildJob(template, base).version).toBe(0x30000000)
  })
  it('announces max(curtime, mintime) unless told otherwise', () => {
    const template = { ...publicPoolTestnetTemplate(), curtime: 100, mintime: 200 }
    const base = { payoutScript: payout.script, coinbaseTag: '', extranonce2Size: 4, jobId: '3' }
    expect(buildJob(template, base).ntime).toBe(200)
    expect(buildJob(template, { ...base, ntime: 300 }).notifyParams(false)[7]).toBe('0000012c')
  })
  it('omits the commitment output for a template without default_witness_commitment', () => {
    const { default_witness_commitment: _, ...rest } = publicPoolTestnetTemplate()
    const job = buildJob(rest, { payoutScript: payout.script, coinbaseTag: '', extranonce2Size: 4, jobId: '4' })
    expect(job.segwit).toBe(false)
    const tx = parseTransaction(Buffer.concat([job.coinb1, Buffer.alloc(8), job.coinb2]))
    expect(tx.ok && tx.value.outputs.length).toBe(1)
  })
  it('refuses inconsistent templates and bad options with a coded error', () => {
    const t = publicPoolTestnetTemplate()
    const o = { payoutScript: payout.script, coinbaseTag: '', extranonce2Size: 4, jobId: '5' }
    const withT = (over: Partial<BlockTemplate>) => ({ ...t, ...over }) as BlockTemplate
    expect(buildError(() => buildJob(withT({ bits: '1d00ffff' }), o))).toBe('BAD_TEMPLATE') // target mismatch
    expect(buildError(() => buildJob(withT({ bits: 'zz' }), o))).toBe('BAD_TEMPLATE')
    expect(buildError(() => buildJob(withT({ bits: '04923456', target: 'x' }), o))).toBe('BAD_TEMPLATE') // negative
    expect(buildError(() => buildJob(withT({ previousblockhash: 'abc' }), o))).toBe('BAD_TEMPLATE')
    expect(buildError(() => buildJob(withT({ transactions: [{ data: '00', txid: 'nope' }] }), o))).toBe('BAD_TEMPLATE')
    expect(buildError(() => buildJob(withT({ default_witness_commitment: 'xyz' }), o))).toBe('BAD_TEMPLATE')
    expect(buildError(() => buildJob(t, { ...o, extranonce2Size: 0 }))).toBe('BAD_OPTIONS')
    expect(buildError(() => buildJob(t, { ...o, extranonce2Size: 9 }))).toBe('BAD_OPTIONS')
    expect(buildError(() => buildJob(t, { ...o, jobId: 'x'.repeat(17) }))).toBe('BAD_OPTIONS')
    expect(buildError(() => buildJob(t, { ...o, payoutScript: new Uint8Array() }))).toBe('BAD_OPTIONS')
    expect(buildError(() => buildJob(t, { ...o, coinbaseExtra: Buffer.alloc(95) }))).toBe('BAD_OPTIONS')
    expect(buildError(() => buildJob(withT({ height: -1 }), o))).toBe('BAD_TEMPLATE')
    expect(buildError(() => buildJob(withT({ coinbasevalue: -5 }), o))).toBe('BAD_TEMPLATE')
    expect(buildError(() => buildJob(t, o))).toBe('built')
  })
  it('keeps the regtest target exact (bits 207fffff)', () => {
    const target = nbitsToTarget(0x207fffff)
    const job = buildJob(
      { ...publicPoolTestnetTemplate(), bits: '207fffff', target: target.toString(16).padStart(64, '0') },
      { payoutScript: payout.script, coinbaseTag: '', extranonce2Size: 4, jobId: '6' },
    )
    expect(job.networkTarget).toBe(target)
    expect(job.networkDifficulty).toBeLessThan(1e-9)
    expect(toDisplayHex(job.networkTargetLE)).toBe(target.toString(16).padStart(64, '0'))
    expect(fromDisplayHex(job.prevHashHex).equals(job.prevHash)).toBe(true)
  })
})

describe('JobIdAllocator', () => {
  it('hands out short, unique hex ids', () => {
    const ids = new JobIdAllocator(2 ** 32 - 5)
    const seen = new Set<string>()
    for (let i = 0; i < 20000; i++) {
      const id = ids.allocate()
      expect(id).toMatch(/^[0-9a-f]{1,16}$/)
      expect(seen.has(id)).toBe(false)
      seen.add(id)
    }
  })
  it('starts where told and counts up', () => {
    const ids = new JobIdAllocator(0xfe)
    expect([ids.allocate(), ids.allocate(), ids.allocate()]).toEqual(['fe', 'ff', '100'])
  })
  it('starts at a random offset by default so a restarted pool does not reuse recent ids', () => {
    const a = new JobIdAllocator().allocate()
    const b = new JobIdAllocator().allocate()
    const c = new JobIdAllocator().allocate()
    expect(new Set([a, b, c]).size).toBeGreaterThan(1)
  })
})
