import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/support/temp-dir'
import { AppFailure } from '../../shared/errors'
import { memoryTransportPair } from '../../shared/protocol'
import { RpcClient } from '../../shared/rpc-client'
import { type Core, startCore } from '../entry'
import { memoryLogger } from '../logger'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function boot(
  opts: { coalesceMs?: number; sampleIntervalMs?: number } = {},
): Promise<{ core: Core; client: RpcClient }> {
  const t = tempDir()
  const core = await startCore({
    dataDir: t.dir,
    host: 'test',
    logger: memoryLogger(),
    validateOutputs: true,
    sampleIntervalMs: opts.sampleIntervalMs ?? 50,
    coalesceMs: opts.coalesceMs ?? 20,
  })
  const [serverSide, clientSide] = memoryTransportPair()
  core.rpc.attach(serverSide, { transport: 'memory' })
  const client = new RpcClient(clientSide)
  cleanups.push(
    t.cleanup,
    () => core.close('test end'),
    () => client.close(),
  )
  return { core, client }
}

describe('RpcServer over an in-memory transport', () => {
  it('answers system.status with the core version, data dir and store info', async () => {
    const { client } = await boot()
    const s = await client.call('system.status', {})
    expect(s.app).toBe('hashyard')
    expect(s.store.driver).toBe('better-sqlite3')
    expect(s.store.schemaVersion).toBeGreaterThanOrEqual(1)
    expect(s.secrets.protection).toBe('file-0600')
    expect(s.secrets.warning).toMatch(/unencrypted/)
  })

  it('rejects invalid params with INVALID_PARAMS naming the field', async () => {
    const { client } = await boot()
    const e = await client.call('settings.set', { key: 'ui.theme', value: 'purple' }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(AppFailure)
    expect((e as AppFailure).code).toBe('INVALID_PARAMS')
    expect((e as AppFailure).message).toMatch(/ui\.theme/)
    const e2 = await client.call('system.ping', { echo: 42 } as never).catch((x: unknown) => x)
    expect((e2 as AppFailure).code).toBe('INVALID_PARAMS')
    expect((e2 as AppFailure).message).toMatch(/echo/)
  })

  it('rejects unknown methods and extra keys', async () => {
    const { core } = await boot()
    const r = await core.rpc.invoke('system.explode', {}, { transport: 'memory' })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe('UNKNOWN_METHOD')
    const r2 = await core.rpc.invoke('system.status', { extra: 1 }, { transport: 'memory' })
    expect(r2.ok).toBe(false)
    if (!r2.ok) expect(r2.error.code).toBe('INVALID_PARAMS')
  })

  it('answers a malformed envelope with BAD_REQUEST instead of dropping it', async () => {
    const t = tempDir()
    const core = await startCore({ dataDir: t.dir, host: 'test', logger: memoryLogger(), sampleIntervalMs: 1000 })
    cleanups.push(t.cleanup, () => core.close())
    const [s, c] = memoryTransportPair()
    core.rpc.attach(s, { transport: 'memory' })
    const got: unknown[] = []
    c.onMessage((m) => got.push(m))
    c.send({ t: 'call', id: 7, m: 5 })
    await new Promise((r) => setTimeout(r, 20))
    expect(got).toContainEqual(
      expect.objectContaining({ t: 'err', id: 7, e: expect.objectContaining({ code: 'BAD_REQUEST' }) }),
    )
  })

  it('persists settings and reports them back', async () => {
    const { client } = await boot()
    await client.call('settings.set', { key: 'ui.theme', value: 'dark' })
    const all = await client.call('settings.get', {})
    expect(all['ui.theme']).toBe('dark')
  })

  it('streams system.stream frames, coalesced', async () => {
    const { core, client } = await boot({ coalesceMs: 100, sampleIntervalMs: 10 })
    const frames: unknown[] = []
    // Raw sequence numbers are checked on the wire in test/server/http-server.test.ts.
    client.listen('system.stream', {}, { frame: (f) => frames.push(f) })
    await new Promise((r) => setTimeout(r, 450))
    // About 45 samples were taken; coalescing at 100 ms must deliver far fewer frames.
    expect(frames.length).toBeGreaterThanOrEqual(2)
    expect(frames.length).toBeLessThan(15)
    expect(frames.at(-1)).toMatchObject({ rssBytes: expect.any(Number), connections: 1 })
    expect(core.rpc.connectionCount).toBe(1)
  })

  it('delivers every event of events.stream in order and replays from sinceSeq', async () => {
    const { core, client } = await boot()
    const start = core.events.lastSeq
    core.events.append('info', 'test', 'one')
    core.events.append('warn', 'test', 'two')
    const got: string[] = []
    client.listen('events.stream', { sinceSeq: start }, { frame: (e) => got.push(e.message) })
    await new Promise((r) => setTimeout(r, 20))
    core.events.append('error', 'test', 'three')
    await new Promise((r) => setTimeout(r, 20))
    expect(got).toEqual(['one', 'two', 'three'])
  })

  it('tells an events subscriber to resync when its history is gone from the ring', async () => {
    const { core, client } = await boot()
    for (let i = 0; i < 1100; i++) core.events.append('debug', 'test', `e${i}`)
    const reasons: string[] = []
    client.listen('events.stream', { sinceSeq: 1 }, { frame: () => {}, resync: (r) => reasons.push(r) })
    await new Promise((r) => setTimeout(r, 20))
    expect(reasons[0]).toMatch(/no longer held/)
  })

  it('rejects pending and later calls with CORE_DOWN when the transport closes', async () => {
    const { client } = await boot()
    client.close()
    const e = await client.call('system.ping', {}).catch((x: unknown) => x)
    expect((e as AppFailure).code).toBe('CORE_DOWN')
  })
})
