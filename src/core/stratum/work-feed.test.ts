import { describe, expect, it } from 'vitest'
import { computeShare } from '../pool/share'
import { mainnetTemplate, nextBlockTemplate, POOL_ADDRESS, payoutScript } from './testing/harness'
import { WorkFeed } from './work-feed'

const MINER = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq'

describe('WorkFeed', () => {
  it('announces each job once, clean only when the previous block changed', () => {
    const feed = new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 't' })
    const seen: Array<[string, boolean]> = []
    const off = feed.onJob((j, clean) => seen.push([j.id, clean]))
    const a = feed.publish(mainnetTemplate())
    const b = feed.publish(mainnetTemplate())
    const c = feed.publish(nextBlockTemplate(mainnetTemplate()))
    const d = feed.publish(nextBlockTemplate(mainnetTemplate()), { clean: true })
    off()
    feed.publish(mainnetTemplate())
    expect(seen).toEqual([
      [a.id, true],
      [b.id, false],
      [c.id, true],
      [d.id, true],
    ])
    expect(new Set([a.id, b.id, c.id, d.id]).size).toBe(4)
    expect(feed.current()!.prevHashHex).toBe(mainnetTemplate().previousblockhash)
  })

  it('builds one cached variant per miner payout script, only for the current job', () => {
    const feed = new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 't', maxPayoutVariants: 1 })
    const job = feed.publish(mainnetTemplate())
    expect(feed.jobForPayout(job, payoutScript(POOL_ADDRESS))).toBe(job)
    const v = feed.jobForPayout(job, payoutScript(MINER))!
    expect(feed.jobForPayout(job, payoutScript(MINER))).toBe(v)
    expect(v.id).not.toBe(job.id)
    expect(v.coinb2.includes(Buffer.from(payoutScript(MINER)))).toBe(true)
    expect(v.merkleBranch).toEqual(job.merkleBranch)
    // Capacity reached, and older jobs get no variants.
    expect(feed.jobForPayout(job, Buffer.from(`0014${'ab'.repeat(20)}`, 'hex'))).toBeUndefined()
    feed.publish(mainnetTemplate())
    expect(feed.jobForPayout(job, payoutScript(MINER))).toBeUndefined()
  })

  it('re-issues the same work under a fresh id that hashes identically', () => {
    const feed = new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 't' })
    const job = feed.publish(mainnetTemplate())
    const again = feed.reissue(job)
    expect(again.id).not.toBe(job.id)
    expect(again.notifyParams(true).slice(1)).toEqual(job.notifyParams(true).slice(1))
    expect(again.notifyParams(false)[0]).toBe(again.id)
    const en1 = Buffer.from('01020304', 'hex')
    const en2 = Buffer.from('0a0b0c0d', 'hex')
    const x = computeShare(job, en1, en2, job.ntime, 12345, job.version)
    const y = computeShare(again, en1, en2, job.ntime, 12345, job.version)
    expect(y.hashHex).toBe(x.hashHex)
  })
})
