/**
 * Fleet health end to end: the real core (store, secrets, RpcServer) with the devices and health
 * modules over an in-memory transport, a simulated AxeOS device on 127.0.9.2, a webhook receiver
 * and the `/metrics` listener on loopback.
 */
import http from 'node:http'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AxeosSim, startAxeosSim } from '../../../test/support/sim-devices/axeos-sim'
import { fixtureText } from '../../../test/support/sim-devices/fixtures'
import { tempDir } from '../../../test/support/temp-dir'
import type { AlertFrame } from '../../shared/contract/health'
import type { AppFailure } from '../../shared/errors'
import { memoryTransportPair } from '../../shared/protocol'
import { RpcClient } from '../../shared/rpc-client'
import { createDevicesModule, devicesService } from '../devices/module'
import { type Core, startCore } from '../entry'
import { memoryLogger } from '../logger'
import { verifyWebhookSignature, type WebhookPayload } from './channels/webhook'
import { parsePrometheusText } from './metrics/testing/prom-text-parser'
import { createHealthModule } from './module'

async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((res) => srv.listen(0, host, res))
  const addr = srv.address()
  await new Promise<void>((res) => srv.close(() => res()))
  return typeof addr === 'object' && addr ? addr.port : 0
}

const SIM_IP = '127.0.9.2'
const WEBHOOK_SECRET = 'whsec-health-do-not-leak-4711'
const info = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')
const asic = fixtureText('bitaxe/axeos_system_asic_gamma.json')

interface Received {
  body: string
  payload: WebhookPayload
  signature: string | undefined
}

let core: Core
let client: RpcClient
let logger: ReturnType<typeof memoryLogger>
let cleanupDir: () => void
let simPort = 0
let sim: AxeosSim
let receiver: http.Server
let receiverUrl = ''
const received: Received[] = []
const waiters: Array<() => void> = []
const frames: AlertFrame[] = []
let offStream: () => void = () => {}

/** Resolves once `check` holds, re-checked on every webhook delivery and alert frame. */
function until(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const test = () => {
      if (!check()) return false
      resolve()
      return true
    }
    if (test()) return
    const w = () => {
      if (!test()) waiters.push(w)
    }
    waiters.push(w)
  })
}
const wake = () => {
  for (const w of waiters.splice(0)) w()
}

