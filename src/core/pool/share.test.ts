import { describe, expect, it } from 'vitest'
import { decodePayoutAddress } from '../bitcoin/address'
import { parseBlock, serializeHeader } from '../bitcoin/block'
import { fromDisplayHex, sha256, toDisplayHex } from '../bitcoin/hash'
import { meetsTarget, nbitsToTarget } from '../bitcoin/target'
import { type BlockTemplate, buildJob, buildJobFromParts, prevHashFromStratum } from './job'
import { merkleRoot, witnessCommitmentScript } from './merkle'
import { assembleBlock, computeShare, rolledVersion, versionWithinMask } from './share'
import { publicPoolTestnetTemplate, readBlockHex, PUBLIC_POOL_SESSION as S } from './testing/fixtures'
import { templateFromBlock } from './testing/template-from-block'

const MASK = 0x1fffe000
const u32 = (hex: string) => Number.parseInt(hex, 16) >>> 0
const buf = (hex: string) => Buffer.from(hex, 'hex')

/** Display-order hex of the previous block from a Stratum prevhash. */
const displayFromStratum = (stratum: string) => toDisplayHex(prevHashFromStratum(stratum)!)

function publicPoolJob() {
  return buildJobFromParts(
    publicPoolTestnetTemplate(),
    { coinb1: buf(S.coinb1), coinb2: buf(S.coinb2), extranonce1Size: 4, extranonce2Size: 4, segwit: true },
    { jobId: S.jobId, versionRollingMask: MASK, ntime: u32(S.ntime) },
  )
}

