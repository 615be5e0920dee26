import { afterEach, describe, expect, it } from 'vitest'
import {
  type HttpReceiver,
  type HttpReply,
  type ReceivedRequest,
  startHttpReceiver,
} from '../../../../test/support/receivers/http-receiver'
import { tempDir } from '../../../../test/support/temp-dir'
import { memoryLogger } from '../../logger'
import { fileCipher, SecretStore } from '../../secrets/secret-store'
import { MIGRATIONS, migrate } from '../../store/migrations'
import { openDatabase } from '../../store/sqlite'
import { HistoryStore } from '../history/history-store'
import { HEALTH_MIGRATIONS } from '../migrations'
import { AlertEngine } from '../rules/engine'
import { every, replay, testClock } from '../rules/testing/replay'
import type { AlertEvent } from '../rules/types'
import { AlertCenter } from './alert-center'
import { ChannelRepo, channelSecretRef, createChannel, parseChannelConfig } from './config'
import { createDiscordChannel } from './discord'
import { AlertDispatcher } from './dispatcher'
import { buildDailySummary, nextDailyRunMs, summaryFromHistory } from './summary'
import { createTelegramChannel } from './telegram'
import { type AlertChannel, messageFromEvent } from './types'
import {
  createWebhookChannel,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  type WebhookPayload,
} from './webhook'

const T = Date.UTC(2025, 2, 1, 12, 0, 0)
const MIN = 60_000
const TOKEN = '123456789:AAE-test_token_not_real_0123456789'

const cleanups: Array<() => void | Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function receiver(respond?: (r: ReceivedRequest) => HttpReply): Promise<HttpReceiver> {
  const r = await startHttpReceiver(respond)
  cleanups.push(() => r.close())
  return r
}

function db() {
  const t = tempDir()
  const d = openDatabase(`${t.dir}/hashyard.db`)
  cleanups.push(t.cleanup, () => {
    d.close()
  })
  migrate(d, [...MIGRATIONS, ...HEALTH_MIGRATIONS])
  return d
}

const offline: AlertEvent = {
  incidentId: 'inc-1',
  phase: 'fired',
  ruleId: 'default-device-offline',
  ruleType: 'device-offline',
  severity: 'warning',
  subject: { kind: 'device', id: 'AA:BB', name: '@everyone rig-1' },
  tsMs: T,
  title: '@everyone rig-1 is offline',
  message: '@everyone rig-1 has not answered its polls for 5 min.',
  data: { offlineForMs: 5 * MIN },
  channels: null,
  suppressed: false,
}

function must<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message)
  return r.value
}

