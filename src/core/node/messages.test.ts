import { readFileSync } from 'node:fs'
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
  // A real getblocktemplate answer (testnet, height 2,442,185), recorded by public-pool; see
  // test/fixtures/blocks/SOURCES.md.
  const template = JSON.parse(
    readFileSync(
      new URL('../../../test/fixtures/blocks/public-pool-testnet-template-2442185.json', import.meta.url),
      'utf8',
    ),
  ) as Record<string, unknown>

  it('accepts a real Core template and keeps only the documented fields', () => {
    const r = blockTemplateSchema.safeParse({ ...template, extra: 'dropped' })
    expect(r.success).toBe(true)
    if (!r.success) return
    expect('extra' in r.data).toBe(false)
    expect(r.data.height).toBe(2442185)
    expect(r.data.transactions).toHaveLength(5)
    expect(r.data.transactions[0]).toMatchObject({ fee: 14300, sigops: 1, weight: 569, depends: [] })
  })

  it.each([
    ['previousblockhash', 'abc'],
    ['bits', '1a00fff'],
    ['coinbasevalue', -1],
    ['coinbasevalue', 2 ** 60],
    ['height', 1.5],
    ['transactions', [{ data: 'zz', txid: '00'.repeat(32), hash: '00'.repeat(32) }]],
    ['transactions', [{ data: '00', txid: '00'.repeat(31), hash: '00'.repeat(32) }]],
  ])('refuses a template whose %s is %j', (field, value) => {
    expect(blockTemplateSchema.safeParse({ ...template, [field]: value }).success).toBe(false)
  })
})