describe('computeShare against recorded sessions', () => {
  it('reproduces the public-pool Bitaxe share: header, hash, difficulty 669.868291, not a block (research §8.2)', () => {
    const job = publicPoolJob()
    const bits = u32(S.submit.versionBits)
    expect(versionWithinMask(job.version, bits, MASK)).toBe(true)
    const share = computeShare(
      job,
      buf(S.extranonce1),
      buf(S.extranonce2),
      u32(S.submit.ntime),
      u32(S.submit.nonce),
      rolledVersion(job.version, bits, MASK),
    )
    expect(share.header.toString('hex')).toBe(S.expected.header)
    expect(share.hashHex).toBe(S.expected.hash)
    expect(toDisplayHex(share.hash)).toBe(S.expected.hash)
    expect(share.difficulty).toBeCloseTo(S.expected.difficulty, 5)
    expect(share.isBlock).toBe(false)
  })

  it('reproduces the ESP-Miner "nonce diff checking 2" vector: 13-branch Braiins job, diff 683.51 (research §8.3)', () => {
    const template: BlockTemplate = {
      version: 0x20000004,
      previousblockhash: displayFromStratum('0c859545a3498373a57452fac22eb7113df2a465000543520000000000000000'),
      transactions: [],
      coinbasevalue: 0,
      bits: '1705ae3a',
      curtime: 0x647025b5,
      height: 0,
      target: '',
    }
    const job = buildJobFromParts(
      template,
      {
        coinb1: buf(
          '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4b0389130cfabe6d6d5cbab26a2599e92916edec5657a94a0708ddb970f5c45b5d12905085617eff8e',
        ),
        coinb2: buf(
          '31650707758de07b010000000000001cfd7038212f736c7573682f000000000379ad0c2a000000001976a9147c154ed1dc59609e3d26abb2df2ea3d587cd8c4188ac00000000000000002c6a4c2952534b424c4f434b3ae725d3994b811572c1f345deb98b56b465ef8e153ecbbd27fa37bf1b005161380000000000000000266a24aa21a9ed63b06a7946b190a3fda1d76165b25c9b883bcc6621b040773050ee2a1bb18f1800000000',
        ),
        extranonce1Size: 4,
        extranonce2Size: 4,
        segwit: true,
        merkleBranch: [
          '2b77d9e413e8121cd7a17ff46029591051d0922bd90b2b2a38811af1cb57a2b2',
          '5c8874cef00f3a233939516950e160949ef327891c9090467cead995441d22c5',
          '2d91ff8e19ac5fa69a40081f26c5852d366d608b04d2efe0d5b65d111d0d8074',
          '0ae96f609ad2264112a0b2dfb65624bedbcea3b036a59c0173394bba3a74e887',
          'e62172e63973d69574a82828aeb5711fc5ff97946db10fc7ec32830b24df7bde',
          'adb49456453aab49549a9eb46bb26787fb538e0a5f656992275194c04651ec97',
          'a7bc56d04d2672a8683892d6c8d376c73d250a4871fdf6f57019bcc737d6d2c2',
          'd94eceb8182b4f418cd071e93ec2a8993a0898d4c93bc33d9302f60dbbd0ed10',
          '5ad7788b8c66f8f50d332b88a80077ce10e54281ca472b4ed9bbbbcb6cf99083',
          '9f9d784b33df1b3ed3edb4211afc0dc1909af9758c6f8267e469f5148ed04809',
          '48fd17affa76b23e6fb2257df30374da839d6cb264656a82e34b350722b05123',
          'c4f5ab01913fc186d550c1a28f3f3e9ffaca2016b961a6a751f8cca0089df924',
          'cff737e1d00176dd6bbfa73071adbb370f227cfb5fba186562e4060fcec877e1',
        ].map(buf),
      },
      { jobId: 'e5', versionRollingMask: MASK, ntime: 0x647025b5 },
    )
    expect(job.prevHashStratum).toBe('0c859545a3498373a57452fac22eb7113df2a465000543520000000000000000')
    const share = computeShare(
      job,
      buf('01000000'),
      buf('00000000'),
      0x647025b5,
      0x0a029ed1,
      rolledVersion(job.version, 0, MASK),
    )
    expect(share.header.toString('hex')).toBe(
      '040000204595850c738349a3fa5274a511b72ec265a4f23d5243050000000000000000005bdc1968499c3393873edf8e07a1c3a50a97fc3a9d1a376bbf77087dd63778ebb52570643aae0517d19e020a',
    )
    expect(share.hashHex).toBe('00000000005fe144efbc66241c0094b8fdc2702b7729226fdfed70ca8094c0b5')
    expect(share.difficulty).toBeCloseTo(683.5109, 3)
    expect(share.isBlock).toBe(false)
  })

  it('hashes the ESP-Miner header-only vector from Stratum fields: diff 18.04 (research §8.3)', () => {
    const header = serializeHeader({
      version: 0x20000004,
      prevHash: prevHashFromStratum('d02b10fc0d4711eae1a805af50a8a83312a2215e00017f2b0000000000000000')!,
      merkleRoot: buf('6d0359c451434605c52a5a9ce074340be47c2c63840731f9edf1db3f26b1cdd9'),
      time: 0x646ff1a9,
      bits: 0x1705ae3a,
      nonce: 0x276e8947,
    })
    const hash = sha256(sha256(header))
    expect(toDisplayHex(hash)).toBe('000000000e30101020e2ec8c9302a9ee56b2b2bef354b63489a0801f5789ed19')
  })

  it('rebuilds block 840000 from its rolled version bits and finds it meets the network target (research §8.1)', () => {
    const jobVersion = 0x20000000
    const bits = 0x0a5fe000
    expect(versionWithinMask(jobVersion, bits, MASK)).toBe(true)
    const version = rolledVersion(jobVersion, bits, MASK)
    expect(version).toBe(0x2a5fe000)
    const header = serializeHeader({
      version,
      prevHash: prevHashFromStratum('918494abad651207d0512355455762ad4ba58d66000172010000000000000000')!,
      merkleRoot: fromDisplayHex('031b417c3a1828ddf3d6527fc210daafcc9218e81f98257f88d4d43bd7a5894f'),
      time: 1713571767,
      bits: 0x17034219,
      nonce: 3932395645,
    })
    const hash = sha256(sha256(header))
    expect(toDisplayHex(hash)).toBe('0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5')
    expect(meetsTarget(hash, nbitsToTarget(0x17034219))).toBe(true)
  })
})

