import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { merkleRoot, witnessCommitmentScript } from '../pool/merkle'
import { parseBlock, parseHeader, parseTransaction, serializeHeader, serializeTransaction } from './block'
import { sha256d, toDisplayHex } from './hash'
import { ByteReader, ByteWriter, encodeVarint, hexToBytes } from './serialize'

const fixture = (name: string) =>
  Buffer.from(readFileSync(new URL(`../../../test/fixtures/blocks/${name}`, import.meta.url), 'utf8').trim(), 'hex')

describe('block headers (research §8.1)', () => {
  const vectors = [
    {
      name: 'genesis',
      header:
        '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
      hash: '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
      version: 1,
      time: 1231006505,
      bits: 0x1d00ffff,
      nonce: 2083236893,
      merkle: '4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b',
    },
    {
      name: '125552',
      header:
        '0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d750423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695',
      hash: '00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d',
      version: 1,
      time: 1305998791,
      bits: 0x1a44b9f2,
      nonce: 2504433986,
      merkle: '2b12fcf1b09288fcaff797d71e950e71ae42b91e8bdb2304758dfcffc2b620e3',
    },
    {
      name: '840000 (version-rolled)',
      header:
        '00e05f2aab948491071265ad552351d0ad625745668da54b0172010000000000000000004f89a5d73bd4d4887f25981fe81892ccafda10c27f52d6f3dd28183a7c411b03b7072366194203177d9863ea',
      hash: '0000000000000000000320283a032748cef8227873ff4872689bf23f1cda83a5',
      version: 0x2a5fe000,
      time: 1713571767,
      bits: 0x17034219,
      nonce: 3932395645,
      merkle: '031b417c3a1828ddf3d6527fc210daafcc9218e81f98257f88d4d43bd7a5894f',
    },
  ]
  for (const v of vectors) {
    it(`parses, re-serializes and hashes the ${v.name} header`, () => {
      const bytes = Buffer.from(v.header, 'hex')
      const h = parseHeader(bytes)
      expect(h).toMatchObject({ version: v.version, time: v.time, bits: v.bits, nonce: v.nonce })
      expect(toDisplayHex(h.merkleRoot)).toBe(v.merkle)
      expect(serializeHeader(h).toString('hex')).toBe(v.header)
      expect(toDisplayHex(sha256d(bytes))).toBe(v.hash)
    })
  }
})

describe('parseBlock on real mainnet blocks', () => {
  it('parses segwit block 482683: hash, 12 transactions, merkle root, witness commitment', () => {
    const r = parseBlock(fixture('mainnet-482683.hex'))
    if (!r.ok) throw new Error(r.error.message)
    const b = r.value
    expect(toDisplayHex(b.hash)).toBe('000000000000000000c238240ef6dcb26c37e75e16514e6ffc0aef7eee73e747')
    expect(b.header.version).toBe(0x20000002)
    expect(b.transactions).toHaveLength(12)
    expect(merkleRoot(b.transactions.map((t) => t.txid)).equals(b.header.merkleRoot)).toBe(true)
    const coinbase = b.transactions[0]!
    expect(coinbase.hasWitness).toBe(true)
    expect(coinbase.inputs[0]!.witness.map((w) => w.toString('hex'))).toEqual(['00'.repeat(32)])
    const commitment = witnessCommitmentScript(b.transactions.slice(1).map((t) => t.wtxid))
    expect(coinbase.outputs.at(-1)!.script.equals(commitment)).toBe(true)
    // txid ≠ wtxid exactly for the transactions that carry witnesses
    for (const tx of b.transactions) expect(tx.txid.equals(tx.wtxid)).toBe(!tx.hasWitness)
  })
  it('parses pre-segwit block 300025: hash, 461 transactions, merkle root', () => {
    const r = parseBlock(fixture('mainnet-300025.hex'))
    if (!r.ok) throw new Error(r.error.message)
    expect(toDisplayHex(r.value.hash)).toBe('0000000000000000821c4e0acc40f88bedbce3b73ba2358b5ade58a9022cc78c')
    expect(r.value.transactions).toHaveLength(461)
    expect(r.value.transactions.some((t) => t.hasWitness)).toBe(false)
    expect(merkleRoot(r.value.transactions.map((t) => t.txid)).equals(r.value.header.merkleRoot)).toBe(true)
  })
  it('re-serializes every transaction of both blocks byte for byte (witness and stripped forms)', () => {
    for (const name of ['mainnet-482683.hex', 'mainnet-300025.hex']) {
      const r = parseBlock(fixture(name))
      if (!r.ok) throw new Error(r.error.message)
      for (const tx of r.value.transactions) {
        expect(serializeTransaction(tx, { witness: true }).equals(tx.raw)).toBe(true)
        expect(serializeTransaction(tx, { witness: false }).equals(tx.stripped)).toBe(true)
        expect(sha256d(tx.stripped).equals(tx.txid)).toBe(true)
      }
    }
  })
})

