/**
 * mDNS discovery. Pure parts are tested directly; the browser is tested against a real responder,
 * both running inside a network namespace this test creates, whose only interface is loopback:
 * no multicast leaves the machine. Skipped (with the reason) where `ip netns` is not allowed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HOSTILE_HOST, HOSTILE_INSTANCE, PLAIN_INSTANCE } from '../../../test/support/sim-devices/mdns-names'
import type { Device } from '../../shared/contract/devices'
import { hasUnsafeChars } from '../devices/untrusted-text'
import type { LogRecord } from '../logger'
import {
  classifyMdnsService,
  isProbeableAddress,
  MDNS_TEXT_MAX,
  type MdnsHit,
  type MdnsService,
  targetAddress,
  toMdnsService,
} from './mdns'

const svc = (over: Partial<MdnsService>): MdnsService => ({
  name: 'x',
  host: 'x.local',
  port: 80,
  addresses: [],
  from: '192.168.1.20',
  subtypes: [],
  txt: {},
  ...over,
})

describe('mDNS service classification (pure)', () => {
  it('recognises AxeOS by subtype, by the asic TXT key and by instance name', () => {
    expect(classifyMdnsService(svc({ subtypes: ['axeos'] }))).toEqual({ hint: 'axeos', by: 'axeos-subtype' })
    expect(classifyMdnsService(svc({ txt: { asic: 'BM1370' } }))).toEqual({ hint: 'axeos', by: 'txt-asic' })
    expect(classifyMdnsService(svc({ name: 'Bitaxe Gamma 601 (A1B2)' }))).toEqual({
      hint: 'axeos',
      by: 'instance-name',
    })
    expect(classifyMdnsService(svc({ name: 'NerdQAxe++' }))?.hint).toBe('nerdqaxe')
  })

  it('uses vendor host names as a weak hint and ignores everything else', () => {
    expect(classifyMdnsService(svc({ name: 'Garage', host: 'antminer-s19.local' }))).toEqual({
      hint: 'antminer',
      by: 'hostname',
    })
    expect(classifyMdnsService(svc({ host: 'WhatsMiner.local' }))?.hint).toBe('whatsminer')
    expect(classifyMdnsService(svc({ name: 'Office Printer', host: 'printer.local' }))).toBeUndefined()
    expect(classifyMdnsService(svc({ name: 'my-antminer-notes', host: 'nas.local' }))).toBeUndefined()
  })

  it('caps hostile text, keeps it verbatim otherwise, and rejects unusable records', () => {
    const long = `<img src=x onerror=alert(1)>\u001b[2J\r\n${'A'.repeat(10_000)}`
    const s = toMdnsService({
      name: long,
      host: long,
      port: 80,
      txt: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`K${i}`, long])),
      subtypes: ['AXEOS'],
      referer: { address: '192.168.1.9' },
    })
    if (!s) throw new Error('expected a service')
    expect(s.name).toBe(long.slice(0, MDNS_TEXT_MAX))
    expect(s.name.startsWith('<img src=x onerror=alert(1)>\u001b[2J\r\n')).toBe(true)
    expect(Object.keys(s.txt)).toHaveLength(16)
    expect(s.txt.k0?.length).toBe(MDNS_TEXT_MAX)
    expect(s.subtypes).toEqual(['axeos'])
    expect(toMdnsService({ name: 'x', port: 0 })).toBeUndefined()
    expect(toMdnsService({ name: 'x', port: 70_000 })).toBeUndefined()
    expect(toMdnsService(null)).toBeUndefined()
    expect(toMdnsService('bitaxe')).toBeUndefined()
  })

  it('probes only private or loopback IPv4, preferring where the answer came from', () => {
    expect(targetAddress(svc({ from: '192.168.1.5', addresses: ['10.0.0.9'] }))).toBe('192.168.1.5')
    expect(targetAddress(svc({ from: '::ffff:10.1.2.3' }))).toBe('10.1.2.3')
    expect(targetAddress(svc({ from: 'fe80::1', addresses: ['8.8.8.8', '172.20.0.4'] }))).toBe('172.20.0.4')
    // An announcement cannot send Hashyard to a public address.
    expect(targetAddress(svc({ from: '8.8.8.8', addresses: ['1.1.1.1'] }))).toBeUndefined()
    for (const a of ['10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '127.0.0.2'])
      expect(isProbeableAddress(a)).toBe(true)
    for (const a of ['172.32.0.1', '169.254.1.1', '100.64.0.1', '8.8.8.8', 'bitaxe.local', '999.1.1.1'])
      expect(isProbeableAddress(a)).toBe(false)
  })
})

// ---- real responder and browser inside a private network namespace ----

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
const SCRIPTS = join(ROOT, 'test', 'support', 'sim-devices')

/** Why the namespace test cannot run here, or null when it can (checked by creating a namespace). */
function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'not root: `ip netns add` needs CAP_SYS_ADMIN'
  const probe = `hy-mdns-probe-${randomBytes(3).toString('hex')}`
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  if (add.error) return `iproute2 is not installed (${add.error.message})`
  if (add.status !== 0) return `\`ip netns add\` is not permitted here: ${add.stderr.trim()}`
  spawnSync('ip', ['netns', 'del', probe])
  return null
}