describe('webhook channel', () => {
  it('POSTs the alert as JSON with an HMAC-SHA256 signature of the exact body and a timestamp', async () => {
    const rx = await receiver()
    const ch = must(
      createWebhookChannel({ id: 'hook', url: `${rx.url}/hooks/hashyard`, secret: 'shh-123', now: () => T + 5 }),
    )
    expect(await ch.send(messageFromEvent(offline))).toEqual({ ok: true, value: undefined })
    const req = rx.requests[0]!
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/hooks/hashyard')
    expect(req.headers['content-type']).toBe('application/json')
    expect(verifyWebhookSignature('shh-123', req.body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(
      true,
    )
    expect(verifyWebhookSignature('other', req.body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string)).toBe(false)
    expect(
      verifyWebhookSignature('shh-123', `${req.body} `, req.headers[SIGNATURE_HEADER.toLowerCase()] as string),
    ).toBe(false)
    expect(req.headers[SIGNATURE_HEADER.toLowerCase()]).toMatch(/^sha256=[0-9a-f]{64}$/)
    expect(req.headers[TIMESTAMP_HEADER.toLowerCase()]).toBe(String(T + 5))
    const body = JSON.parse(req.body) as WebhookPayload
    expect(body).toMatchObject({
      source: 'hashyard',
      type: 'alert',
      sentAtMs: T + 5,
      title: 'Alert: @everyone rig-1 is offline',
      severity: 'warning',
      event: { incidentId: 'inc-1', phase: 'fired', ruleType: 'device-offline', subject: { id: 'AA:BB' } },
      summary: null,
    })
  })

  it('sends a test message, and reports a non-2xx answer as an error value', async () => {
    const rx = await receiver((r) => (r.path === '/broken' ? { status: 500, body: 'oops' } : {}))
    const good = must(createWebhookChannel({ id: 'h', url: `${rx.url}/ok`, now: () => T }))
    expect((await good.sendTest()).ok).toBe(true)
    expect(JSON.parse(rx.requests[0]!.body)).toMatchObject({ type: 'test', title: 'Hashyard test message' })
    expect(rx.requests[0]!.headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined() // no secret, no signature
    const bad = must(createWebhookChannel({ id: 'h', url: `${rx.url}/broken`, now: () => T }))
    expect(await bad.sendTest()).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE', message: 'webhook answered HTTP 500: oops' },
    })
    expect(createWebhookChannel({ id: 'h', url: 'file:///etc/passwd', now: () => T }).ok).toBe(false)
  })
})

describe('Telegram channel', () => {
  it('calls sendMessage under bot<token> with the chat id and plain text', async () => {
    const rx = await receiver(() => ({ body: '{"ok":true,"result":{"message_id":1}}' }))
    const ch = must(
      createTelegramChannel({ id: 'tg', botToken: TOKEN, chatId: '-1001234567890', apiBase: rx.url, now: () => T }),
    )
    expect(await ch.send(messageFromEvent(offline))).toEqual({ ok: true, value: undefined })
    const req = rx.requests[0]!
    expect(req.method).toBe('POST')
    expect(req.path).toBe(`/bot${TOKEN}/sendMessage`)
    expect(JSON.parse(req.body)).toEqual({
      chat_id: '-1001234567890',
      text: 'Alert: @everyone rig-1 is offline\n\n@everyone rig-1 has not answered its polls for 5 min.',
      disable_web_page_preview: true,
    })
    expect(JSON.parse(req.body)).not.toHaveProperty('parse_mode')
  })

  it("reports Telegram's own description on failure, without the token", async () => {
    const rx = await receiver(() => ({
      status: 401,
      body: '{"ok":false,"error_code":401,"description":"Unauthorized"}',
    }))
    const ch = must(createTelegramChannel({ id: 'tg', botToken: TOKEN, chatId: '42', apiBase: rx.url, now: () => T }))
    const r = await ch.sendTest()
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED', message: 'Telegram refused the message: Unauthorized' },
    })
    const dead = must(
      createTelegramChannel({ id: 'tg', botToken: TOKEN, chatId: '42', apiBase: 'http://127.0.0.1:1', now: () => T }),
    )
    const r2 = await dead.sendTest()
    expect(r2.ok).toBe(false)
    expect(JSON.stringify(r2)).not.toContain(TOKEN.split(':')[1])
    expect(createTelegramChannel({ id: 'tg', botToken: 'nope', chatId: '42', now: () => T }).ok).toBe(false)
  })
})

describe('Discord channel', () => {
  it('posts content plus an embed and never lets a device name ping anyone', async () => {
    const rx = await receiver(() => ({ status: 204 }))
    const ch = must(
      createDiscordChannel({ id: 'dc', webhookUrl: `${rx.url}/api/webhooks/1/secret-token`, now: () => T }),
    )
    expect(await ch.send(messageFromEvent(offline))).toEqual({ ok: true, value: undefined })
    const req = rx.requests[0]!
    expect(req.path).toBe('/api/webhooks/1/secret-token')
    expect(JSON.parse(req.body)).toEqual({
      username: 'Hashyard',
      content: 'Alert: @everyone rig-1 is offline',
      embeds: [
        {
          title: 'Alert: @everyone rig-1 is offline',
          description: '@everyone rig-1 has not answered its polls for 5 min.',
          color: 0xf0a500,
          timestamp: '2025-03-01T12:00:00.000Z',
          footer: { text: 'Hashyard' },
        },
      ],
      allowed_mentions: { parse: [] },
    })
  })

  it('explains a rate-limited answer', async () => {
    const rx = await receiver(() => ({
      status: 429,
      body: '{"message":"You are being rate limited.","retry_after":1.5}',
    }))
    const ch = must(createDiscordChannel({ id: 'dc', webhookUrl: `${rx.url}/api/webhooks/1/x`, now: () => T }))
    expect(await ch.sendTest()).toMatchObject({
      ok: false,
      error: { message: 'Discord refused the message: HTTP 429: You are being rate limited. (retry after 1.5 s)' },
    })
  })
})

