import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AntminerSim, startAntminerSim } from '../../../test/support/sim-devices/antminer-sim'
import { type AxeosSim, startAxeosSim } from '../../../test/support/sim-devices/axeos-sim'
import { type CgminerSim, startCgminerSim } from '../../../test/support/sim-devices/cgminer-sim'
import { fixtureText } from '../../../test/support/sim-devices/fixtures'
import { parseTargets } from './ip-range'
import { type ScanProgress, type ScanResult, scanHosts } from './scan'

/** A free port number on loopback (bound once, released, then reused on other 127.x addresses). */
async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  const addr = srv.address()
  await new Promise<void>((res) => srv.close(() => res()))
  return typeof addr === 'object' && addr ? addr.port : 0
}

const rawSockets = new Set<net.Socket>()
async function rawServer(host: string, port: number, onConn: (s: net.Socket) => void): Promise<net.Server> {
  const srv = net.createServer((s) => {
    rawSockets.add(s)
    // Probes connect and drop at once; a reset here is expected, not a failure.
    s.on('error', () => s.destroy())
    s.on('close', () => rawSockets.delete(s))
    onConn(s)
  })
  await new Promise<void>((res, rej) => {
    srv.once('error', rej)
    srv.listen(port, host, res)
  })
  return srv
}

let httpPort = 0
let rpcPort = 0
let altPort = 0
let axeos: AxeosSim
let lux: CgminerSim
let antminer: AntminerSim
const raw: net.Server[] = []

beforeAll(async () => {
  ;[httpPort, rpcPort, altPort] = [await freePort(), await freePort(), await freePort()]
  axeos = await startAxeosSim({
    info: fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json'),
    asic: fixtureText('bitaxe/axeos_system_asic_gamma.json'),
    listen: { host: '127.0.0.2', port: httpPort },
  })
  lux = await startCgminerSim({
    replies: { version: fixtureText('luxos/rpc_version_s19kpro_2025.4.8.json') },
    listen: { host: '127.0.0.3', port: rpcPort },
  })
  antminer = await startAntminerSim({ listen: { host: '127.0.0.4', httpPort, rpcPort } })
  // Accepts and then never says anything.
  raw.push(await rawServer('127.0.0.5', httpPort, () => {}))
  // Something else entirely on the alternative HTTP port: answers garbage and closes.
  raw.push(await rawServer('127.0.0.6', altPort, (s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')))
})

afterAll(async () => {
  for (const s of rawSockets) s.destroy()
  await Promise.all([
    axeos.close(),
    lux.close(),
    antminer.close(),
    ...raw.map((r) => new Promise((res) => r.close(res))),
  ])
})

const ports = () => [
  { port: httpPort, role: 'http' as const },
  { port: rpcPort, role: 'rpc' as const },
  { port: altPort, role: 'http-alt' as const },
]

describe('two-stage scan over loopback', () => {
  it('classifies every address: identified, open-but-unidentified or no answer, streaming as they finish', async () => {
    const hosts = parseTargets('127.0.0.2-127.0.0.8')
    if (!hosts.ok) throw new Error(hosts.error.message)
    const streamed: ScanResult[] = []
    const progress: ScanProgress[] = []
    const results = await scanHosts(hosts.value, {
      ports: ports(),
      concurrency: 3,
      connectTimeoutMs: 500,
      identifyTimeoutMs: 700,
      onResult: (r) => streamed.push(r),
      onProgress: (p) => progress.push(p),
    })
    expect(streamed).toEqual(results)
    const byHost = new Map(results.map((r) => [r.host, r]))
    expect([...byHost.keys()].sort()).toEqual(hosts.value)

    const a = byHost.get('127.0.0.2')
    expect(a?.state).toBe('identified')
    if (a?.state === 'identified') {
      expect(a.identity).toMatchObject({
        vendor: 'axeos',
        model: 'Bitaxe Gamma 601 (BM1370)',
        mac: '10:F5:12:33:BB:F0',
      })
      expect(a.openPorts).toEqual([httpPort])
    }
    const l = byHost.get('127.0.0.3')
    expect(l?.state).toBe('identified')
    if (l?.state === 'identified') {
      expect(l.kind).toBe('luxos')
      expect(l.identity).toMatchObject({ vendor: 'luxos', model: 'Antminer S19k Pro' })
    }
    const m = byHost.get('127.0.0.4')
    expect(m?.state).toBe('identified')
    if (m?.state === 'identified') expect(m.identity).toMatchObject({ vendor: 'antminer', serial: 'THQING0BDJAB024NF' })

    const h = byHost.get('127.0.0.5')
    expect(h?.state).toBe('open-unidentified')
    if (h?.state === 'open-unidentified') expect(h.reason).toMatch(/No (complete reply|response)/)
    expect(byHost.get('127.0.0.6')?.state).toBe('open-unidentified')
    expect(byHost.get('127.0.0.7')?.state).toBe('no-answer')
    expect(byHost.get('127.0.0.8')?.state).toBe('no-answer')

    expect(progress.at(-1)).toEqual({ total: 7, done: 7, identified: 3, openUnidentified: 2, noAnswer: 2 })
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('stops on cancel and still reports every address', async () => {
    const hosts = parseTargets('127.0.0.2-127.0.0.8')
    if (!hosts.ok) throw new Error(hosts.error.message)
    const ctl = new AbortController()
    const results = await scanHosts(hosts.value, {
      ports: ports(),
      concurrency: 1,
      connectTimeoutMs: 500,
      identifyTimeoutMs: 700,
      signal: ctl.signal,
      onResult: () => ctl.abort(),
    })
    expect(results).toHaveLength(7)
    expect(results[0]?.state).not.toBe('cancelled')
    expect(results.slice(1).every((r) => r.state === 'cancelled')).toBe(true)
  })
})
