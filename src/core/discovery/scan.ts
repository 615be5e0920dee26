/**
 * Two-stage IP scan. Stage 1 is a TCP connect probe of a few ports per host (80, 4028, 4433,
 * 8080 by default); stage 2 identifies hosts with an open port through the device registry.
 * Concurrency is bounded, each host has its own budget, results stream through `onResult` as
 * they arrive, and every address ends in exactly one state — identified, open but unidentified,
 * no answer, or cancelled — so nothing is silently dropped.
 */
import net from 'node:net'
import type { AppError } from '../../shared/errors'
import { type Identified, identifyDevice } from '../devices/registry'
import type { DeviceCredentials, DeviceEndpoint, DeviceIdentity, DriverCapabilities } from '../devices/types'

export type PortRole = 'http' | 'rpc' | 'whatsminer-v3' | 'http-alt'

export interface ScanPort {
  port: number
  role: PortRole
}

export const DEFAULT_SCAN_PORTS: readonly ScanPort[] = [
  { port: 80, role: 'http' },
  { port: 4028, role: 'rpc' },
  { port: 4433, role: 'whatsminer-v3' },
  { port: 8080, role: 'http-alt' },
]

export type ScanResult =
  | {
      host: string
      state: 'identified'
      openPorts: number[]
      identity: DeviceIdentity
      kind: string
      capabilities?: DriverCapabilities
      /** The ports that answered, by role (the identity's endpoint may point a closed role at an open port). */
      answered?: DeviceEndpoint
    }
  | { host: string; state: 'open-unidentified'; openPorts: number[]; reason: string }
  | { host: string; state: 'no-answer' }
  | { host: string; state: 'cancelled' }

export interface ScanProgress {
  total: number
  done: number
  identified: number
  openUnidentified: number
  noAnswer: number
}

export interface ScanOptions {
  ports?: readonly ScanPort[]
  /** Hosts probed at once. Default 128 (pyasic uses 200; embedded NICs prefer less). */
  concurrency?: number
  /** Stage-1 connect timeout per port. Default 800 ms. */
  connectTimeoutMs?: number
  /** Stage-2 budget per host (each probe request). Default 3000 ms. */
  identifyTimeoutMs?: number
  credentials?: DeviceCredentials
  signal?: AbortSignal
  onResult?: (r: ScanResult) => void
  onProgress?: (p: ScanProgress) => void
  /** Replaceable identify step (the default is the device registry). */
  identify?: (
    endpoint: DeviceEndpoint,
    timeoutMs: number,
    skip: { skipWeb: boolean; skipRpc: boolean },
  ) => Promise<{ ok: true; value: Identified } | { ok: false; error: AppError }>
}

/** Resolves true when a TCP connection opens, false on refusal, timeout or any error. */
export function tcpProbe(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port })
    let done = false
    const finish = (open: boolean) => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      sock.destroy()
      resolve(open)
    }
    const onAbort = () => finish(false)
    const timer = setTimeout(() => finish(false), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    sock.once('connect', () => finish(true))
    sock.once('error', () => finish(false))
  })
}

function endpointFor(host: string, open: readonly ScanPort[]): DeviceEndpoint {
  const http = open.find((p) => p.role === 'http') ?? open.find((p) => p.role === 'http-alt')
  const rpc = open.find((p) => p.role === 'rpc')
  const v3 = open.find((p) => p.role === 'whatsminer-v3')
  const ep: DeviceEndpoint = { host }
  if (http) ep.httpPort = http.port
  if (rpc) ep.rpcPort = rpc.port
  if (v3) ep.v3Port = v3.port
  return ep
}

/** Scans the hosts; resolves with one result per host, in completion order. */
export async function scanHosts(hosts: readonly string[], opts: ScanOptions = {}): Promise<ScanResult[]> {
  const ports = opts.ports ?? DEFAULT_SCAN_PORTS
  const concurrency = Math.max(1, Math.min(opts.concurrency ?? 128, 1024))
  const connectTimeoutMs = opts.connectTimeoutMs ?? 800
  const identifyTimeoutMs = opts.identifyTimeoutMs ?? 3000
  const identify =
    opts.identify ??
    ((endpoint: DeviceEndpoint, timeoutMs: number, skip: { skipWeb: boolean; skipRpc: boolean }) =>
      identifyDevice(endpoint, { timeoutMs, ...skip, ...(opts.credentials ? { credentials: opts.credentials } : {}) }))
  const progress: ScanProgress = { total: hosts.length, done: 0, identified: 0, openUnidentified: 0, noAnswer: 0 }
  const results: ScanResult[] = []
  const emit = (r: ScanResult) => {
    results.push(r)
    progress.done++
    if (r.state === 'identified') progress.identified++
    else if (r.state === 'open-unidentified') progress.openUnidentified++
    else if (r.state === 'no-answer') progress.noAnswer++
    opts.onResult?.(r)
    opts.onProgress?.({ ...progress })
  }

  const scanOne = async (host: string): Promise<ScanResult> => {
    const open = (
      await Promise.all(
        ports.map(async (p) => ((await tcpProbe(host, p.port, connectTimeoutMs, opts.signal)) ? p : null)),
      )
    ).filter((p): p is ScanPort => p !== null)
    if (opts.signal?.aborted) return { host, state: 'cancelled' }
    if (open.length === 0) return { host, state: 'no-answer' }
    const openPorts = open.map((p) => p.port)
    const answered = endpointFor(host, open)
    const endpoint: DeviceEndpoint = { ...answered }
    if (endpoint.httpPort === undefined && endpoint.rpcPort === undefined && endpoint.v3Port === undefined)
      return { host, state: 'open-unidentified', openPorts, reason: 'Only ports without a driver are open' }
    // A closed role is not probed at all: its default port would only refuse or, worse, a port of
    // another role would accept and never answer the wrong protocol.
    const id = await identify(endpoint, identifyTimeoutMs, {
      skipWeb: answered.httpPort === undefined,
      skipRpc: answered.rpcPort === undefined,
    })
    if (opts.signal?.aborted) return { host, state: 'cancelled' }
    if (!id.ok) return { host, state: 'open-unidentified', openPorts, reason: id.error.message }
    return {
      host,
      state: 'identified',
      openPorts,
      identity: id.value.identity,
      kind: id.value.kind,
      capabilities: id.value.driver.capabilities,
      answered,
    }
  }

  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      const host = hosts[i]
      if (host === undefined) return
      if (opts.signal?.aborted) {
        emit({ host, state: 'cancelled' })
        continue
      }
      emit(await scanOne(host))
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, hosts.length) }, worker))
  return results
}