describe('alert centre and dispatcher', () => {
  it('records, recovers and acknowledges incidents, and hands open ones to a restarted engine', () => {
    let now = T
    const center = new AlertCenter(db(), () => now)
    const seen: string[] = []
    center.onChange((r) => seen.push(`${r.id}:${r.recoveredAtMs === null ? 'open' : 'done'}`))
    center.record(offline)
    center.record({ ...offline, incidentId: 'inc-2', subject: { kind: 'device', id: 'CC', name: 'rig-2' } })
    center.record({
      ...offline,
      incidentId: 'inc-1',
      phase: 'recovered',
      tsMs: T + 7 * MIN,
      title: 'rig-1 is back online',
      message: 'Answers again.',
    })
    expect(center.get('inc-1')).toMatchObject({
      recoveredAtMs: T + 7 * MIN,
      recoveryMessage: 'rig-1 is back online. Answers again.',
    })
    expect(center.openIncidents()).toEqual([
      { incidentId: 'inc-2', ruleId: 'default-device-offline', subject: { kind: 'device', id: 'CC' }, firedAtMs: T },
    ])
    expect(center.counts()).toEqual({ open: 1, unacknowledged: 2 })
    now = T + 10 * MIN
    expect(must(center.acknowledge('inc-2')).ackedAtMs).toBe(T + 10 * MIN)
    expect(center.acknowledge('nope').ok).toBe(false)
    expect(center.list({ unacknowledgedOnly: true }).map((r) => r.id)).toEqual(['inc-1'])
    expect(center.list({ openOnly: true }).map((r) => r.id)).toEqual(['inc-2'])
    expect(center.acknowledgeAll()).toBe(1)
    expect(seen).toEqual(['inc-1:open', 'inc-2:open', 'inc-1:done', 'inc-2:open'])
  })

  it('delivers to the channels a rule names, within each channel limit, and says how many were held back', async () => {
    const rx = await receiver()
    const log = memoryLogger()
    const clock = testClock(T)
    const center = new AlertCenter(db(), clock.now)
    const hook = must(createWebhookChannel({ id: 'hook', url: `${rx.url}/a`, now: clock.now }))
    const other = must(createWebhookChannel({ id: 'other', url: `${rx.url}/b`, now: clock.now }))
    const d = new AlertDispatcher({
      center,
      channels: () => [hook, other],
      now: clock.now,
      logger: log,
      perChannelLimit: { max: 2, windowMs: 60 * MIN },
    })
    const ev = (i: number, extra: Partial<AlertEvent> = {}): AlertEvent => ({
      ...offline,
      incidentId: `i${i}`,
      channels: ['hook'],
      ...extra,
    })
    const out = await d.dispatch([ev(1), ev(2), ev(3), ev(4), ev(5, { suppressed: true }), ev(6, { phase: 'closed' })])
    expect(out.map((x) => [x.ref, x.ok, x.heldBack ?? false])).toEqual([
      ['i1', true, false],
      ['i2', true, false],
      ['i3', false, true],
      ['i4', false, true],
    ])
    expect(rx.requests.map((r) => r.path)).toEqual(['/a', '/a'])
    expect(center.list().map((r) => r.id)).toEqual(['i5', 'i4', 'i3', 'i2', 'i1']) // held back and suppressed ones too
    expect(
      log.records.filter((r) => r.msg === 'alert channel over its rate limit: holding messages back'),
    ).toHaveLength(1)
    // A found block is never held back; the next message carries the count.
    clock.set(T + 61 * MIN)
    await d.dispatch([ev(7, { ruleType: 'block-found', phase: 'event', channels: null })])
    const last = JSON.parse(rx.requests.filter((r) => r.path === '/a').at(-1)!.body) as WebhookPayload
    expect(last.text).toContain("(2 earlier alerts were held back by the rate limit: see Hashyard's alert centre.)")
    expect(rx.requests.filter((r) => r.path === '/b')).toHaveLength(1)
  })

  it('logs a failed delivery without secrets', async () => {
    const log = memoryLogger()
    const center = new AlertCenter(db(), () => T)
    const tg = must(
      createTelegramChannel({ id: 'tg', botToken: TOKEN, chatId: '1', apiBase: 'http://127.0.0.1:1', now: () => T }),
    )
    const out = await new AlertDispatcher({ center, channels: () => [tg], now: () => T, logger: log }).dispatch([
      offline,
    ])
    expect(out[0]).toMatchObject({ channelId: 'tg', ok: false, error: { code: 'UNAVAILABLE' } })
    const line = log.records.find((r) => r.msg === 'alert delivery failed')
    expect(line?.fields).toMatchObject({ channel: 'tg', kind: 'telegram' })
    expect(JSON.stringify(log.records)).not.toContain(TOKEN)
  })

  it('the in-app channel has a working test action too', async () => {
    const center = new AlertCenter(db(), () => T)
    const ch: AlertChannel = center.asChannel()
    expect(await ch.sendTest()).toEqual({ ok: true, value: undefined })
    expect(center.list()[0]).toMatchObject({ ruleType: 'test', title: 'Hashyard test message', instant: true })
  })

  it('from telemetry to a phone: an engine event reaches Telegram through the dispatcher', async () => {
    const rx = await receiver(() => ({ body: '{"ok":true}' }))
    const clock = testClock(T)
    const engine = new AlertEngine({
      now: clock.now,
      rules: [
        {
          id: 'off',
          type: 'device-offline',
          forMs: 5 * MIN,
          enabled: true,
          scope: { kind: 'farm' },
          severity: 'warning',
        },
      ],
    })
    const events = replay(
      engine,
      clock,
      every(15_000, T, T + 10 * MIN, (t) => [
        { kind: 'device', tsMs: t, deviceId: 'rig-9', name: 'rig-9', reachable: t < T + 2 * MIN },
      ]),
    )
    const tg = must(createTelegramChannel({ id: 'tg', botToken: TOKEN, chatId: '7', apiBase: rx.url, now: clock.now }))
    const center = new AlertCenter(db(), clock.now)
    await new AlertDispatcher({ center, channels: () => [tg], now: clock.now, logger: memoryLogger() }).dispatch(events)
    expect(rx.requests.map((r) => (JSON.parse(r.body) as { text: string }).text)).toEqual([
      'Alert: rig-9 is offline\n\nrig-9 has not answered its polls for 5 min.',
    ])
  })
})

