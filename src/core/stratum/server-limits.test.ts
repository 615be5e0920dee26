import net from 'node:net'
import tls from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryLogger } from '../logger'
import { CounterExtranonce1Allocator, StratumServer } from './server'
import { fixture, mainnetTemplate, POOL_ADDRESS, type Pool, startPool, TINY_DIFF } from './testing/harness'
import { grind, shareTarget } from './testing/miner'

let pool: Pool | undefined
afterEach(async () => {
  await pool?.stop()
  pool = undefined
})

const closedWith = (p: Pool, text: string): boolean => p.logged((r) => r.msg.includes(text))

describe('line limits and malformed input', () => {
  it('closes a connection that sends a line over the limit, with a clear log line', async () => {
    pool = await startPool({ server: { limits: { maxLineBytes: 1024 } } })
    const m = await pool.connect()
    m.send(`{"id":1,"method":"mining.subscribe","params":["${'a'.repeat(2000)}"]}\n`)
    await m.closedPromise
    expect(closedWith(pool, 'line longer than 1024 bytes')).toBe(true)
  })

  it('closes a client streaming a 10 MB line without a newline, long before it ends', async () => {
    pool = await startPool()
    const m = await pool.connect()
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    while (!m.closed && sent < 10 * 1024 * 1024) {
      await new Promise<void>((r) => m.socket.write(chunk, () => r()))
      sent += chunk.length
    }
    await m.closedPromise
    // The limit tripped within one socket chunk of 16 KiB: nothing near 10 MB was ever held.
    const rec = pool.log.records.find((r) => r.msg.includes('line longer than 16384 bytes'))!
    const seen = Number(/\((\d+) bytes seen\)/.exec(rec.msg)![1])
    expect(seen).toBeGreaterThan(16384)
    expect(seen).toBeLessThanOrEqual(16384 + 64 * 1024)
  })

  it('answers malformed lines with error 20 and keeps the connection until too many', async () => {
    pool = await startPool({ server: { limits: { maxBadLines: 3 } } })
    const m = await pool.connect()
    m.send(Buffer.concat([Buffer.from('{"id":1,"method":\n[1,2]\n'), Buffer.from([0xff, 0xfe, 0x0a])]))
    const ok = await m.request('mining.subscribe', [])
    expect(ok.error).toBeNull()
    expect(m.messages.slice(0, 3)).toEqual([
      { id: null, result: null, error: [20, 'line is not JSON', null] },
      { id: null, result: null, error: [20, 'message is not a JSON object', null] },
      { id: null, result: null, error: [20, 'line is not valid UTF-8', null] },
    ])
    m.send('{"id":7,"method":"m","params":{}}\n')
    await m.closedPromise
    expect(m.messages.at(-1)).toEqual({ id: 7, result: null, error: [20, 'params must be an array', null] })
    expect(closedWith(pool, 'more than 3 malformed lines')).toBe(true)
  })

  it('tells the owner when a miner speaks TLS to the plain port', async () => {
    pool = await startPool()
    const s = net.connect({ port: pool.port, host: '127.0.0.1' })
    s.on('error', () => {})
    await new Promise<void>((r) => s.on('connect', () => r()))
    s.write(Buffer.from('16030100c4010000c003030000000000', 'hex'))
    await new Promise<void>((r) => s.on('close', () => r()))
    expect(closedWith(pool, 'TLS handshake on the plain stratum port')).toBe(true)
  })

  it('handles a handshake split into single bytes and coalesced with a submit', async () => {
    pool = await startPool()
    const m = await pool.connect()
    const text = `{"id":1,"method":"mining.subscribe","params":["split/1"]}\r\n{"id":2,"method":"mining.authorize","params":["${POOL_ADDRESS}.s","x"]}\n`
    for (const byte of Buffer.from(text)) {
      await new Promise<void>((r) => m.socket.write(Buffer.from([byte]), () => r()))
    }
    const job = await m.notifyCount(1)
    const en1 = (m.messages[0]!.result as unknown[])[1] as string
    const g = grind(job, en1, '00000001', shareTarget(TINY_DIFF))
    m.send(
      `{"id":3,"method":"mining.submit","params":["w","${job.jobId}","00000001","${g.ntimeHex}","${g.nonceHex}"]}\n{"id":4,"method":"mining.ping"}\n`,
    )
    const r4 = await m.waitFor((x) => x.id === 4)
    expect(r4.result).toBe('pong')
    expect(m.messages.find((x) => x.id === 3)!.result).toBe(true)
  })
})