describe('replaying real mainnet blocks bit for bit', () => {
  const blocks = [
    { name: 'mainnet-482683', hash: '000000000000000000c238240ef6dcb26c37e75e16514e6ffc0aef7eee73e747', txs: 12 },
    { name: 'mainnet-300025', hash: '0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c', txs: 461 },
  ] as const
  for (const b of blocks) {
    it(`${b.name}: real coinbase split + real txids + real nonce → the real hash, and the exact block bytes`, () => {
      const replay = templateFromBlock(readBlockHex(b.name))
      expect(replay.template.transactions).toHaveLength(b.txs - 1)
      const job = buildJobFromParts(replay.template, replay.parts, {
        jobId: 'ab12',
        versionRollingMask: MASK,
        ntime: replay.ntime,
      })
      const bits = replay.version & MASK
      expect(versionWithinMask(job.version, bits, MASK)).toBe(true)
      const share = computeShare(
        job,
        replay.parts.extranonce1,
        replay.parts.extranonce2,
        replay.ntime,
        replay.nonce,
        rolledVersion(job.version, bits, MASK),
      )
      expect(share.hashHex).toBe(b.hash)
      expect(share.header.equals(replay.blockBytes.subarray(0, 80))).toBe(true)
      expect(share.isBlock).toBe(true)
      const block = assembleBlock(job, replay.parts.extranonce1, replay.parts.extranonce2, share.header)
      expect(block.length).toBe(replay.blockBytes.length)
      expect(block.equals(replay.blockBytes)).toBe(true)
    })
  }

  it('a nonce off by one gives another hash that is not a block', () => {
    const replay = templateFromBlock(readBlockHex('mainnet-482683'))
    const job = buildJobFromParts(replay.template, replay.parts, { jobId: 'c', ntime: replay.ntime })
    const share = computeShare(
      job,
      replay.parts.extranonce1,
      replay.parts.extranonce2,
      replay.ntime,
      replay.nonce + 1,
      replay.version,
    )
    expect(share.hashHex).not.toBe(replay.blockHashHex)
    expect(share.isBlock).toBe(false)
  })

  it('any split of the real scriptSig into extranonces replays (en1 4 + en2 8)', () => {
    const replay = templateFromBlock(readBlockHex('mainnet-482683'), { extranonce1Size: 4, extranonce2Size: 8 })
    const job = buildJobFromParts(replay.template, replay.parts, { jobId: 'd', ntime: replay.ntime })
    const share = computeShare(
      job,
      replay.parts.extranonce1,
      replay.parts.extranonce2,
      replay.ntime,
      replay.nonce,
      replay.version,
    )
    expect(share.hashHex).toBe(replay.blockHashHex)
    expect(
      assembleBlock(job, replay.parts.extranonce1, replay.parts.extranonce2, share.header).equals(replay.blockBytes),
    ).toBe(true)
  })

  it('exposes the real template fields (height from BIP34, commitment, coinbasevalue)', () => {
    const r = templateFromBlock(readBlockHex('mainnet-482683'))
    expect(r.height).toBe(482683)
    expect(r.template.height).toBe(482683)
    expect(r.template.coinbasevalue).toBe(1256817877)
    expect(r.template.bits).toBe('18013ce9')
    expect(r.template.default_witness_commitment).toBe(
      '6a24aa21a9ed0f8b0182863aa4713e94bb72c47c57dcbae7de8f3df2af23453f60f1965dab77',
    )
    const old = templateFromBlock(readBlockHex('mainnet-300025'))
    expect(old.height).toBe(300025)
    expect(old.template.default_witness_commitment).toBeUndefined()
    expect(old.parts.segwit).toBe(false)
  })
})