describe('daily summary', () => {
  it('builds the message from history and the caller’s figures', () => {
    const d = db()
    const now = T + 24 * 60 * MIN
    const h = must(HistoryStore.open({ db: d, now: () => now, logger: memoryLogger() }))
    cleanups.push(() => h.close())
    for (let t = T; t < now; t += 15 * MIN) {
      for (const [id, hr] of [
        ['a', 1.0],
        ['b', 1.2],
      ] as const) {
        h.record({ entity: { kind: 'device', id }, metric: 'hashrate_reported_ths', value: hr, tsMs: t })
        h.record({
          entity: { kind: 'device', id },
          metric: 'reachable',
          value: id === 'b' && t >= T + 18 * 60 * MIN ? 0 : 1,
          tsMs: t,
        })
        h.record({ entity: { kind: 'device', id }, metric: 'shares_accepted', value: 100, tsMs: t })
        h.record({ entity: { kind: 'device', id }, metric: 'shares_rejected:duplicate', value: 1, tsMs: t })
        h.record({ entity: { kind: 'device', id }, metric: 'shares_stale', value: 2, tsMs: t })
      }
    }
    const fig = summaryFromHistory(h, ['a', 'b'], T, now)
    expect(fig.hashrateAvgThs).toBeCloseTo(2.2, 9)
    expect(fig.uptimePct).toBeCloseTo(87.5, 9) // b was down for the last 6 of 24 hours
    expect([fig.sharesAccepted, fig.sharesRejected, fig.sharesStale]).toEqual([19_200, 192, 384])
    const msg = buildDailySummary({
      ...fig,
      fromMs: T,
      toMs: now,
      devicesTotal: 2,
      devicesOnline: 1,
      bestShareDifficulty: 1_234_567_890,
      blocksFound: 0,
      attention: [{ name: 'b', reason: 'offline for 6 h' }],
    })
    expect(msg.title).toBe('Hashyard daily summary, 2025-03-02 (24 h)')
    expect(msg.text).toBe(
      [
        'Hashrate: 2.20 TH/s average',
        'Devices: 1 of 2 online, uptime 88 %',
        'Shares: 19,200 accepted, 192 rejected (1.0 %), 384 stale (1.9 %)',
        'Best share: 1.23 G',
        'Blocks found: 0',
        'Needs attention:',
        '- b: offline for 6 h',
      ].join('\n'),
    )
    expect(msg.severity).toBe('warning')
  })

  it('is due next at the chosen local time', () => {
    const base = new Date(2025, 2, 1, 7, 30).getTime()
    expect(nextDailyRunMs(base, { hour: 8, minute: 0 })).toBe(new Date(2025, 2, 1, 8, 0).getTime())
    expect(nextDailyRunMs(base, { hour: 7, minute: 30 })).toBe(new Date(2025, 2, 2, 7, 30).getTime())
  })
})

