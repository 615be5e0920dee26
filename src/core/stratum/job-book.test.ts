import { describe, expect, it } from 'vitest'
import type { Job } from '../pool/job'
import { JobBook } from './job-book'
import { mainnetTemplate, nextBlockTemplate, POOL_ADDRESS, payoutScript } from './testing/harness'
import { WorkFeed } from './work-feed'

function feed(): WorkFeed {
  return new WorkFeed({ payoutScript: payoutScript(POOL_ADDRESS), coinbaseTag: 't' })
}

describe('JobBook', () => {
  it('keeps the current generation forever and a superseded one for jobMaxAgeMs', () => {
    const f = feed()
    const book = new JobBook({ jobMaxAgeMs: 1000, maxJobs: 100 })
    const a = f.publish(mainnetTemplate())
    book.addCurrent(a, 0)
    const aAlias = f.reissue(a)
    book.add(aAlias, 10)
    // An hour on the same work: still there.
    book.add(f.reissue(a), 3_600_000)
    expect(book.get(a.id)).toBe(a)
    expect(book.get(aAlias.id)).toBe(aAlias)

    const b = f.publish(nextBlockTemplate(mainnetTemplate()))
    book.addCurrent(b, 3_600_000)
    expect(book.isStale(a)).toBe(true)
    expect(book.isStale(b)).toBe(false)
    // Superseded work stays (stale shares, blocks on it) until jobMaxAgeMs after it was superseded.
    book.add(f.reissue(b), 3_601_000)
    expect(book.get(a.id)).toBe(a)
    book.add(f.reissue(b), 3_601_001)
    expect(book.get(a.id)).toBeUndefined()
    expect(book.get(aAlias.id)).toBeUndefined()
    expect(book.get(b.id)).toBe(b)
  })

  it('enforces the hard cap, oldest first, never dropping the job just added', () => {
    const f = feed()
    const book = new JobBook({ jobMaxAgeMs: 1e9, maxJobs: 3 })
    const base = f.publish(mainnetTemplate())
    book.addCurrent(base, 0)
    const aliases: Job[] = []
    for (let i = 0; i < 5; i++) {
      const j = f.reissue(base)
      aliases.push(j)
      book.add(j, i)
    }
    expect(book.size).toBe(3)
    expect(aliases.slice(2).map((j) => book.get(j.id))).toEqual(aliases.slice(2))
  })

  it('remembers share hashes per job and forgets them with the job', () => {
    const f = feed()
    const book = new JobBook({ jobMaxAgeMs: 0, maxJobs: 10 })
    const a = f.publish(mainnetTemplate())
    book.addCurrent(a, 0)
    expect(book.hasShare(a, 'h1')).toBe(false)
    book.addShare(a, 'h1')
    expect(book.hasShare(a, 'h1')).toBe(true)
    const b = f.publish(mainnetTemplate())
    book.addCurrent(b, 1)
    book.add(f.reissue(b), 2)
    expect(book.hasShare(a, 'h1')).toBe(false)
    // Same previous block: a refresh is not stale.
    expect(book.isStale(b)).toBe(false)
  })
})
