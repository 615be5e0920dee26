/**
 * The **Test** action of an upstream pool: connect, subscribe, authorize, wait for the first job,
 * and say what happened in plain words. Never throws; a bad URL is a report like any other.
 */
import type net from 'node:net'
import type { Logger } from '../logger'
import { planSplit } from './extranonce-split'
import { parsePoolUrl } from './pool-url'
import { UpstreamClient, type UpstreamFailure } from './upstream-client'

export type PoolTestOutcome =
  | 'ok'
  | 'bad-url'
  | 'dns'
  | 'refused'
  | 'timeout'
  | 'tls'
  | 'closed'
  | 'subscribe-failed'
  | 'authorize-false'
  | 'no-job'
  | 'protocol'
  | 'unusable'

export interface PoolTestOptions {
  url: string
  user: string
  password?: string
  /** Force TLS for a bare host:port (a "use TLS" switch). */
  tls?: boolean
  /** Connect and handshake, each. Default 10 s. */
  timeoutMs?: number
  /** Wait for the first `mining.notify` after authorize. Default 30 s (issue 3). */
  jobWaitMs?: number
  logger: Logger
  lookup?: net.LookupFunction
  ca?: string | Buffer
  versionRollingMask?: number
  /** Aggregation setting to report the proxy capacity against. Default 50. */
  maxMinersPerSession?: number
}

export interface PoolTestReport {
  ok: boolean
  outcome: PoolTestOutcome
  /** One or two sentences for the owner. */
  message: string
  /** Normalised `host:port` when the URL parsed. */
  hostPort?: string
  tls?: boolean
  /** Milliseconds from start to each step reached. */
  timingsMs: { authorized?: number; firstJob?: number }
  extranonce1Hex?: string
  extranonce2Size?: number
  difficulty?: number
  versionMask?: number
  /** How the proxy would split this pool's extranonce2, or why it cannot. */
  split?: { prefixBytes: number; downstreamEn2Size: number; minersPerSession: number } | { error: string }
}

/** Runs the test; resolves within about connect + handshake + job wait. */
export async function testPool(opts: PoolTestOptions): Promise<PoolTestReport> {
  const parsed = parsePoolUrl(opts.url, opts.tls === undefined ? {} : { tls: opts.tls })
  if (!parsed.ok) return { ok: false, outcome: 'bad-url', message: parsed.error.message, timingsMs: {} }
  const ep = parsed.value
  const timeoutMs = opts.timeoutMs ?? 10_000
  const jobWaitMs = opts.jobWaitMs ?? 30_000
  const started = Date.now()
  const report: PoolTestReport = {
    ok: false,
    outcome: 'timeout',
    message: '',
    hostPort: ep.hostPort,
    tls: ep.tls,
    timingsMs: {},
  }
  const client = new UpstreamClient({
    endpoint: ep,
    user: opts.user,
    password: opts.password ?? 'x',
    logger: opts.logger,
    reconnect: false,
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
    ...(opts.ca ? { ca: opts.ca } : {}),
    ...(opts.versionRollingMask !== undefined ? { versionRollingMask: opts.versionRollingMask } : {}),
    timing: { connectTimeoutMs: timeoutMs, handshakeTimeoutMs: timeoutMs, responseTimeoutMs: timeoutMs, tickMs: 250 },
  })

  return new Promise<PoolTestReport>((resolve) => {
    let done = false
    let jobTimer: NodeJS.Timeout | undefined
    const finish = (outcome: PoolTestOutcome, message: string): void => {
      if (done) return
      done = true
      if (jobTimer) clearTimeout(jobTimer)
      client.stop()
      report.outcome = outcome
      report.ok = outcome === 'ok'
      report.message = message
      resolve(report)
    }
    client.on('ready', (r) => {
      report.timingsMs.authorized = Date.now() - started
      report.extranonce1Hex = r.extranonce1.toString('hex')
      report.extranonce2Size = r.extranonce2Size
      report.versionMask = r.versionMask
      const split = planSplit(r.extranonce2Size, { maxMinersPerSession: opts.maxMinersPerSession ?? 50 })
      report.split = split.ok
        ? {
            prefixBytes: split.value.prefixBytes,
            downstreamEn2Size: split.value.downstreamEn2Size,
            minersPerSession: split.value.capacity,
          }
        : { error: split.message }
      if (!split.ok) {
        finish('unusable', `Connected and authorized, but ${split.message}.`)
        return
      }
      jobTimer = setTimeout(
        () =>
          finish(
            'no-job',
            `Connected and authorized, but the pool sent no job within ${Math.round(jobWaitMs / 1000)} s; it may be overloaded or have no work.`,
          ),
        jobWaitMs,
      )
    })
    client.on('difficulty', (d) => {
      report.difficulty = d
    })
    client.on('job', () => {
      report.timingsMs.firstJob = Date.now() - started
      const d = report.difficulty === undefined ? '' : ` at difficulty ${report.difficulty}`
      finish('ok', `Works: connected, authorized as "${opts.user}" and received work${d}.`)
    })
    client.on('down', (e) => {
      const [outcome, message] = explain(e.reason, e.message, ep.hostPort, opts.user)
      finish(outcome, message)
    })
    client.start()
  })
}

function explain(reason: UpstreamFailure, detail: string, hostPort: string, user: string): [PoolTestOutcome, string] {
  switch (reason) {
    case 'dns':
      return [
        'dns',
        `The pool's name could not be found (DNS failure): check the spelling of ${hostPort.split(':')[0]}.`,
      ]
    case 'refused':
      return ['refused', `The pool refused the connection on ${hostPort}: check the port, or the pool may be down.`]
    case 'connect-timeout':
      return [
        'timeout',
        `No connection to ${hostPort}: the attempt timed out (firewall, wrong address, or the pool is down).`,
      ]
    case 'handshake-timeout':
    case 'no-response':
    case 'idle':
      return [
        'timeout',
        `Connected to ${hostPort}, but the pool did not answer (${detail}). Is this a Stratum V1 port?`,
      ]
    case 'tls':
      return ['tls', `The secure (TLS) connection failed: ${detail}. Try without TLS, or check the port.`]
    case 'authorize-failed':
      return [
        'authorize-false',
        `The pool refused the user "${user}" (${detail.replace(/^the pool refused user "[^"]*": /, '')}). Check the account name and password.`,
      ]
    case 'subscribe-failed':
      return ['subscribe-failed', `The pool refused the subscription: ${detail}.`]
    case 'protocol':
      return ['protocol', `The pool sent something that is not Stratum V1 (${detail}).`]
    case 'closed':
    case 'reset':
      return ['closed', `The pool closed the connection during the test (${detail}).`]
    default:
      return ['closed', `The test ended: ${detail}.`]
  }
}