describe('channel settings and secrets', () => {
  it('stores settings without secrets and builds a live channel with secrets from the SecretStore', async () => {
    const d = db()
    const secrets = new SecretStore(d, fileCipher)
    const repo = new ChannelRepo(d, () => T)
    const rx = await receiver()
    const saved = repo.save({ id: 'hook', name: 'Home Assistant', kind: 'webhook', enabled: true, url: `${rx.url}/ha` })
    expect(saved.ok).toBe(true)
    expect(
      repo.save({
        id: 'x',
        name: 'bad',
        kind: 'email',
        enabled: true,
        host: 'h',
        port: 0,
        security: 'none',
        from: 'a@b.c',
        to: [],
      }),
    ).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } })
    await secrets.put(channelSecretRef('hook', 'secret'), 'from-the-store')
    const [config] = repo.list()
    expect(config).toEqual({
      id: 'hook',
      name: 'Home Assistant',
      kind: 'webhook',
      enabled: true,
      dailySummary: false,
      url: `${rx.url}/ha`,
    })
    expect(JSON.stringify(config)).not.toContain('from-the-store')
    const ch = must(await createChannel(config!, secrets, () => T))
    expect((await ch.sendTest()).ok).toBe(true)
    const req = rx.requests[0]!
    expect(verifyWebhookSignature('from-the-store', req.body, req.headers['x-hashyard-signature'] as string)).toBe(true)

    const tg = must(parseChannelConfig({ id: 'tg', name: 'Phone', kind: 'telegram', enabled: true, chatId: '42' }))
    expect(await createChannel(tg, secrets, () => T)).toMatchObject({
      ok: false,
      error: { message: 'Phone: the botToken is not set' },
    })
    expect(repo.delete('hook')).toBe(true)
    expect(repo.list()).toEqual([])
  })
})