describe('parseBlock / parseTransaction reject malformed bytes with an error value', () => {
  const block = fixture('mainnet-482683.hex')
  it('reports truncation', () => {
    const r = parseBlock(block.subarray(0, block.length - 1))
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe('TRUNCATED')
    const h = parseBlock(block.subarray(0, 40))
    expect(h.ok).toBe(false)
  })
  it('reports trailing bytes', () => {
    const r = parseBlock(Buffer.concat([block, Buffer.from([0])]))
    expect(r.ok || r.error.code).toBe('TRAILING_BYTES')
  })
  it('reports a block without transactions', () => {
    const r = parseBlock(Buffer.concat([block.subarray(0, 80), Buffer.from([0])]))
    expect(r.ok || r.error.code).toBe('NO_TRANSACTIONS')
  })
  it('reports an unknown segwit flag and a superfluous witness (Core rules)', () => {
    // version ‖ 00 02 …
    const badFlag = parseTransaction(Buffer.from('020000000002', 'hex'))
    expect(badFlag.ok || badFlag.error.code).toBe('BAD_SEGWIT_FLAG')
    // version ‖ 00 01 ‖ 1 input with empty scriptSig ‖ 1 output ‖ empty witness ‖ locktime
    const tx = `02000000 0001 01 ${'11'.repeat(32)} 00000000 00 ffffffff 01 0000000000000000 00 00 00000000`.replace(
      / /g,
      '',
    )
    const superfluous = parseTransaction(Buffer.from(tx, 'hex'))
    expect(superfluous.ok || superfluous.error.code).toBe('SUPERFLUOUS_WITNESS')
  })
  it('rejects non-canonical varints', () => {
    expect(() => new ByteReader(Buffer.from('fd0500', 'hex')).varint()).toThrow(/non-canonical/)
    expect(() => new ByteReader(Buffer.from('fe05000000', 'hex')).varint()).toThrow(/non-canonical/)
    expect(() => new ByteReader(Buffer.from('ff0500000000000000', 'hex')).varint()).toThrow(/non-canonical/)
    expect(() => new ByteReader(Buffer.from('fe00000004', 'hex')).varint()).toThrow(/exceeds/)
  })
})

describe('serialize helpers', () => {
  it('encodes CompactSize at each width boundary and reads it back', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [0xfc, 'fc'],
      [0xfd, 'fdfd00'],
      [0xffff, 'fdffff'],
      [0x10000, 'fe00000100'],
      [0x02000000, 'fe00000002'],
    ]
    for (const [n, h] of cases) {
      expect(encodeVarint(n).toString('hex')).toBe(h)
      expect(new ByteReader(Buffer.from(h, 'hex')).varint()).toBe(n)
    }
    expect(encodeVarint(0x100000000).toString('hex')).toBe('ff0000000001000000')
  })
  it('writer grows past its initial size and keeps byte order', () => {
    const w = new ByteWriter(16)
    w.u32le(0x01020304).u64le(5n).varBytes(Buffer.alloc(40, 0xab)).i32le(-1)
    const out = w.toBuffer()
    expect(out.length).toBe(4 + 8 + 1 + 40 + 4)
    expect(out.subarray(0, 4).toString('hex')).toBe('04030201')
    expect(out.subarray(-4).toString('hex')).toBe('ffffffff')
  })
  it('decodes hex strictly', () => {
    expect(hexToBytes('00ff')?.toString('hex')).toBe('00ff')
    expect(hexToBytes('0')).toBeNull()
    expect(hexToBytes('zz')).toBeNull()
    expect(hexToBytes('00', 2)).toBeNull()
    expect(hexToBytes('0000', 2)?.length).toBe(2)
  })
})