beforeAll(async () => {
  simPort = await freePort(SIM_IP)
  sim = await startAxeosSim({ info, asic, listen: { host: SIM_IP, port: simPort } })
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const sig = req.headers['x-hashyard-signature']
      received.push({
        body,
        payload: JSON.parse(body) as WebhookPayload,
        signature: typeof sig === 'string' ? sig : undefined,
      })
      res.writeHead(204).end()
      wake()
    })
  })
  await new Promise<void>((res) => receiver.listen(0, '127.0.0.1', res))
  const a = receiver.address()
  receiverUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`

  const t = tempDir()
  cleanupDir = t.cleanup
  logger = memoryLogger()
  core = await startCore({
    dataDir: t.dir,
    host: 'test',
    logger,
    validateOutputs: true,
    sampleIntervalMs: 1000,
    coalesceMs: 10,
    modules: [
      createDevicesModule({
        poll: { enabled: false, offlineAfterFailures: 1 },
        scan: { connectTimeoutMs: 500, identifyTimeoutMs: 1500, concurrency: 4 },
        deviceTimeoutMs: 1500,
      }),
      createHealthModule({ tickMs: 20, sharesEveryMs: 60_000, history: { flushIntervalMs: 50 } }),
    ],
  })
  const [s, c] = memoryTransportPair()
  core.rpc.attach(s, { transport: 'memory' })
  client = new RpcClient(c)
  offStream = client.listen(
    'alerts.stream',
    {},
    {
      frame: (f) => {
        frames.push(f)
        wake()
      },
    },
  )
})

afterAll(async () => {
  offStream()
  client.close()
  await core.close('test end')
  cleanupDir()
  await sim.close()
  await new Promise<void>((res) => receiver.close(() => res()))
})

let deviceId = ''

async function scanSim(): Promise<string> {
  const done = new Promise<void>((resolve) => {
    const off = client.listen(
      'scan.stream',
      {},
      {
        frame: (f) => {
          if (f.type === 'finished') {
            off()
            resolve()
          }
        },
      },
    )
  })
  await client.call('scan.start', { ranges: SIM_IP, ports: [{ port: simPort, role: 'http' }] })
  await done
  const { devices } = await client.call('devices.list', {})
  const d = devices.find((x) => x.ip === SIM_IP)
  if (!d) throw new Error('the simulated device was not identified')
  return d.id
}

const pollNow = async () => {
  const svc = devicesService()
  if (!svc) throw new Error('devices module not running')
  await svc.poller.pollNow()
}

describe('fleet health through the API', () => {
  it('records every poll into history, readable as a series and as CSV', async () => {
    deviceId = await scanSim()
    await pollNow()
    const t = Date.now()
    const q = {
      entity: { kind: 'device' as const, id: deviceId },
      metric: 'hashrate_reported_ths',
      fromMs: t - 3_600_000,
      toMs: t + 60_000,
      resolutionMs: 10_000,
    }
    const series = await client.call('history.series', q)
    expect(series.kind).toBe('gauge')
    expect(series.unit).toBe('TH/s')
    expect(series.points.length).toBe(1)
    const device = await client.call('devices.get', { id: deviceId })
    expect(series.points[0]?.value).toBeCloseTo(device.status?.hashrateThs ?? Number.NaN, 9)

    const temp = await client.call('history.series', { ...q, metric: 'temp_max_c' })
    expect(temp.points[0]?.max).toBeGreaterThan(0)
    const reach = await client.call('history.series', { ...q, metric: 'reachable' })
    expect(reach.points.map((p) => p.value)).toEqual([1])

    const csv = await client.call('history.csv', q)
    const lines = csv.csv.trimEnd().split('\r\n')
    expect(lines[0]).toMatch(/^time_utc,ts_ms,entity_kind,entity_id,metric,resolution_ms/)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toContain(`device,${deviceId},hashrate_reported_ths,10000`)
    expect(csv.filename).toMatch(/^hashyard-device-.*-hashrate_reported_ths-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/)

    const listed = await client.call('history.listSeries', { entity: { kind: 'device', id: deviceId } })
    expect(listed.series.map((s) => s.metric)).toEqual(
      expect.arrayContaining(['reachable', 'hashrate_reported_ths', 'temp_max_c', 'fan_rpm', 'power_w']),
    )
  })

  it('refuses a bad series query with a clear error, not a crash', async () => {
    const bad = await client
      .call('history.series', {
        entity: { kind: 'device', id: deviceId },
        metric: 'no_such_metric',
        fromMs: 0,
        toMs: 1000,
        resolutionMs: 1000,
      })
      .catch((e: AppFailure) => e)
    expect((bad as AppFailure).code).toBe('INVALID_PARAMS')
    expect((bad as AppFailure).message).toMatch(/unknown metric/)
  })

  it('saves a webhook channel with a write-only secret, and "Send test" reaches the receiver signed', async () => {
    const saved = await client.call('alertChannels.save', {
      channel: { kind: 'webhook', name: 'Loopback hook', enabled: true, url: receiverUrl },
      secrets: { secret: WEBHOOK_SECRET },
    })
    expect(saved.channel.hasSecret).toEqual({ secret: true })
    expect(JSON.stringify(saved)).not.toContain(WEBHOOK_SECRET)
    const test = await client.call('alertChannels.test', { id: saved.channel.id })
    expect(test).toEqual({ ok: true, message: expect.stringMatching(/^Test message delivered/) })
    const got = received.find((r) => r.payload.type === 'test')
    expect(got).toBeDefined()
    expect(verifyWebhookSignature(WEBHOOK_SECRET, got!.body, got!.signature)).toBe(true)

    const listed = await client.call('alertChannels.list', {})
    expect(listed.channels).toHaveLength(1)
    expect(JSON.stringify(listed)).not.toContain(WEBHOOK_SECRET)

    // A receiver that refuses: the owner reads its answer in plain words.
    const refused = await client.call('alertChannels.save', {
      channel: {
        kind: 'webhook',
        name: 'Wrong path',
        enabled: false,
        url: `${receiverUrl.replace('/hook', '')}/missing`,
      },
    })
    const closed = await freePort()
    await client.call('alertChannels.save', {
      channel: {
        id: refused.channel.id,
        kind: 'webhook',
        name: 'Nobody home',
        enabled: false,
        url: `http://127.0.0.1:${closed}/hook`,
      },
    })
    const failed = await client.call('alertChannels.test', { id: refused.channel.id })
    expect(failed.ok).toBe(false)
    expect(failed.message).toMatch(/^Not delivered: could not reach 127\.0\.0\.1/)
    expect((await client.call('alertChannels.delete', { id: refused.channel.id })).deleted).toBe(true)
  })

  it('fires one offline alert after the debounce, delivers it, and recovers once when the device returns', async () => {
    const rules = await client.call('alertRules.list', {})
    const offline = rules.rules.find((r) => r.id === 'default-device-offline')
    expect(offline).toMatchObject({ type: 'device-offline', enabled: true, scope: { kind: 'farm' } })
    // Shortened debounce for the test; the default is 5 minutes.
    await client.call('alertRules.save', {
      rule: {
        id: 'default-device-offline',
        type: 'device-offline',
        forMs: 150,
        enabled: true,
        scope: { kind: 'farm' },
        severity: 'warning',
      },
    })

    await sim.close()
    const firstFailureAt = Date.now()
    await pollNow()
    expect((await client.call('devices.get', { id: deviceId })).online).toBe(false)
    await until(() => frames.some((f) => f.change === 'fired' && f.alert?.ruleType === 'device-offline'))
    const fired = frames.find((f) => f.change === 'fired')!
    expect(fired.notify).toBe(true)
    expect(fired.alert?.subject).toMatchObject({ kind: 'device', id: deviceId })
    // Debounced: not before the rule's 150 ms had passed since the failed poll was observed.
    expect(fired.alert!.firedAtMs - firstFailureAt).toBeGreaterThanOrEqual(150)
    const open = await client.call('alerts.list', { openOnly: true })
    expect(open.alerts.map((a) => a.id)).toEqual([fired.alert!.id])
    expect(open.counts).toMatchObject({ open: 1, openBySeverity: { warning: 1 } })
    await until(() => received.some((r) => r.payload.event?.phase === 'fired'))
    const hook = received.find((r) => r.payload.event?.phase === 'fired')!
    expect(hook.payload).toMatchObject({ source: 'hashyard', type: 'alert', severity: 'warning' })
    expect(hook.payload.event).toMatchObject({ ruleType: 'device-offline', subject: { id: deviceId } })
    expect(verifyWebhookSignature(WEBHOOK_SECRET, hook.body, hook.signature)).toBe(true)

    // Still offline on the next polls: no second alert.
    await pollNow()
    sim = await startAxeosSim({ info, asic, listen: { host: SIM_IP, port: simPort } })
    await pollNow()
    expect((await client.call('devices.get', { id: deviceId })).online).toBe(true)
    await until(() => frames.some((f) => f.change === 'recovered'))
    await pollNow()
    await pollNow()
    // A marker behind any duplicate on the channel's ordered queue.
    const saved = (await client.call('alertChannels.list', {})).channels[0]!
    expect((await client.call('alertChannels.test', { id: saved.id })).ok).toBe(true)
    const phases = received.filter((r) => r.payload.type === 'alert').map((r) => r.payload.event?.phase)
    expect(phases).toEqual(['fired', 'recovered'])
    expect(frames.filter((f) => f.change === 'fired' || f.change === 'recovered').map((f) => f.change)).toEqual([
      'fired',
      'recovered',
    ])
    const all = await client.call('alerts.list', {})
    const rec = all.alerts.find((a) => a.id === fired.alert!.id)!
    expect(rec.recoveredAtMs).not.toBeNull()
    expect(all.counts.open).toBe(0)

    const ack = await client.call('alerts.acknowledgeAll', {})
    expect(ack.acknowledged).toBeGreaterThanOrEqual(1)
    expect((await client.call('alerts.list', { unacknowledgedOnly: true })).alerts).toEqual([])
  })

  it('keeps the channel secret out of every log line and every alert record', async () => {
    const logs = JSON.stringify(logger.records)
    expect(logs).not.toContain(WEBHOOK_SECRET)
    const alerts = await client.call('alerts.list', {})
    expect(JSON.stringify(alerts)).not.toContain(WEBHOOK_SECRET)
    for (const r of received) expect(r.body).not.toContain(WEBHOOK_SECRET)
  })

  it('serves /metrics only once enabled, on loopback, with the device series', async () => {
    const off = await client.call('metrics.getSettings', {})
    expect(off).toMatchObject({ enabled: false, listening: false, host: '127.0.0.1', port: 9464, hasToken: false })
    const port = await freePort()
    const on = await client.call('metrics.setSettings', { enabled: true, port })
    expect(on.settings).toMatchObject({ enabled: true, listening: true, url: `http://127.0.0.1:${port}/metrics` })
    expect(on.token).toBeUndefined()
    const status = await client.call('system.status', {})
    expect(status.ports).toContainEqual({ name: 'Prometheus metrics', protocol: 'metrics', host: '127.0.0.1', port })

    const res = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const families = parsePrometheusText(await res.text())
    const up = families.get('hashyard_device_up')
    expect(up?.samples).toContainEqual(expect.objectContaining({ labels: { device: deviceId }, value: 1 }))
    const hr = families.get('hashyard_device_hashrate_hashes_per_second')
    const device = await client.call('devices.get', { id: deviceId })
    const reported = hr?.samples.find((s) => s.labels.device === deviceId && s.labels.source === 'reported')
    expect(reported?.value).toBeCloseTo((device.status?.hashrateThs ?? 0) * 1e12, -3)
    expect(families.get('hashyard_device_temperature_max_celsius')?.samples[0]?.labels).toEqual({ device: deviceId })
    expect(families.get('hashyard_alerts_open')?.samples).toHaveLength(3)
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404)

    // A token, when made, is shown once and then only as hasToken.
    const regen = await client.call('metrics.setSettings', { regenerateToken: true })
    expect(regen.token).toMatch(/^[A-Za-z0-9_-]{32}$/)
    const after = await client.call('metrics.getSettings', {})
    expect(after.hasToken).toBe(true)
    expect(JSON.stringify(after)).not.toContain(regen.token!)
    expect(JSON.stringify(logger.records)).not.toContain(regen.token!)

    const disabled = await client.call('metrics.setSettings', { enabled: false })
    expect(disabled.settings.listening).toBe(false)
    const refused = await fetch(`http://127.0.0.1:${port}/metrics`).catch((e: Error) => e)
    expect(refused).toBeInstanceOf(Error)
  })

  it('edits rules with validation, and resets them to the defaults', async () => {
    const bad = await client
      .call('alertRules.save', {
        rule: {
          type: 'temp-high',
          aboveC: 500,
          forMs: 0,
          enabled: true,
          scope: { kind: 'farm' },
          severity: 'critical',
        },
      })
      .catch((e: AppFailure) => e)
    expect((bad as AppFailure).code).toBe('INVALID_PARAMS')
    const made = await client.call('alertRules.save', {
      rule: {
        type: 'temp-high',
        aboveC: 70,
        forMs: 60_000,
        enabled: true,
        scope: { kind: 'tag', tag: 'bitaxe' },
        severity: 'warning',
      },
    })
    expect(made.rule.id).toMatch(/^rule-[0-9a-f]{10}$/)
    expect((await client.call('alertRules.delete', { id: made.rule.id })).deleted).toBe(true)
    expect((await client.call('alertRules.delete', { id: made.rule.id })).deleted).toBe(false)
    const reset = await client.call('alertRules.reset', {})
    expect(reset.rules.find((r) => r.id === 'default-device-offline')).toMatchObject({ forMs: 300_000 })
  })

  it('previews the daily summary and schedules it when turned on', async () => {
    const preview = await client.call('healthSummary.preview', {})
    expect(preview.title).toMatch(/^Hashyard daily summary/)
    expect(preview.text).toMatch(/Devices: 1 of 1 online/)
    const s = await client.call('healthSummary.setSettings', { enabled: true, hour: 7, minute: 30 })
    expect(s.nextRunAtMs).toBeGreaterThan(Date.now())
    expect(new Date(s.nextRunAtMs!).getHours()).toBe(7)
    expect(s.channelIds).toEqual([])
  })

  it('shows a test in the alert centre as a notifying frame', async () => {
    const r = await client.call('alertChannels.test', { id: 'in-app' })
    expect(r.ok).toBe(true)
    await until(() => frames.some((f) => f.change === 'test'))
    expect(frames.find((f) => f.change === 'test')).toMatchObject({ notify: true, alert: { ruleType: 'test' } })
  })
})
