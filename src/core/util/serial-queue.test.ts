import { describe, expect, it } from 'vitest'
import { SerialQueue } from './serial-queue'

describe('SerialQueue', () => {
  it('runs operations one at a time in call order, and a failure does not block the next', async () => {
    const q = new SerialQueue()
    const log: string[] = []
    const slow = q.run(async () => {
      log.push('a start')
      await new Promise((r) => setTimeout(r, 20))
      log.push('a end')
      return 1
    })
    const failing = q.run(async () => {
      log.push('b')
      throw new Error('boom')
    })
    const after = q.run(async () => {
      log.push('c')
      return 3
    })
    await expect(slow).resolves.toBe(1)
    await expect(failing).rejects.toThrow('boom')
    await expect(after).resolves.toBe(3)
    expect(log).toEqual(['a start', 'a end', 'b', 'c'])
  })
})
