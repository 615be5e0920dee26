import { describe, expect, it } from 'vitest'
import { describeTransportError, rpcErrorToNodeError, timeoutError } from './errors'

describe('describeTransportError', () => {
  it.each([
    ['ECONNREFUSED', 'refused', 'Connection refused'],
    ['ENOTFOUND', 'not-found', 'could not be resolved'],
    ['EAI_AGAIN', 'not-found', 'could not be resolved'],
    ['ETIMEDOUT', 'timeout', 'timed out'],
    ['ECONNRESET', 'reset', 'closed before the node answered'],
    ['EHOSTUNREACH', 'network', 'No network route'],
    ['EWHATEVER', 'other', 'Could not talk'],
  ])('turns %s into NODE_UNREACHABLE (%s) with a sentence', (code, reason, words) => {
    const e = describeTransportError('node:8332', Object.assign(new Error('x'), { code }), 'getbestblockhash')
    expect(e.code).toBe('NODE_UNREACHABLE')
    expect(e.details).toMatchObject({ reason, errno: code, method: 'getbestblockhash' })
    expect(e.message).toContain(words)
    expect(e.message).toContain('node:8332')
  })

  it('handles a thrown value that is not an Error', () => {
    expect(describeTransportError('n:1', 'boom').details?.reason).toBe('other')
  })
})

describe('rpcErrorToNodeError', () => {
  it('maps -28 to NODE_WARMUP and keeps the node’s words', () => {
    const e = rpcErrorToNodeError('getblocktemplate', -28, 'Verifying blocks…')
    expect(e).toMatchObject({ code: 'NODE_WARMUP', details: { rpcCode: -28, rpcMessage: 'Verifying blocks…' } })
    expect(e.message).toContain('Verifying blocks…')
  })

  it('maps -10 to NODE_SYNCING, -9 and others to NODE_RPC_ERROR', () => {
    expect(rpcErrorToNodeError('getblocktemplate', -10, 'in initial sync').code).toBe('NODE_SYNCING')
    expect(rpcErrorToNodeError('getblocktemplate', -9, 'not connected').message).toContain('no peers')
    const e = rpcErrorToNodeError('getblockhash', -8, 'Block height out of range')
    expect(e).toMatchObject({ code: 'NODE_RPC_ERROR', details: { rpcCode: -8 } })
    expect(e.message).toBe('The node refused getblockhash: Block height out of range (code -8).')
  })

  it('says which call timed out and after how long', () => {
    expect(timeoutError('n:1', 'submitblock', 1500).message).toContain('submitblock within 1.5 s')
  })
})