describe('assembleBlock', () => {
  const payout = decodePayoutAddress('tb1qumezefzdeqqwn5zfvgdrhxjzc5ylr39uhuxcz4', 'testnet')
  if (!payout.ok) throw new Error(payout.message)

  it('assembles a parseable segwit block from the real testnet template with a witness-serialized coinbase', () => {
    const template = publicPoolTestnetTemplate()
    const job = buildJob(template, {
      payoutScript: payout.script,
      coinbaseTag: '/Hashyard/',
      extranonce2Size: 4,
      jobId: '9',
    })
    const en1 = buf('00000001')
    const en2 = buf('0000002a')
    const share = computeShare(job, en1, en2, job.ntime, 12345, job.version)
    const parsed = parseBlock(assembleBlock(job, en1, en2, share.header))
    if (!parsed.ok) throw new Error(parsed.error.message)
    const { transactions, header, hash } = parsed.value
    expect(hash.equals(share.hash)).toBe(true)
    expect(transactions.slice(1).map((t) => toDisplayHex(t.txid))).toEqual(template.transactions.map((t) => t.txid))
    expect(transactions.slice(1).map((t) => toDisplayHex(t.wtxid))).toEqual(template.transactions.map((t) => t.hash))
    const coinbase = transactions[0]!
    expect(coinbase.hasWitness).toBe(true)
    expect(coinbase.inputs[0]!.witness.map((w) => w.toString('hex'))).toEqual(['00'.repeat(32)])
    // the txid (what the miner hashed) is unchanged by the witness serialization
    expect(coinbase.stripped.equals(Buffer.concat([job.coinb1, en1, en2, job.coinb2]))).toBe(true)
    expect(merkleRoot(transactions.map((t) => t.txid)).equals(header.merkleRoot)).toBe(true)
    const commitment = witnessCommitmentScript(transactions.slice(1).map((t) => t.wtxid))
    expect(coinbase.outputs.at(-1)!.script.equals(commitment)).toBe(true)
  })

  it('finds and assembles a regtest block at height 1 (OP_1 height, every other share a block, research §3.7)', () => {
    const target = nbitsToTarget(0x207fffff)
    const template: BlockTemplate = {
      version: 0x30000000,
      previousblockhash: toDisplayHex(sha256(Buffer.from('regtest genesis stand-in'))),
      transactions: [],
      coinbasevalue: 5_000_000_000,
      bits: '207fffff',
      curtime: 1_700_000_000,
      mintime: 1_699_999_000,
      height: 1,
      target: target.toString(16).padStart(64, '0'),
      default_witness_commitment: witnessCommitmentScript([]).toString('hex'),
    }
    const regtestPayout = decodePayoutAddress('bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', 'regtest')
    if (!regtestPayout.ok) throw new Error(regtestPayout.message)
    const job = buildJob(template, {
      payoutScript: regtestPayout.script,
      coinbaseTag: 'Hashyard regtest',
      extranonce2Size: 4,
      jobId: '1',
      versionRollingMask: MASK,
    })
    expect(job.version).toBe(0x20000000)
    const en1 = buf('00000000')
    const en2 = buf('00000000')
    const version = rolledVersion(job.version, 0x00002000, MASK)
    let nonce = 0
    let share = computeShare(job, en1, en2, job.ntime, nonce, version)
    while (!share.isBlock && nonce < 64) share = computeShare(job, en1, en2, job.ntime, ++nonce, version)
    expect(share.isBlock).toBe(true)
    expect(meetsTarget(share.hash, target)).toBe(true)
    const parsed = parseBlock(assembleBlock(job, en1, en2, share.header))
    if (!parsed.ok) throw new Error(parsed.error.message)
    const block = parsed.value
    expect(block.hash.equals(share.hash)).toBe(true)
    expect(block.header.version).toBe(0x20002000)
    expect(block.transactions).toHaveLength(1)
    const coinbase = block.transactions[0]!
    expect(coinbase.inputs[0]!.scriptSig[0]).toBe(0x51) // OP_1: `CScript() << 1`
    expect(coinbase.inputs[0]!.scriptSig.length).toBeLessThanOrEqual(100)
    expect(coinbase.outputs[0]!.value).toBe(5_000_000_000n)
    expect(coinbase.inputs[0]!.witness.map((w) => w.toString('hex'))).toEqual(['00'.repeat(32)])
    expect(block.header.merkleRoot.equals(coinbase.txid)).toBe(true)
  })

  it('writes the legacy coinbase for a job without a witness commitment', () => {
    const { default_witness_commitment: _, ...template } = publicPoolTestnetTemplate()
    const job = buildJob(template, { payoutScript: payout.script, coinbaseTag: '', extranonce2Size: 4, jobId: '8' })
    const share = computeShare(job, Buffer.alloc(4), Buffer.alloc(4), job.ntime, 1, job.version)
    const parsed = parseBlock(assembleBlock(job, Buffer.alloc(4), Buffer.alloc(4), share.header))
    expect(parsed.ok && parsed.value.transactions[0]!.hasWitness).toBe(false)
  })

  it('refuses mismatched extranonces, a short header and malformed template data', () => {
    const job = publicPoolJob()
    expect(() => assembleBlock(job, Buffer.alloc(3), Buffer.alloc(4), Buffer.alloc(80))).toThrow(RangeError)
    expect(() => assembleBlock(job, Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(79))).toThrow(RangeError)
    const bad = buildJobFromParts(
      { ...publicPoolTestnetTemplate(), transactions: [{ data: '02zz', txid: 'a'.repeat(64) }] },
      { coinb1: buf(S.coinb1), coinb2: buf(S.coinb2), extranonce1Size: 4, extranonce2Size: 4, segwit: true },
      { jobId: 'f' },
    )
    expect(() => assembleBlock(bad, Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(80))).toThrow(/malformed hex/)
  })
})

