import { describe, expect, it } from 'vitest'
import { parseTransaction } from '../bitcoin/block'
import { encodeBip34Height } from '../bitcoin/script'
import { buildCoinbase, CoinbaseError, type CoinbaseSpec, MAX_COINBASE_SCRIPTSIG_BYTES, truncateUtf8 } from './coinbase'

const P2WPKH = Buffer.from('0014751e76e8199196d454941c45d1b3a323f1433bd6', 'hex')
const COMMITMENT = Buffer.from('6a24aa21a9edbd3d1d916aa0b57326a2d88ebe1b68a1d7c48585f26d8335fe6a94b62755f64c', 'hex')

const spec = (over: Partial<CoinbaseSpec> = {}): CoinbaseSpec => ({
  height: 2442185,
  payoutScript: P2WPKH,
  valueSats: 2465717,
  witnessCommitmentScript: COMMITMENT,
  coinbaseTag: '/Hashyard/',
  extranonce1Size: 4,
  extranonce2Size: 4,
  ...over,
})

/** Puts extranonces in and parses the result as a transaction. */
function assemble(
  s: CoinbaseSpec,
  en1 = Buffer.alloc(s.extranonce1Size, 0xe1),
  en2 = Buffer.alloc(s.extranonce2Size, 0xe2),
) {
  const parts = buildCoinbase(s)
  const r = parseTransaction(Buffer.concat([parts.coinb1, en1, en2, parts.coinb2]))
  if (!r.ok) throw new Error(r.error.message)
  return { parts, tx: r.value, en1, en2 }
}

describe('buildCoinbase', () => {
  it('makes a valid non-witness coinbase: null prevout, BIP34 height first, extranonces last in the scriptSig', () => {
    const { tx, parts, en1, en2 } = assemble(spec())
    expect(tx.hasWitness).toBe(false)
    expect(tx.version).toBe(2)
    expect(tx.inputs).toHaveLength(1)
    const input = tx.inputs[0]!
    expect(input.prevTxid.equals(Buffer.alloc(32))).toBe(true)
    expect(input.prevIndex).toBe(0xffffffff)
    expect(input.sequence).toBe(0xffffffff)
    expect(input.scriptSig.subarray(0, 4).toString('hex')).toBe('03c94325')
    expect(input.scriptSig.subarray(-8).equals(Buffer.concat([en1, en2]))).toBe(true)
    expect(input.scriptSig.length).toBe(parts.scriptSigBytes)
    expect(input.scriptSig.includes(Buffer.from('/Hashyard/'))).toBe(true)
    expect(tx.locktime).toBe(0)
  })
  it('pays coinbasevalue to the payout script and puts the witness commitment last', () => {
    const { tx, parts } = assemble(spec())
    expect(parts.segwit).toBe(true)
    expect(tx.outputs.map((o) => [o.value, o.script.toString('hex')])).toEqual([
      [2465717n, P2WPKH.toString('hex')],
      [0n, COMMITMENT.toString('hex')],
    ])
  })
  it('has a single output and no segwit flag without a commitment', () => {
    const { tx, parts } = assemble(spec({ witnessCommitmentScript: undefined }))
    expect(parts.segwit).toBe(false)
    expect(tx.outputs).toHaveLength(1)
  })
  it('starts the scriptSig with the exact `CScript() << height` for regtest heights 0..17', () => {
    for (let h = 0; h <= 17; h++) {
      const { tx } = assemble(spec({ height: h }))
      const sig = tx.inputs[0]!.scriptSig
      const expected = encodeBip34Height(h)
      expect(sig.subarray(0, expected.length).equals(expected)).toBe(true)
      if (h >= 1 && h <= 16) expect(sig[0]).toBe(0x50 + h)
      expect(sig.length).toBeGreaterThanOrEqual(2)
    }
  })
  it('truncates a long tag so the scriptSig is at most 100 bytes, for every extranonce2 size', () => {
    const longTag = 'x'.repeat(300)
    for (let en2 = 1; en2 <= 8; en2++) {
      const { tx, parts } = assemble(spec({ coinbaseTag: longTag, extranonce2Size: en2 }))
      expect(tx.inputs[0]!.scriptSig.length).toBeLessThanOrEqual(MAX_COINBASE_SCRIPTSIG_BYTES)
      expect(tx.inputs[0]!.scriptSig.length).toBeGreaterThanOrEqual(MAX_COINBASE_SCRIPTSIG_BYTES - 1)
      expect(parts.tag.length).toBeGreaterThan(70)
      expect(longTag.startsWith(parts.tag.toString('utf8'))).toBe(true)
    }
  })
  it('never cuts a multi-byte character in half', () => {
    const { parts } = assemble(spec({ coinbaseTag: '⛏️🟧'.repeat(40) }))
    const kept = parts.tag.toString('utf8')
    expect(kept.includes('\ufffd')).toBe(false)
    expect('⛏️🟧'.repeat(40).startsWith(kept)).toBe(true)
    expect(truncateUtf8('aé', 2).toString('utf8')).toBe('a')
    expect(truncateUtf8('aé', 3).toString('utf8')).toBe('aé')
  })
  it('omits an empty tag and keeps an optional extra push before the tag', () => {
    const empty = assemble(spec({ coinbaseTag: '' }))
    expect(empty.tx.inputs[0]!.scriptSig.toString('hex')).toBe(
      `03c94325 08 ${'e1'.repeat(4)}${'e2'.repeat(4)}`.replace(/ /g, ''),
    )
    const withExtra = assemble(spec({ coinbaseTag: 'T', extra: Buffer.from('cafe', 'hex') }))
    expect(withExtra.tx.inputs[0]!.scriptSig.subarray(0, 9).toString('hex')).toBe('03c94325' + '02cafe' + '0154')
  })
  it('stays well under 200 bytes with a short tag (firmware truncation bugs, research §7.8)', () => {
    const { parts } = assemble(spec())
    expect(parts.coinb1.length + 8 + parts.coinb2.length).toBeLessThan(200)
  })
  it('refuses invalid extranonce sizes, values and an extra that cannot fit', () => {
    const code = (s: CoinbaseSpec) => {
      try {
        buildCoinbase(s)
        return 'built'
      } catch (e) {
        return e instanceof CoinbaseError ? e.code : 'other'
      }
    }
    expect(code(spec({ extranonce2Size: 0 }))).toBe('BAD_EXTRANONCE_SIZE')
    expect(code(spec({ extranonce2Size: 9 }))).toBe('BAD_EXTRANONCE_SIZE')
    expect(code(spec({ extranonce1Size: 2.5 }))).toBe('BAD_EXTRANONCE_SIZE')
    expect(code(spec({ valueSats: -1 }))).toBe('BAD_VALUE')
    expect(code(spec({ valueSats: 0.5 }))).toBe('BAD_VALUE')
    expect(code(spec({ height: -1 }))).toBe('BAD_HEIGHT')
    expect(code(spec({ extra: Buffer.alloc(95) }))).toBe('SCRIPTSIG_TOO_LONG')
  })
})
