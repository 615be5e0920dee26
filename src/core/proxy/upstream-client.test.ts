import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { memoryLogger } from '../logger'
import { fixture } from '../stratum/testing/harness'
import { grind, type NotifyJob, shareTarget } from '../stratum/testing/miner'
import { testPool } from './pool-test'
import { type PoolEndpoint, parsePoolUrl } from './pool-url'
import { TestUpstreamPool } from './testing/upstream-pool'
import { backoffMs, redirectAllowed, UpstreamClient, type UpstreamDown, type UpstreamReady } from './upstream-client'
import type { UpstreamNotify } from './upstream-messages'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f()
})

const endpoint = (port: number, tls = false): PoolEndpoint => {
  const r = parsePoolUrl(`127.0.0.1:${port}`, { tls })
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

async function startPool(opts: ConstructorParameters<typeof TestUpstreamPool>[0] = {}): Promise<TestUpstreamPool> {
  const pool = new TestUpstreamPool(opts)
  await pool.listen()
  cleanups.push(() => pool.close())
  return pool
}

/** A client with event queues the test can await in order. */
function client(port: number, extra: Partial<ConstructorParameters<typeof UpstreamClient>[0]> = {}) {
  const log = memoryLogger()
  const c = new UpstreamClient({
    endpoint: endpoint(port),
    user: 'acct.proxy',
    password: 'x',
    logger: log,
    random: () => 0.5,
    timing: { backoffInitialMs: 10, backoffMaxMs: 80, tickMs: 20 },
    ...extra,
  })
  const readies: UpstreamReady[] = []
  const downs: UpstreamDown[] = []
  const jobs: UpstreamNotify[] = []
  const diffs: number[] = []
  let wake: Array<() => void> = []
  const poke = (): void => {
    const w = wake
    wake = []
    for (const f of w) f()
  }
  c.on('ready', (r) => {
    readies.push(r)
    poke()
  })
  c.on('down', (d) => {
    downs.push(d)
    poke()
  })
  c.on('job', (j) => {
    jobs.push(j)
    poke()
  })
  c.on('difficulty', (d) => {
    diffs.push(d)
    poke()
  })
  c.on('extranonce', () => poke())
  const until = async (pred: () => boolean): Promise<void> => {
    while (!pred()) await new Promise<void>((r) => wake.push(r))
  }
  cleanups.push(() => c.stop())
  return { c, log, readies, downs, jobs, diffs, until }
}

const asNotify = (j: UpstreamNotify): NotifyJob => ({
  jobId: j.jobId,
  prevhash: j.prevhash,
  coinb1: j.coinb1,
  coinb2: j.coinb2,
  branch: j.branch,
  version: j.version.toString(16).padStart(8, '0'),
  nbits: j.nbits.toString(16).padStart(8, '0'),
  ntime: j.ntime.toString(16).padStart(8, '0'),
  clean: j.clean,
})

describe('UpstreamClient', () => {
  it('configures, subscribes, subscribes to extranonce, authorizes, then gets difficulty and work', async () => {
    const pool = await startPool()
    const t = client(pool.port)
    t.c.start()
    await t.until(() => t.jobs.length >= 1)
    expect(t.readies[0]).toMatchObject({ extranonce2Size: 8, versionMask: 0x1fffe000, resumed: false })
    expect(t.readies[0]!.extranonce1.toString('hex')).toBe(pool.conns[0]!.extranonce1.toString('hex'))
    expect(pool.conns[0]!.requests.map((r) => r.method)).toEqual([
      'mining.configure',
      'mining.subscribe',
      'mining.extranonce.subscribe',
      'mining.authorize',
    ])
    expect(pool.conns[0]!.requests[0]!.params).toEqual([
      ['version-rolling'],
      { 'version-rolling.mask': '1fffe000', 'version-rolling.min-bit-count': 2 },
    ])
    expect(t.diffs).toEqual([2 ** -24])
    expect(t.jobs[0]!.clean).toBe(true)
    expect(t.c.ready).toBe(true)
  })

  it('submits real shares and maps the pool’s answers: accepted, low difficulty, duplicate', async () => {
    const pool = await startPool()
    const t = client(pool.port)
    t.c.start()
    await t.until(() => t.jobs.length >= 1)
    const job = asNotify(t.jobs[0]!)
    const en1 = t.readies[0]!.extranonce1.toString('hex')
    const en2 = '0000000000000001'
    const good = grind(job, en1, en2, shareTarget(2 ** -24))
    const share = {
      worker: 'acct.proxy',
      jobId: job.jobId,
      extranonce2Hex: en2,
      ntime: Number.parseInt(good.ntimeHex, 16),
    }
    const ok = await t.c.submit({ ...share, nonce: good.nonce })
    expect(ok.accepted).toBe(true)
    expect(ok.rttMs).toBeGreaterThanOrEqual(0)
    const dup = await t.c.submit({ ...share, nonce: good.nonce })
    expect(dup).toMatchObject({ accepted: false, kind: 'duplicate', code: 22, message: 'Duplicate share' })
    const bad = grind(job, en1, en2, shareTarget(2 ** -24), { want: 'above', startNonce: good.nonce + 1 })
    const low = await t.c.submit({ ...share, nonce: bad.nonce })
    expect(low).toMatchObject({ accepted: false, kind: 'low-difficulty', code: 23 })
    expect(pool.shares).toHaveLength(1)
  })

  it('logs a malformed line, reconnects, and resumes the session with the same extranonce1', async () => {
    const pool = await startPool()
    const t = client(pool.port)
    t.c.start()
    await t.until(() => t.jobs.length >= 1)
    pool.sendRaw(pool.conns[0]!, '{"id":null,"method":"mining.notify","params":[not json\n')
    await t.until(() => t.readies.length >= 2)
    expect(t.downs[0]).toMatchObject({ reason: 'protocol', wasReady: true, retryInMs: 10 })
    expect(t.downs[0]!.message).toMatch(/malformed line.*STRATUM_BAD_JSON/)
    expect(t.log.records.some((r) => r.level === 'warn' && /malformed line/.test(r.msg))).toBe(true)
    expect(t.readies[1]!.resumed).toBe(true)
    expect(t.readies[1]!.extranonce1.equals(t.readies[0]!.extranonce1)).toBe(true)
    expect(pool.conns[1]!.requests.find((r) => r.method === 'mining.subscribe')!.params[1]).toBe(
      pool.conns[0]!.sessionId,
    )
  })

  it('treats an invalid notify as a protocol error too', async () => {
    const pool = await startPool()
    const t = client(pool.port)
    t.c.start()
    await t.until(() => t.jobs.length >= 1)
    pool.sendRaw(pool.conns[0]!, '{"id":null,"method":"mining.notify","params":["1","zz"]}\n')
    await t.until(() => t.downs.length >= 1)
    expect(t.downs[0]).toMatchObject({ reason: 'protocol', message: 'mining.notify has 2 params, expected 9' })
  })

  it('follows set_extranonce from the pool', async () => {
    const pool = await startPool()
    const t = client(pool.port)
    const changes: Buffer[] = []
    t.c.on('extranonce', (e) => changes.push(e.extranonce1))
    t.c.start()
    await t.until(() => t.jobs.length >= 1)
    const en1 = pool.setExtranonce(pool.conns[0]!)
    await t.until(() => t.jobs.length >= 2)
    expect(changes.map((b) => b.toString('hex'))).toEqual([en1.toString('hex')])
    expect(t.c.extranonce1.equals(en1)).toBe(true)
  })

  it('follows client.reconnect to the same host (another port), and backs off with jitter when refused', async () => {
    const a = await startPool()
    const b = await startPool()
    const t = client(a.port)
    const redirects: unknown[] = []
    t.c.on('redirect', (r) => redirects.push(r))
    t.c.start()
    await t.until(() => t.jobs.length >= 1)
    a.reconnect(a.conns[0]!, ['127.0.0.1', b.port, 0])
    await t.until(() => t.readies.length >= 2)
    expect(redirects).toEqual([{ host: '127.0.0.1', port: b.port, waitMs: 0, followed: true }])
    expect(t.downs[0]).toMatchObject({ reason: 'redirect', retryInMs: 0 })
    expect(t.readies[1]!.endpoint).toBe(`127.0.0.1:${b.port}`)
    expect(b.conns).toHaveLength(1)
    // A failure returns to the configured address, which is now closed: refused, with backoff.
    await a.close()
    b.dropAll()
    await t.until(() => t.downs.length >= 4)
    expect(t.downs.slice(1, 4).map((d) => [d.reason, d.retryInMs])).toEqual([
      ['closed', 10],
      ['refused', 20],
      ['refused', 40],
    ])
  })

  it('authorizes extra worker names and reports refusals', async () => {
    const pool = await startPool({ authorize: (u) => (u.endsWith('.bad') ? 'unknown worker' : true) })
    const t = client(pool.port)
    t.c.start()
    await t.until(() => t.c.ready)
    expect(await t.c.authorize('acct.rig1')).toEqual({ ok: true })
    expect(await t.c.authorize('acct.bad')).toEqual({ ok: false, message: 'unknown worker' })
    expect(t.c.workerAuthorized('acct.rig1')).toBe(true)
    expect(t.c.workerAuthorized('acct.bad')).toBe(false)
  })
})

describe('pure helpers', () => {
  it('computes exponential backoff with ±50 % jitter, capped', () => {
    const t = { backoffInitialMs: 1000, backoffMaxMs: 60_000 }
    expect([1, 2, 3, 4, 7, 8, 100].map((n) => backoffMs(n, t, () => 0.5))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ])
    expect(backoffMs(1, t, () => 0)).toBe(500)
    expect(backoffMs(1, t, () => 0.999)).toBe(1499)
  })

  it('allows client.reconnect like cgminer: same host or same domain only', () => {
    expect(redirectAllowed('eu.stratum.braiins.com', 'us.stratum.braiins.com', 'same-domain')).toBe(true)
    expect(redirectAllowed('eu.stratum.braiins.com', 'evil.example.com', 'same-domain')).toBe(false)
    expect(redirectAllowed('pool.com', 'evil.com', 'same-domain')).toBe(false)
    expect(redirectAllowed('127.0.0.1', '127.0.0.1', 'same-host')).toBe(true)
    expect(redirectAllowed('127.0.0.1', '127.0.0.2', 'same-domain')).toBe(false)
    expect(redirectAllowed('a.pool.com', 'b.pool.com', 'same-host')).toBe(false)
  })
})