const unavailable = netnsUnavailable()
const ns = `hy-mdns-${randomBytes(4).toString('hex')}`

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`)
}

function inNamespace(script: string, args: string[] = []): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(SCRIPTS, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

/** Resolves with the first stdout line starting with `prefix` (its JSON), or rejects when the process ends first. */
function lineFrom(child: ChildProcess, prefix: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let out = ''
    let errText = ''
    child.stderr?.on('data', (d: Buffer) => {
      errText += d.toString()
    })
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith(`${prefix} `))
      if (line) resolve(JSON.parse(line.slice(prefix.length + 1)) as unknown)
    })
    child.on('exit', (code) => reject(new Error(`${prefix} never came (exit ${code}): ${errText.slice(-2000)}`)))
  })
}

interface BrowseResult {
  startedRunning: boolean
  stopped: boolean
  status: { running: boolean; hits: MdnsHit[] }
  devices: Device[]
  logs: LogRecord[]
}

describe.skipIf(unavailable !== null)(
  `mDNS discovery with a real responder in a network namespace${unavailable ? ` — skipped: ${unavailable}` : ''}`,
  () => {
    let responder: ChildProcess | undefined
    let result: BrowseResult

    beforeAll(async () => {
      ip('netns', 'add', ns)
      ip('-n', ns, 'link', 'set', 'lo', 'up')
      ip('-n', ns, 'link', 'set', 'lo', 'multicast', 'on')
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lo')
      responder = inNamespace('mdns-responder.ts')
      await lineFrom(responder, 'READY')
      // Three services are miners (two AxeOS, one `antminer…` host that answers nothing).
      result = (await lineFrom(inNamespace('mdns-browse.ts', ['3', '20000']), 'RESULT')) as BrowseResult
    })

    afterAll(async () => {
      if (responder && responder.exitCode === null) {
        const gone = new Promise((r) => responder?.once('exit', r))
        responder.kill('SIGTERM')
        await gone
      }
      spawnSync('ip', ['netns', 'del', ns])
    })

    it('finds the AxeOS device by its subtype and adds it to the device table with source mdns', () => {
      expect(result.startedRunning).toBe(true)
      const hit = result.status.hits.find((h) => h.name === PLAIN_INSTANCE)
      expect(hit).toMatchObject({ state: 'identified', match: 'axeos-subtype', address: '127.0.0.2', vendor: 'axeos' })
      const dev = result.devices.find((d) => d.ip === '127.0.0.2')
      expect(dev).toMatchObject({
        source: 'mdns',
        vendor: 'axeos',
        mac: '10:F5:12:33:BB:F0',
        model: 'Bitaxe Gamma 601 (BM1370)',
      })
      expect(hit?.deviceId).toBe(dev?.id)
    })

    it('keeps a hostile name as inert text and out of the logs', () => {
      const hit = result.status.hits.find((h) => h.address === '127.0.0.3')
      expect(hit).toMatchObject({ state: 'identified', name: HOSTILE_INSTANCE, host: HOSTILE_HOST })
      const dev = result.devices.find((d) => d.ip === '127.0.0.3')
      expect(dev).toMatchObject({
        source: 'mdns',
        mac: '10:F5:12:33:BB:F1',
        hostname: '<b>\u0007\u0007\u0007bitaxe</b>',
      })
      for (const r of result.logs) {
        expect(JSON.stringify(r)).not.toContain('\\u001b')
        for (const v of Object.values(r.fields ?? {})) if (typeof v === 'string') expect(hasUnsafeChars(v)).toBe(false)
      }
    })

    it('reports a vendor-named host that does not answer, and ignores services that are not miners', () => {
      const garage = result.status.hits.find((h) => h.name === 'Garage')
      expect(garage).toMatchObject({ state: 'unidentified', match: 'hostname', address: '127.0.0.2', port: 9 })
      expect(garage?.reason).toMatch(/Unrecognised device/)
      expect(result.status.hits.some((h) => h.name === 'Office Printer')).toBe(false)
      expect(result.devices).toHaveLength(2)
      expect(result.stopped).toBe(false)
    })
  },
)