describe('connection limits', () => {
  it('refuses connections beyond the per-IP cap and logs why', async () => {
    pool = await startPool({ server: { limits: { maxConnectionsPerIp: 2 } } })
    const a = await pool.connect()
    const b = await pool.connect()
    const c = await pool.connect()
    await c.closedPromise
    expect(closedWith(pool, 'too many from this address')).toBe(true)
    // The first two still work.
    expect((await a.request('mining.subscribe', [])).error).toBeNull()
    expect((await b.request('mining.subscribe', [])).error).toBeNull()
    // A slot frees up when one leaves.
    a.close()
    while (pool.server.stats().connections > 1) await new Promise((r) => setTimeout(r, 10))
    const d = await pool.connect()
    expect((await d.request('mining.subscribe', [])).error).toBeNull()
  })

  it('refuses connections beyond the total cap', async () => {
    pool = await startPool({ server: { limits: { maxConnections: 3 } } })
    const ms = await Promise.all([pool.connect(), pool.connect(), pool.connect()])
    for (const m of ms) expect((await m.request('mining.subscribe', [])).error).toBeNull()
    const extra = await pool.connect()
    await extra.closedPromise
    expect(closedWith(pool, 'server full')).toBe(true)
  })

  it('closes a connection that does not subscribe in time', async () => {
    pool = await startPool({ server: { limits: { subscribeTimeoutMs: 150, tickMs: 25 } } })
    const m = await pool.connect()
    await m.closedPromise
    expect(closedWith(pool, 'no mining.subscribe within 0.15 s')).toBe(true)
  })

  it('closes a subscribed connection that goes silent', async () => {
    pool = await startPool({ server: { limits: { idleTimeoutMs: 150, tickMs: 25 } } })
    const { miner } = await pool.handshake()
    await miner.closedPromise
    expect(closedWith(pool, 'silent for')).toBe(true)
  })

  it('drops a client that stops reading instead of queueing without bound', async () => {
    pool = await startPool({ server: { limits: { maxWriteBufferBytes: 64 * 1024, maxBadLines: 1e9 } } })
    const m = await pool.connect()
    m.socket.pause()
    const burst = '{"id":1,"method":"mining.subscribe","params":["x"]}\n'.repeat(2000)
    while (!m.closed) {
      const wrote = await new Promise<boolean>((r) => {
        m.socket.write(burst, (e) => r(!e))
      })
      if (!wrote) break
    }
    await m.closedPromise
    expect(closedWith(pool, 'client is not reading')).toBe(true)
  })

  it('hands out distinct 4-byte extranonce1 values from a wrapping counter', () => {
    const a = new CounterExtranonce1Allocator(0xfffffffe)
    expect([a.allocate(), a.allocate(), a.allocate()].map((b) => b!.toString('hex'))).toEqual([
      'fffffffe',
      'ffffffff',
      '00000000',
    ])
    const c = new CounterExtranonce1Allocator()
    const seen = new Set<string>()
    for (let i = 0; i < 5000; i++) seen.add(c.allocate()!.toString('hex'))
    expect(seen.size).toBe(5000)
    // A released value is not handed straight back to the next miner.
    const x = c.allocate()!
    c.release(x)
    expect(c.allocate()!.equals(x)).toBe(false)
  })
})