describe('testPool (the Test button)', () => {
  const log = memoryLogger()

  it('reports success with what it learned', async () => {
    const pool = await startPool({ extranonce2Size: 4 })
    const r = await testPool({ url: `stratum+tcp://127.0.0.1:${pool.port}`, user: 'acct.w1', logger: log })
    expect(r).toMatchObject({
      ok: true,
      outcome: 'ok',
      hostPort: `127.0.0.1:${pool.port}`,
      extranonce2Size: 4,
      difficulty: 2 ** -24,
      versionMask: 0x1fffe000,
      split: { prefixBytes: 1, downstreamEn2Size: 3, minersPerSession: 50 },
    })
    expect(r.message).toMatch(/^Works: connected, authorized as "acct.w1" and received work/)
  })

  it('works over TLS with the pool’s certificate', async () => {
    const tls = { cert: fixture('stratum/tls-test-cert.pem'), key: fixture('stratum/tls-test-key.pem') }
    const pool = await startPool({ tls })
    const r = await testPool({ url: `stratum+ssl://127.0.0.1:${pool.port}`, user: 'a', logger: log, ca: tls.cert })
    expect(r.outcome).toBe('ok')
    expect(r.tls).toBe(true)
    const untrusted = await testPool({ url: `stratum+ssl://127.0.0.1:${pool.port}`, user: 'a', logger: log })
    expect(untrusted.outcome).toBe('tls')
  })

  it('says the URL is wrong before connecting', async () => {
    const r = await testPool({ url: 'pool.example.com', user: 'a', logger: log })
    expect(r).toMatchObject({ ok: false, outcome: 'bad-url', message: expect.stringMatching(/no port/) })
  })

  it('says DNS failed', async () => {
    const lookup: net.LookupFunction = (hostname, _opts, cb) => {
      const e = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
      process.nextTick(() => cb(e, '', 4))
    }
    const r = await testPool({ url: 'no-such-pool.invalid:3333', user: 'a', logger: log, lookup })
    expect(r).toMatchObject({ ok: false, outcome: 'dns' })
    expect(r.message).toMatch(/could not be found.*no-such-pool\.invalid/)
  })

  it('says the connection was refused', async () => {
    const s = net.createServer()
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    const port = (s.address() as net.AddressInfo).port
    await new Promise<void>((r) => s.close(() => r()))
    const r = await testPool({ url: `127.0.0.1:${port}`, user: 'a', logger: log })
    expect(r).toMatchObject({ ok: false, outcome: 'refused', message: expect.stringMatching(/refused the connection/) })
  })

  it('says the pool did not answer (a port that accepts and stays silent)', async () => {
    const sockets: net.Socket[] = []
    const s = net.createServer((sock) => sockets.push(sock))
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    cleanups.push(() => {
      for (const x of sockets) x.destroy()
      return new Promise<void>((r) => s.close(() => r()))
    })
    const port = (s.address() as net.AddressInfo).port
    const r = await testPool({ url: `127.0.0.1:${port}`, user: 'a', logger: log, timeoutMs: 300 })
    expect(r).toMatchObject({ ok: false, outcome: 'timeout', message: expect.stringMatching(/did not answer/) })
  })

  it('says authorize was refused, with the pool’s reason', async () => {
    const pool = await startPool({ authorize: () => 'Invalid payout address' })
    const r = await testPool({ url: `127.0.0.1:${pool.port}`, user: 'nobody', logger: log })
    expect(r).toMatchObject({ ok: false, outcome: 'authorize-false' })
    expect(r.message).toBe(
      'The pool refused the user "nobody" (Invalid payout address). Check the account name and password.',
    )
  })

  it('says no job came within the wait', async () => {
    // Answers the handshake but never sends work.
    const sockets: net.Socket[] = []
    const s = net.createServer((sock) => {
      sockets.push(sock)
      sock.setEncoding('utf8')
      sock.on('data', (d: string) => {
        for (const line of d.split('\n').filter(Boolean)) {
          const m = JSON.parse(line) as { id: number; method: string }
          const result =
            m.method === 'mining.subscribe'
              ? [[['mining.notify', 'ab']], '01020304', 4]
              : m.method === 'mining.authorize'
                ? true
                : null
          sock.write(`${JSON.stringify({ id: m.id, result, error: result === null ? [20, 'no', null] : null })}\n`)
        }
      })
    })
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
    cleanups.push(() => {
      for (const x of sockets) x.destroy()
      return new Promise<void>((r) => s.close(() => r()))
    })
    const port = (s.address() as net.AddressInfo).port
    const r = await testPool({ url: `127.0.0.1:${port}`, user: 'a', logger: log, jobWaitMs: 200 })
    expect(r).toMatchObject({ ok: false, outcome: 'no-job', versionMask: 0, extranonce2Size: 4 })
    expect(r.message).toMatch(/sent no job within/)
  })

  it('says when a pool’s extranonce2 is too small to proxy', async () => {
    const pool = await startPool({ extranonce2Size: 1 })
    const r = await testPool({ url: `127.0.0.1:${pool.port}`, user: 'a', logger: log })
    expect(r).toMatchObject({ ok: false, outcome: 'unusable', split: { error: expect.stringMatching(/at least 2/) } })
  })
})
