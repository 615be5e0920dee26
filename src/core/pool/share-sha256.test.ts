import { createHash, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { sha256dWords } from './share'

function sha256dNode(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest()
}

describe('the word-level SHA-256d used by computeShare', () => {
  it('matches node:crypto at every length around the block and padding boundaries', () => {
    for (let len = 0; len <= 200; len++) {
      const data = randomBytes(len)
      expect(sha256dWords(data).toString('hex'), `length ${len}`).toBe(sha256dNode(data).toString('hex'))
    }
  })

  it('gives the genesis block hash for the genesis header', () => {
    const header = Buffer.from(
      '0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c',
      'hex',
    )
    expect(Buffer.from(sha256dWords(header)).reverse().toString('hex')).toBe(
      '000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f',
    )
  })
})