describe('share hot-path hygiene', () => {
  it('rejects extranonces of the wrong size instead of hashing garbage', () => {
    const job = publicPoolJob()
    expect(() => computeShare(job, buf(S.extranonce1), Buffer.alloc(3), 0, 0, job.version)).toThrow(RangeError)
    expect(() => computeShare(job, Buffer.alloc(5), buf(S.extranonce2), 0, 0, job.version)).toThrow(RangeError)
  })
  it('does not let one share change another (the coinbase scratch buffer is per job, results are fresh)', () => {
    const job = publicPoolJob()
    const a = computeShare(job, buf(S.extranonce1), buf(S.extranonce2), u32(S.ntime), u32(S.submit.nonce), 0x20002000)
    const aHeader = a.header.toString('hex')
    const b = computeShare(job, buf(S.extranonce1), buf('00000000'), u32(S.ntime), u32(S.submit.nonce), 0x20002000)
    expect(b.header.toString('hex')).not.toBe(aHeader)
    expect(a.header.toString('hex')).toBe(aHeader)
    expect(a.hashHex).toBe(S.expected.hash)
    // and the same inputs again give the same answer
    const again = computeShare(
      job,
      buf(S.extranonce1),
      buf(S.extranonce2),
      u32(S.ntime),
      u32(S.submit.nonce),
      0x20002000,
    )
    expect(again.hashHex).toBe(S.expected.hash)
  })
})

describe('versionWithinMask / rolledVersion (BIP310)', () => {
  it('accepts bits inside the mask and a full rolled version, rejects bits outside it', () => {
    expect(versionWithinMask(0x20000000, 0x00002000, MASK)).toBe(true)
    expect(versionWithinMask(0x20000000, 0x1fffe000, MASK)).toBe(true)
    expect(versionWithinMask(0x20000000, 0x00000000, MASK)).toBe(true)
    expect(versionWithinMask(0x20000000, 0x2a5fe000, MASK)).toBe(true) // full version, same base
    expect(versionWithinMask(0x20000000, 0x40000000, MASK)).toBe(false) // old Bitmain firmware
    expect(versionWithinMask(0x20000000, 0x80000000, MASK)).toBe(false)
    expect(versionWithinMask(0x20000000, 0x00001000, MASK)).toBe(false) // bit 12, just below the mask
    expect(versionWithinMask(0x20000000, 0x20000000, 0)).toBe(true) // no rolling: only the job version itself
    expect(versionWithinMask(0x20000000, 0x00002000, 0)).toBe(false)
  })
  it('computes (job & ~mask) | (bits & mask), equal for bits-only and full-version submissions', () => {
    expect(rolledVersion(0x20000000, 0x0a5fe000, MASK)).toBe(0x2a5fe000)
    expect(rolledVersion(0x20000000, 0x2a5fe000, MASK)).toBe(0x2a5fe000)
    expect(rolledVersion(0x20000004, 0x00002000, MASK)).toBe(0x20002004)
    expect(rolledVersion(0x20000000, 0xffffffff, 0)).toBe(0x20000000)
  })
})