describe('misbehaviour and control', () => {
  it('reports a busy port as an error from listen()', async () => {
    pool = await startPool()
    const second = new StratumServer({
      work: pool.feed,
      network: 'mainnet',
      logger: memoryLogger(),
      host: '127.0.0.1',
      port: pool.port,
    })
    await expect(second.listen()).rejects.toThrow(/EADDRINUSE/)
    // The running server is unaffected.
    expect((await (await pool.connect()).request('mining.subscribe', [])).error).toBeNull()
  })

  it('keeps miners connected while there is no work yet, then sends it', async () => {
    pool = await startPool({ publish: false })
    const miner = await pool.connect()
    const [sub, auth] = await miner.pipeline([
      ['mining.subscribe', []],
      ['mining.authorize', [`${POOL_ADDRESS}.early`, 'x']],
    ])
    expect([sub!.error, auth!.result]).toEqual([null, true])
    expect(miner.notifies).toHaveLength(0)
    const job = pool.feed.publish(mainnetTemplate())
    const n = await miner.notifyCount(1)
    expect(n.jobId).toBe(job.id)
    expect(miner.difficulties).toEqual([TINY_DIFF])
  })

  it('escalates continuous invalid shares: resend work, then client.reconnect, then drop', async () => {
    pool = await startPool({ server: { storm: { resendAfterMs: 60, reconnectAfterMs: 120, dropAfterMs: 180 } } })
    const { miner, job } = await pool.handshake()
    while (!miner.closed) {
      miner.send(
        `{"id":9,"method":"mining.submit","params":["w","${job.jobId}","00000000","${job.ntime}","00000000"]}\n`,
      )
      await new Promise((r) => setTimeout(r, 20))
    }
    const methods = miner.messages.filter((m) => m.method !== undefined).map((m) => m.method)
    // initial diff + job, then the resend (diff + fresh clean job), then the reconnect request.
    expect(methods).toEqual([
      'mining.set_difficulty',
      'mining.notify',
      'mining.set_difficulty',
      'mining.notify',
      'client.reconnect',
    ])
    expect(miner.notifies[1]!.clean).toBe(true)
    expect(closedWith(pool, 'only invalid shares for')).toBe(true)
  })

  it('kicks a connection by id', async () => {
    pool = await startPool()
    const { miner } = await pool.handshake()
    const [info] = pool.server.connections()
    expect(pool.server.kick(info!.id)).toBe(true)
    await miner.closedPromise
    expect(pool.server.kick(info!.id + 1000)).toBe(false)
    expect(closedWith(pool, 'kicked by the owner')).toBe(true)
  })

  it('asks every miner to reconnect on shutdown', async () => {
    pool = await startPool()
    const a = await pool.handshake()
    const b = await pool.connect()
    const stopping = pool.server.close()
    await Promise.all([a.miner.closedPromise, b.closedPromise])
    await stopping
    const line = '{"id":null,"method":"client.reconnect","params":[]}'
    expect(a.miner.rawLines.at(-1)).toBe(line)
    expect(b.rawLines).toEqual([line])
  })

  it('serves stratum+ssl on the TLS listener with the caller-supplied certificate', async () => {
    pool = await startPool({
      server: { tls: { cert: fixture('stratum/tls-test-cert.pem'), key: fixture('stratum/tls-test-key.pem') } },
    })
    const s = tls.connect({ port: pool.tlsPort!, host: '127.0.0.1', ca: fixture('stratum/tls-test-cert.pem') })
    await new Promise<void>((r, j) => {
      s.once('secureConnect', () => r())
      s.once('error', j)
    })
    s.setEncoding('utf8')
    let text = ''
    s.on('data', (d: string) => {
      text += d
    })
    s.write(
      `{"id":1,"method":"mining.subscribe","params":["ssl"]}\n{"id":2,"method":"mining.authorize","params":["${POOL_ADDRESS}.t","x"]}\n`,
    )
    while (!text.includes('mining.notify')) await new Promise((r) => setTimeout(r, 10))
    expect(pool.server.connections().map((c) => [c.transport, c.userAgent])).toEqual([['tls', 'ssl']])
    s.destroy()
  })

  it('never lets an exception in a callback reach the socket loop', async () => {
    pool = await startPool({
      server: {
        onShare: () => {
          throw new Error('store is down')
        },
      },
    })
    const { miner, job } = await pool.handshake()
    const r = await miner.request('mining.submit', ['w', job.jobId, '00000000', job.ntime, '00000000'])
    expect(r['reject-reason']).toBe('low-difficulty')
    expect(pool.logged((x) => x.msg === 'onShare callback failed')).toBe(true)
    expect((await miner.request('mining.ping', [])).result).toBe('pong')
  })
})
