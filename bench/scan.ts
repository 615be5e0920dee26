/**
 * Devices benchmark (issue 4 "Performance"). Run: `npx tsx bench/scan.ts`.
 *
 * 1. Scan a /24 (127.1.0.0/24) holding 6 simulated devices and silent addresses; time to the full
 *    result (every address classified).
 * 2. Scan 4 × /24 (127.1.0.0 – 127.1.3.255), same 6 devices.
 * 3. Poll 500 simulated devices every 15 s for three rounds and report the core's event-loop delay
 *    p99 (perf_hooks.monitorEventLoopDelay). The simulated devices run in a child process so their
 *    work is not counted against the core.
 *
 * Everything is on 127.0.0.0/8. A silent loopback address refuses at once (RST), while a silent LAN
 * address makes the probe wait for its connect timeout: the LAN worst case is printed alongside.
 */
import { fork } from 'node:child_process'
import net from 'node:net'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { DevicePoller } from '../src/core/devices/poller'
import { driverFor } from '../src/core/devices/registry'
import { DEVICE_MIGRATIONS, DeviceRepo } from '../src/core/devices/repo'
import type { Vendor } from '../src/core/devices/types'
import { parseTargets } from '../src/core/discovery/ip-range'
import { scanHosts } from '../src/core/discovery/scan'
import { createLogger } from '../src/core/logger'
import { openStore } from '../src/core/store/store'
import { tempDir } from '../test/support/temp-dir'

const here = dirname(fileURLToPath(import.meta.url))

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res))
  const addr = srv.address()
  await new Promise<void>((res) => srv.close(() => res()))
  return typeof addr === 'object' && addr ? addr.port : 0
}

type Device = { host: string; kind: 'axeos' | 'lux'; port: number }

