import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type Core, startCore } from '../../src/core/entry'
import { memoryLogger } from '../../src/core/logger'
import { type RunningHttpServer, startHttpServer } from '../../src/server/http-server'
import { tempDir } from '../support/temp-dir'

const cleanups: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function boot(
  opts: { token?: string; rendererDir?: string } = {},
): Promise<{ core: Core; http: RunningHttpServer }> {
  const t = tempDir()
  const core = await startCore({
    dataDir: t.dir,
    host: 'test',
    logger: memoryLogger(),
    sampleIntervalMs: 50,
    coalesceMs: 20,
  })
  const http = await startHttpServer({
    rpc: core.rpc,
    logger: memoryLogger(),
    host: '127.0.0.1',
    port: 0,
    rendererDir: opts.rendererDir ?? t.dir,
    ...(opts.token ? { token: opts.token } : {}),
    maxBodyBytes: 4096,
  })
  cleanups.push(
    t.cleanup,
    () => core.close(),
    () => http.close(),
  )
  return { core, http }
}

function post(
  port: number,
  path: string,
  body: string,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json: unknown = text
        try {
          json = JSON.parse(text)
        } catch {}
        resolve({ status: res.statusCode ?? 0, json, headers: res.headers })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('HTTP JSON API', () => {
  it('answers POST /api/system.status', async () => {
    const { http } = await boot()
    const r = await post(http.port, '/api/system.status', '{}')
    expect(r.status).toBe(200)
    expect(r.json).toMatchObject({ app: 'hashyard', host: 'test' })
  })

  it('accepts an empty body as {}', async () => {
    const { http } = await boot()
    expect((await post(http.port, '/api/system.ping', '')).status).toBe(200)
  })

  it('gives 400 INVALID_PARAMS with the field named', async () => {
    const { http } = await boot()
    const r = await post(http.port, '/api/settings.set', JSON.stringify({ key: 'ui.theme', value: 7 }))
    expect(r.status).toBe(400)
    expect(r.json).toMatchObject({ error: { code: 'INVALID_PARAMS', message: expect.stringMatching(/ui\.theme/) } })
  })

  it('gives 400 BAD_REQUEST for invalid JSON and for a body over the limit', async () => {
    const { http } = await boot()
    expect((await post(http.port, '/api/system.ping', '{nope')).json).toMatchObject({ error: { code: 'BAD_REQUEST' } })
    const big = await post(http.port, '/api/system.ping', JSON.stringify({ echo: 'x'.repeat(10_000) }))
    expect(big.status).toBe(400)
    expect(big.json).toMatchObject({ error: { message: expect.stringMatching(/larger than 4096/) } })
  })

  it('gives 404 for an unknown method and 405 for GET', async () => {
    const { http } = await boot()
    expect((await post(http.port, '/api/nope.never', '{}')).status).toBe(404)
    expect((await post(http.port, '/api/system.status', '', {}, 'GET')).status).toBe(405)
  })

  it('refuses a foreign Host header (DNS rebinding) and a foreign Origin', async () => {
    const { http } = await boot()
    const h = await post(http.port, '/api/system.status', '{}', { Host: 'evil.example' })
    expect(h.status).toBe(403)
    const o = await post(http.port, '/api/system.status', '{}', { Origin: 'http://evil.example' })
    expect(o.status).toBe(403)
    const same = await post(http.port, '/api/system.status', '{}', { Origin: `http://127.0.0.1:${http.port}` })
    expect(same.status).toBe(200)
  })

  it('requires the token when one is set: 401 without, 200 with Bearer, cookie via the login form', async () => {
    const { http } = await boot({ token: 'T'.repeat(32) })
    const no = await post(http.port, '/api/system.status', '{}')
    expect(no.status).toBe(401)
    expect(no.json).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
    expect((await post(http.port, '/api/system.status', '{}', { Authorization: 'Bearer wrong' })).status).toBe(401)
    expect(
      (await post(http.port, '/api/system.status', '{}', { Authorization: `Bearer ${'T'.repeat(32)}` })).status,
    ).toBe(200)
    const login = await post(http.port, '/login', `token=${'T'.repeat(32)}`, {
      'Content-Type': 'application/x-www-form-urlencoded',
    })
    expect(login.status).toBe(303)
    const cookie = String(login.headers['set-cookie']).split(';')[0] ?? ''
    expect(cookie).toMatch(/^hashyard_token=/)
    expect(String(login.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/)
    expect((await post(http.port, '/api/system.status', '{}', { Cookie: cookie })).status).toBe(200)
    const bad = await post(http.port, '/login', 'token=nope', { 'Content-Type': 'application/x-www-form-urlencoded' })
    expect(bad.headers.location).toBe('/login?failed=1')
  })

  it('serves the UI with a CSP header and refuses path traversal', async () => {
    const t = tempDir()
    cleanups.push(t.cleanup)
    const { writeFileSync } = await import('node:fs')
    writeFileSync(`${t.dir}/index.html`, '<!doctype html><title>x</title>')
    const { http } = await boot({ rendererDir: t.dir })
    const r = await post(http.port, '/', '', {}, 'GET')
    expect(r.status).toBe(200)
    expect(String(r.headers['content-security-policy'])).toMatch(/script-src 'self'/)
    for (const path of ['/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd', '/..%5c..%5cetc/passwd']) {
      const t2 = await post(http.port, path, '', {}, 'GET')
      expect(String(t2.json)).not.toMatch(/root:/)
      expect([200, 400, 404]).toContain(t2.status)
    }
  })
})

const inbox = new WeakMap<WebSocket, Array<Record<string, unknown>>>()

function openWs(port: number, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc`, { headers })
    const box: Array<Record<string, unknown>> = []
    inbox.set(ws, box)
    ws.on('message', (d: WebSocket.RawData) => box.push(JSON.parse(d.toString()) as Record<string, unknown>))
    ws.once('open', () => resolve(ws))
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
    ws.once('error', reject)
  })
}

/** Takes the next n messages from the socket's inbox, waiting for them to arrive. */
async function nextMessages(ws: WebSocket, n: number): Promise<Array<Record<string, unknown>>> {
  const box = inbox.get(ws) ?? []
  while (box.length < n) await new Promise((r) => setTimeout(r, 5))
  return box.splice(0, n)
}

describe('WebSocket transport', () => {
  it('says hello, answers calls and streams live frames with sequence numbers', async () => {
    const { http } = await boot()
    const ws = await openWs(http.port)
    cleanups.push(() => ws.close())
    const first = nextMessages(ws, 1)
    expect((await first)[0]).toMatchObject({ t: 'hello', protocol: 1 })
    const msgs = nextMessages(ws, 4)
    ws.send(JSON.stringify({ t: 'call', id: 1, m: 'system.ping', p: { echo: 'hi' } }))
    ws.send(JSON.stringify({ t: 'sub', id: 2, topic: 'system.stream', p: {} }))
    const got = await msgs
    expect(got).toContainEqual(expect.objectContaining({ t: 'ok', id: 1, v: expect.objectContaining({ echo: 'hi' }) }))
    const frames = got.filter((m) => m.t === 'frame')
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i + 1))
  })

  it('answers garbage with BAD_REQUEST and keeps the connection', async () => {
    const { http } = await boot()
    const ws = await openWs(http.port)
    cleanups.push(() => ws.close())
    await nextMessages(ws, 1)
    const m = nextMessages(ws, 2)
    ws.send('not json at all')
    ws.send(JSON.stringify({ t: 'call', id: 9, m: 'system.ping', p: {} }))
    const got = await m
    expect(got[0]).toMatchObject({ t: 'err', e: { code: 'BAD_REQUEST' } })
    expect(got[1]).toMatchObject({ t: 'ok', id: 9 })
  })

  it('refuses an upgrade from a foreign Origin and without the token', async () => {
    const { http } = await boot()
    await expect(openWs(http.port, { Origin: 'http://evil.example' })).rejects.toThrow(/403/)
    const secured = await boot({ token: 'S'.repeat(32) })
    await expect(openWs(secured.http.port)).rejects.toThrow(/401/)
    const ok = await openWs(secured.http.port, { Cookie: `hashyard_token=${'S'.repeat(32)}` })
    ok.close()
  })
})
