import { describe, expect, it } from 'vitest'
import { blockTemplateSchema, explainRejectReason, interpretSubmitResult } from './messages'

describe('interpretSubmitResult', () => {
  it('reads null as accepted, and duplicate / inconclusive as their own outcomes', () => {
    expect(interpretSubmitResult(null)).toEqual({ status: 'accepted' })
    expect(interpretSubmitResult('duplicate')).toEqual({ status: 'duplicate' })
    expect(interpretSubmitResult('inconclusive')).toMatchObject({ status: 'inconclusive' })
  })

  it.each([
    ['high-hash', 'not enough proof of work'],
    ['bad-txnmrklroot', 'merkle root'],
    ['bad-cb-height', 'BIP34'],
    ['bad-cb-length', '100 bytes'],
    ['bad-witness-merkle-match', 'witness commitment'],
    ['prev-blk-not-found', 'previous block'],
    ['duplicate-invalid', 'invalid'],
    ['bad-version(0x00000001)', 'obsolete'],
    ['bad-txns-inputs-missingorspent', 'a transaction in it is invalid'],
    ['something-new', 'something-new'],
  ])('reads %s as rejected with a plain explanation', (reason, words) => {
    const r = interpretSubmitResult(reason)
    expect(r).toMatchObject({ status: 'rejected', reason })
    expect(r?.status === 'rejected' && r.message).toContain(words)
    expect(explainRejectReason(reason)).toContain(reason)
  })

  it('gives undefined for shapes submitblock never returns', () => {
    expect(interpretSubmitResult(42)).toBeUndefined()
    expect(interpretSubmitResult({})).toBeUndefined()
  })
})

describe('blockTemplateSchema', () => {
  // Facts of mainnet block 482,683 (test/fixtures/blocks) in Core's template shape; the
  // transactions are left out, since the schema checks shapes, not consistency.
  const template = {
    version: 0x20000002,
    rules: ['csv', '!segwit'],
    previousblockhash: '0000000000000000004f8568aa0bc28c7ca94785da07a49272f7124516aaac87',
    transactions: [],
    coinbasevalue: 1_256_817_877,
    longpollid: '0000000000000000004f8568aa0bc28c7ca94785da07a49272f7124516aaac871',
    target: '0000000000000000013ce9000000000000000000000000000000000000000000',
    mintime: 1504119737,
    curtime: 1504119737,
    bits: '18013ce9',
    height: 482683,
    default_witness_commitment: '6a24aa21a9ed0f8b0182863aa4713e94bb72c47c57dcbae7de8f3df2af23453f60f1965dab77',
  }

  it('accepts a Core template and fills defaults', () => {
    const r = blockTemplateSchema.safeParse({ ...template, extra: 'kept out' })
    expect(r.success).toBe(true)
    if (r.success) expect('extra' in r.data).toBe(false)
  })

  it.each([
    ['previousblockhash', 'abc'],
    ['bits', '1a00fff'],
    ['coinbasevalue', -1],
    ['coinbasevalue', 2 ** 60],
    ['height', 1.5],
    ['transactions', [{ data: 'zz', txid: '00'.repeat(32), hash: '00'.repeat(32) }]],
  ])('refuses a template whose %s is %j', (field, value) => {
    expect(blockTemplateSchema.safeParse({ ...template, [field]: value }).success).toBe(false)
  })
})
