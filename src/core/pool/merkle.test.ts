import { describe, expect, it } from 'vitest'
import { fromDisplayHex, sha256, sha256d } from '../bitcoin/hash'
import { merkleBranch, merkleRoot, merkleRootFromBranch, witnessCommitmentScript } from './merkle'
import { PUBLIC_POOL_SESSION, publicPoolTestnetTemplate } from './testing/fixtures'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('merkleBranch', () => {
  it('builds the public-pool notify branch from the template txids (research §8.4)', () => {
    const template = publicPoolTestnetTemplate()
    const branch = merkleBranch(template.transactions.map((t) => fromDisplayHex(t.txid)))
    expect(branch.map(hex)).toEqual(PUBLIC_POOL_SESSION.merkleBranch)
  })
  it('is empty without transactions and the lone txid with one', () => {
    expect(merkleBranch([])).toEqual([])
    const t = sha256(Buffer.from('tx'))
    expect(merkleBranch([t]).map(hex)).toEqual([hex(t)])
  })
  it('folds to the full merkle root for every tree size from 1 to 33 leaves (odd levels duplicate)', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = Array.from({ length: n }, (_, i) => sha256(Buffer.from(`leaf ${i}`)))
      const root = merkleRootFromBranch(leaves[0]!, merkleBranch(leaves.slice(1)))
      expect(hex(root)).toBe(hex(merkleRoot(leaves)))
    }
  })
  it('computes the two-leaf root by hand: SHA256d(a ‖ b)', () => {
    const a = sha256(Buffer.from('a'))
    const b = sha256(Buffer.from('b'))
    expect(hex(merkleRoot([a, b]))).toBe(hex(sha256d(Buffer.concat([a, b]))))
    // three leaves: the last is paired with itself
    const c = sha256(Buffer.from('c'))
    const expected = sha256d(Buffer.concat([sha256d(Buffer.concat([a, b])), sha256d(Buffer.concat([c, c]))]))
    expect(hex(merkleRoot([a, b, c]))).toBe(hex(expected))
  })
})

describe('merkleRootFromBranch', () => {
  it('reproduces the ESP-Miner 13-branch merkle root (research §8.3)', () => {
    const coinbase = Buffer.from(
      '01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4b0389130cfabe6d6d5cbab26a2599e92916edec5657a94a0708ddb970f5c45b5d12905085617eff8e' +
        '01000000' +
        '00000000' +
        '31650707758de07b010000000000001cfd7038212f736c7573682f000000000379ad0c2a000000001976a9147c154ed1dc59609e3d26abb2df2ea3d587cd8c4188ac00000000000000002c6a4c2952534b424c4f434b3ae725d3994b811572c1f345deb98b56b465ef8e153ecbbd27fa37bf1b005161380000000000000000266a24aa21a9ed63b06a7946b190a3fda1d76165b25c9b883bcc6621b040773050ee2a1bb18f1800000000',
      'hex',
    )
    const branch = [
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
    ].map((h) => Buffer.from(h, 'hex'))
    expect(hex(merkleRootFromBranch(sha256d(coinbase), branch))).toBe(
      '5bdc1968499c3393873edf8e07a1c3a50a97fc3a9d1a376bbf77087dd63778eb',
    )
  })
})

describe('witnessCommitmentScript', () => {
  it("equals the template's default_witness_commitment, from its wtxids (research §8.4)", () => {
    const template = publicPoolTestnetTemplate()
    const script = witnessCommitmentScript(template.transactions.map((t) => fromDisplayHex(t.hash!)))
    expect(hex(script)).toBe(template.default_witness_commitment)
  })
  it('commits to an empty block as well (only the coinbase)', () => {
    const script = witnessCommitmentScript([])
    expect(script).toHaveLength(38)
    expect(hex(script.subarray(6))).toBe(hex(sha256d(Buffer.alloc(64))))
  })
})