function startFarm(devices: Device[]): Promise<{ ports: number[]; stop: () => void }> {
  const child = fork(join(here, 'sim-farm.ts'), [], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.on('message', (m: { ready?: boolean; ports?: number[] }) => {
      if (m.ready) resolve({ ports: m.ports ?? [], stop: () => child.kill() })
    })
    child.send({ devices })
  })
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`

async function main() {
  const httpPort = await freePort()
  const rpcPort = await freePort()
  const ports = [
    { port: httpPort, role: 'http' as const },
    { port: rpcPort, role: 'rpc' as const },
  ]
  const six: Device[] = [
    { host: '127.1.0.10', kind: 'axeos', port: httpPort },
    { host: '127.1.0.20', kind: 'axeos', port: httpPort },
    { host: '127.1.0.30', kind: 'axeos', port: httpPort },
    { host: '127.1.0.40', kind: 'lux', port: rpcPort },
    { host: '127.1.0.50', kind: 'lux', port: rpcPort },
    { host: '127.1.0.60', kind: 'lux', port: rpcPort },
  ]
  const farm = await startFarm(six)
  const rows: [string, string, string][] = []
  for (const [label, range] of [
    ['1 × /24 (6 devices, 248 silent)', '127.1.0.0/24'],
    ['4 × /24 (6 devices, 1010 silent)', '127.1.0.0/24 127.1.1.0/24 127.1.2.0/24 127.1.3.0/24'],
  ] as const) {
    const hosts = parseTargets(range)
    if (!hosts.ok) throw new Error(hosts.error.message)
    const t0 = performance.now()
    const results = await scanHosts(hosts.value, {
      ports,
      concurrency: 128,
      connectTimeoutMs: 800,
      identifyTimeoutMs: 3000,
    })
    const ms = performance.now() - t0
    const identified = results.filter((r) => r.state === 'identified').length
    // On a LAN every silent address costs one connect timeout, spread over `concurrency` workers.
    const lanWorst = Math.ceil((hosts.value.length - identified) / 128) * 800
    rows.push([label, `${fmt(ms)} (${identified} identified / ${results.length} addresses)`, `≈ ${fmt(lanWorst + ms)}`])
  }
  farm.stop()

  // ---- polling 500 devices ----
  const n = 500
  const pollFarm: Device[] = []
  const pHttp = await freePort()
  const pRpc = await freePort()
  for (let i = 0; i < n; i++) {
    const host = `127.2.${Math.floor(i / 250)}.${(i % 250) + 1}`
    pollFarm.push(i % 2 === 0 ? { host, kind: 'axeos', port: pHttp } : { host, kind: 'lux', port: pRpc })
  }
  const polled = await startFarm(pollFarm)
  const t = tempDir('hashyard-bench-')
  const store = openStore(
    t.dir,
    createLogger(() => {}),
    DEVICE_MIGRATIONS,
  )
  const repo = new DeviceRepo(store.db)
  for (const [i, d] of pollFarm.entries())
    repo.upsertSighting({
      ip: d.host,
      mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      serial: null,
      hostname: null,
      vendor: (d.kind === 'axeos' ? 'axeos' : 'luxos') as Vendor,
      kind: d.kind,
      model: null,
      firmware: null,
      httpPort: d.kind === 'axeos' ? d.port : null,
      rpcPort: d.kind === 'lux' ? d.port : null,
      v3Port: null,
      capabilities: null,
      source: 'scan',
    })
  const poller = new DevicePoller(
    repo,
    async (rec) =>
      driverFor(
        {
          vendor: rec.vendor as Vendor,
          endpoint: {
            host: rec.ip ?? '',
            ...(rec.httpPort !== null ? { httpPort: rec.httpPort } : {}),
            ...(rec.rpcPort !== null ? { rpcPort: rec.rpcPort } : {}),
          },
          model: null,
          firmware: null,
          mac: rec.mac,
          hostname: null,
          serial: null,
        },
        { timeoutMs: 5000 },
      ),
    { intervalMs: 15_000 },
  )
  const rounds = Number(process.env.BENCH_POLL_ROUNDS ?? 3)
  // Event-loop delay also counts time the OS gives the CPU to other processes: the load average
  // says how busy the machine was while it was measured.
  // Control: the same histogram on this process with nothing to do, so a figure can be read
  // against what the machine's other load alone costs (the 10 ms sampling interval included).
  const controlS = Number(process.env.BENCH_CONTROL_S ?? 10)
  const idle = monitorEventLoopDelay({ resolution: 10 })
  idle.enable()
  await new Promise((r) => setTimeout(r, controlS * 1000))
  idle.disable()
  rows.push([
    `control: idle core process (${controlS} s, same histogram)`,
    `event-loop delay p50 ${(idle.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(idle.percentile(99) / 1e6).toFixed(1)} ms, max ${(idle.max / 1e6).toFixed(1)} ms`,
    `load average ${(os.loadavg()[0] ?? 0).toFixed(2)}`,
  ])
  const loadBefore = os.loadavg()[0] ?? 0
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  const cpu0 = process.cpuUsage()
  poller.start()
  const t0 = performance.now()
  await new Promise((r) => setTimeout(r, rounds * 15_000))
  h.disable()
  const cpu = process.cpuUsage(cpu0)
  const wallMs = performance.now() - t0
  await poller.stop()
  const online = repo.list().filter((d) => d.online === true).length
  const p50 = h.percentile(50) / 1e6
  const p99 = h.percentile(99) / 1e6
  const max = h.max / 1e6
  const loadAfter = os.loadavg()[0] ?? 0
  // CPU time of the core process (user + system) per read: what polling costs, whatever else runs.
  const cpuMs = (cpu.user + cpu.system) / 1000
  const reads = n * rounds
  rows.push([
    `poll ${n} devices every 15 s: core CPU`,
    `${(cpuMs / reads).toFixed(2)} ms per read, ${((cpuMs / wallMs) * 100).toFixed(1)} % of one core`,
    '',
  ])
  rows.push([
    `poll ${n} devices every 15 s (${rounds} rounds, ${fmt(wallMs)})`,
    `event-loop delay p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; ${online}/${n} online`,
    `load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}`,
  ])
  polled.stop()
  store.close()
  t.cleanup()

  const cpus = os.cpus()
  console.log(
    `\nmachine: ${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
  )
  const w0 = Math.max(...rows.map((r) => r[0].length))
  const w1 = Math.max(...rows.map((r) => r[1].length))
  console.log(`\n${'case'.padEnd(w0)} | ${'result (loopback)'.padEnd(w1)} | LAN estimate (800 ms connect timeout)`)
  console.log(`${'-'.repeat(w0)}-|-${'-'.repeat(w1)}-|-${'-'.repeat(38)}`)
  for (const r of rows) console.log(`${r[0].padEnd(w0)} | ${r[1].padEnd(w1)} | ${r[2]}`)
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
