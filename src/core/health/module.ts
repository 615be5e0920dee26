/**
 * The fleet-health module (issue 7): history of every device poll and of the pool's and proxy's
 * share counters, the alert engine and its channels, the opt-in Prometheus `/metrics` listener
 * and the daily summary, behind the API of src/shared/contract/health.ts.
 *
 * Inputs: the devices module's poll outcomes (`DevicePoller.onPolled`) and device table; the pool
 * and proxy services' counters and status, read every `sharesEveryMs`. Everything time-based uses
 * the injected clock, so tests shorten debounces through the rules instead of sleeping.
 *
 * Security: channel secrets and the metrics token live in the SecretStore; no handler returns
 * them (the token once, when made) and no log line carries them.
 */
import { randomBytes } from 'node:crypto'
import type { AlertFrame, ChannelView } from '../../shared/contract/health'
import { type AppError, AppFailure, type Result } from '../../shared/errors'
import { type DevicesService, devicesService } from '../devices/module'
import type { PollOutcome } from '../devices/poller'
import type { DeviceRecord } from '../devices/repo'
import type { Logger } from '../logger'
import type { CoreModuleDef } from '../module'
import { poolService } from '../pool/module'
import { proxyService } from '../proxy/module'
import type { HandlerMap, TopicMap } from '../rpc/handlers'
import { APP_VERSION } from '../version'
import { AlertFeed } from './alert-feed'
import { AlertCenter } from './channels/alert-center'
import { ChannelService } from './channels/channel-service'
import { AlertDispatcher, type DispatcherOptions } from './channels/dispatcher'
import { buildDailySummary, type DailySummary, nextDailyRunMs, summaryFromHistory } from './channels/summary'
import { type Clock, systemClock } from './clock'
import {
  connectionCounters,
  EntityCounters,
  type FarmSources,
  poolAndUpstreamMetrics,
  poolReadings,
  proxyReadings,
} from './farm-sources'
import { HealthSettings, isLoopbackHost, METRICS_TOKEN_REF } from './health-settings'
import { seriesToCsv } from './history/csv'
import { type HistorySample, HistoryStore } from './history/history-store'
import { parseMetric } from './history/metrics'
import { FARM_TIERS, type TierConfig, validateTiers } from './history/tiers'
import { deviceObservation, deviceSamples, maxTempC, shareSamples, sharesObservation } from './ingest'
import { type DeviceMetrics, renderFarmMetrics } from './metrics/farm-metrics'
import { MetricsServer } from './metrics/metrics-server'
import { HEALTH_MIGRATIONS } from './migrations'
import { AlertEngine, type AlertEngineOptions } from './rules/engine'
import { RuleRepo } from './rules/rule-repo'
import type { AlertEvent, AlertRule, PoolRef } from './rules/types'
import { ShareTallies } from './share-tally'

export interface HealthModuleOptions {
  now?: Clock
  /** Engine re-evaluation (debounces completing, silences growing). Default 5000 ms. */
  tickMs?: number
  /** Reading the pool's and proxy's counters into history. Default 15 000 ms. */
  sharesEveryMs?: number
  /** History retention and size cap. Default every 5 minutes. */
  maintainEveryMs?: number
  /** How often the daily-summary clock is checked. Default 60 000 ms. */
  summaryCheckMs?: number
  /** Overrides of the stored history settings (tests, the bench). */
  history?: { tiers?: readonly TierConfig[]; maxStoreBytes?: number | null; flushIntervalMs?: number }
  engine?: Pick<AlertEngineOptions, 'perSubjectLimit'>
  dispatcher?: Pick<DispatcherOptions, 'perChannelLimit'>
  /** Where pool and proxy readings come from. Default: the running pool and proxy modules. */
  sources?: FarmSources
  /** The devices module. Default: the running one. */
  devices?: () => DevicesService | undefined
}

const DAY_MS = 86_400_000
const HOUR_MS = 3_600_000

const defaultSources: FarmSources = {
  pool: () => {
    const s = poolService()
    return s ? { status: s.status(), connections: s.connections() } : undefined
  },
  proxy: () => {
    const s = proxyService()
    return s ? { status: s.status(), devices: s.devices() } : undefined
  },
}

const fail = (e: AppError): never => {
  throw new AppFailure(e.code, e.message, e.details)
}
const must = <T>(r: Result<T, AppError>): T => (r.ok ? r.value : fail(r.error))

const deviceName = (r: DeviceRecord): string => r.name ?? r.hostname ?? r.ip ?? r.id

export function createHealthModule(o: HealthModuleOptions = {}): CoreModuleDef {
  return {
    name: 'health',
    migrations: HEALTH_MIGRATIONS,
    async start(ctx) {
      const log = ctx.logger
      const now = o.now ?? systemClock
      const startedAtMs = now()
      const settings = new HealthSettings(ctx.db, log)
      const sources = o.sources ?? defaultSources
      const devices = (o.devices ?? devicesService)()
      const repo = devices?.repo
      const timers: Array<ReturnType<typeof setInterval>> = []
      const every = (ms: number, fn: () => void) => {
        const t = setInterval(() => {
          try {
            fn()
          } catch (e) {
            log.error('health timer failed', { error: e instanceof Error ? e.message : String(e) })
          }
        }, ms)
        t.unref?.()
        timers.push(t)
      }
      const pending = new Set<Promise<unknown>>()
      const track = (p: Promise<unknown>) => {
        pending.add(p)
        void p.finally(() => pending.delete(p))
      }

      // ---- history ----
      const storedHistory = settings.get('history')
      const wantTiers = o.history?.tiers ?? storedHistory.tiers ?? FARM_TIERS
      const cap = o.history?.maxStoreBytes !== undefined ? o.history.maxStoreBytes : storedHistory.maxStoreBytes
      const openHistory = (tiers: readonly TierConfig[]) =>
        HistoryStore.open({
          db: ctx.db,
          now,
          logger: log.child('history'),
          tiers,
          ...(cap !== undefined ? { maxStoreBytes: cap } : {}),
          ...(o.history?.flushIntervalMs !== undefined ? { flushIntervalMs: o.history.flushIntervalMs } : {}),
        })
      let opened = openHistory(wantTiers)
      if (!opened.ok) {
        log.warn('stored history tiers are invalid; using the defaults', { error: opened.error.message })
        opened = openHistory(FARM_TIERS)
      }
      const history = must(opened)
      const record = (samples: readonly HistorySample[]) => {
        for (const s of samples) {
          const r = history.record(s)
          if (!r.ok) log.debug('history sample refused', { metric: s.metric, error: r.error.message })
        }
      }

      // ---- alerts ----
      const center = new AlertCenter(ctx.db, now)
      const rules = new RuleRepo(ctx.db, now, log.child('rules'))
      const channels = new ChannelService({
        db: ctx.db,
        secrets: ctx.secrets,
        now,
        logger: log.child('channels'),
        center,
      })
      await channels.rebuild()
      const dispatcher = new AlertDispatcher({
        center,
        channels: () => channels.live(),
        now,
        logger: log.child('dispatch'),
        ...(o.dispatcher?.perChannelLimit ? { perChannelLimit: o.dispatcher.perChannelLimit } : {}),
      })
      const feed = new AlertFeed()
      const countListeners = new Set<() => void>()
      const countsChanged = () => {
        for (const cb of countListeners) cb()
      }
      const counts = () => ({ tsMs: now(), ...center.counts(), openBySeverity: center.openBySeverity() })

      const assignedCache = new Map<string, { atMs: number; pools: PoolRef[] | undefined }>()
      const assignedPools = (deviceId: string): PoolRef[] | undefined => {
        const t = now()
        const hit = assignedCache.get(deviceId)
        if (hit && t - hit.atMs < 60_000) return hit.pools
        const last = repo
          ?.actions({ deviceId, limit: 100 })
          .find((a) => a.action === 'assign-pools' && a.outcome === 'ok')
        const urls = last?.data?.pools
        const user = last?.data?.user
        const pools =
          Array.isArray(urls) && typeof user === 'string'
            ? urls.filter((u): u is string => typeof u === 'string').map((url) => ({ url, user }))
            : undefined
        assignedCache.set(deviceId, { atMs: t, pools })
        return pools
      }
      const baselineCache = new Map<string, { atMs: number; ths: number | null }>()
      const baselineThs = (deviceId: string, nowMs: number): number | null => {
        const hit = baselineCache.get(deviceId)
        if (hit && nowMs - hit.atMs < 10 * 60_000) return hit.ths
        const r = history.series(
          { kind: 'device', id: deviceId },
          'hashrate_reported_ths',
          nowMs - DAY_MS,
          nowMs,
          HOUR_MS,
        )
        let ths: number | null = null
        // Trust a stored baseline only once it spans an hour, as the engine's own rolling mean does.
        if (r.ok && r.value.points.length > 0 && r.value.points[0]!.tsMs <= nowMs - HOUR_MS) {
          let sum = 0
          let n = 0
          for (const p of r.value.points) {
            sum += p.sum
            n += p.count
          }
          ths = n > 0 ? sum / n : null
        }
        baselineCache.set(deviceId, { atMs: nowMs, ths })
        return ths
      }

      const engine = new AlertEngine({
        rules: rules.list(),
        now,
        tagsOf: (id) => repo?.get(id)?.tags ?? [],
        assignedPools,
        baselineThs,
        openIncidents: center.openIncidents(),
        announcedAddresses: center.announcedAddresses(),
        ...(o.engine?.perSubjectLimit ? { perSubjectLimit: o.engine.perSubjectLimit } : {}),
      })

      const emit = (events: readonly AlertEvent[]) => {
        if (events.length === 0) return
        track(dispatcher.dispatch(events).catch((e) => log.error('alert dispatch failed', { error: String(e) })))
        // dispatch() records every event in the alert centre before its first await.
        for (const e of events) {
          feed.push({
            tsMs: e.tsMs,
            change: e.phase,
            alert: center.get(e.incidentId) ?? null,
            notify: !e.suppressed && e.phase !== 'closed',
          })
        }
        countsChanged()
      }
      const offCenter = center.onChange((rec) => {
        if (rec.ruleType !== 'test') return
        feed.push({ tsMs: rec.firedAtMs, change: 'test', alert: rec, notify: true })
        countsChanged()
      })

      // ---- device polls → history + engine ----
      const reportedPrev = new Map<string, { accepted: number | null; rejected: number | null }>()
      const onPolled = (p: PollOutcome) => {
        if (p.status === null && !p.offline) return // one missed read is not an outage
        const rec = repo?.get(p.deviceId)
        const samples = deviceSamples(p.deviceId, p.status, p.tsMs)
        if (p.status) {
          const prev = reportedPrev.get(p.deviceId)
          const cur = { accepted: p.status.accepted, rejected: p.status.rejected }
          reportedPrev.set(p.deviceId, cur)
          const inc = (c: number | null, q: number | null | undefined) =>
            c === null || q === null || q === undefined ? null : c < q ? c : c - q
          const entity = { kind: 'device' as const, id: p.deviceId }
          const a = inc(cur.accepted, prev?.accepted)
          const r = inc(cur.rejected, prev?.rejected)
          // Zero increments are skipped: a counter's sum is the same without them, and most are zero.
          if (a) samples.push({ entity, metric: 'reported_accepted', value: a, tsMs: p.tsMs })
          if (r) samples.push({ entity, metric: 'reported_rejected', value: r, tsMs: p.tsMs })
        }
        record(samples)
        emit(engine.observe(deviceObservation(p.deviceId, rec ? deviceName(rec) : undefined, p.status, p.tsMs)))
      }
      const offPolled = devices?.poller.onPolled(onPolled)

      // New devices that arrived unasked (a miner connecting to the pool, mDNS), and removed ones.
      const knownDevices = new Set(repo?.list().map((r) => r.id) ?? [])
      const offRepo = repo?.onChange((id) => {
        const rec = repo.get(id)
        if (!rec) {
          if (knownDevices.delete(id)) emit(engine.forgetDevice(id))
          return
        }
        if (knownDevices.has(id)) return
        knownDevices.add(id)
        if (rec.source === 'passive' || rec.source === 'mdns') {
          emit(
            engine.observe({
              kind: 'discovery',
              tsMs: rec.firstSeenMs,
              address: rec.ip ?? rec.hostname ?? rec.id,
              known: false,
              ...(rec.hostname ? { name: rec.hostname } : {}),
              ...(rec.model ? { model: rec.model } : {}),
            }),
          )
        }
      })

      // ---- pool and proxy counters → history + engine ----
      // Counters are read for every device at once, but their samples reach the store spread over
      // the interval, one slice per second as polls are: at 500 devices a single burst of ~2,000
      // samples (three tiers each) would hold the event loop for hundreds of ms on a large store.
      const sharesEveryMs = o.sharesEveryMs ?? 15_000
      let spread: HistorySample[] = []
      let spreadPerS = 0
      const drainSpread = (all = false) => {
        if (spread.length === 0) return
        const n = all ? spread.length : spreadPerS
        record(spread.slice(0, n))
        spread = spread.slice(n)
      }
      const tallies = new ShareTallies(startedAtMs)
      const entityCounters = new EntityCounters()
      const readFarm = () => {
        const t = now()
        const pool = safely(() => sources.pool(), log, 'pool')
        const proxy = safely(() => sources.proxy(), log, 'proxy')
        const { byDevice, all } = tallies.update(
          connectionCounters(pool?.status.running ? pool : undefined, proxy?.status.running ? proxy : undefined, repo),
        )
        drainSpread(true)
        for (const [id, tally] of byDevice) {
          spread.push(...shareSamples({ kind: 'device', id }, tally, t))
          emit(engine.observe({ ...sharesObservation(id, tally, t), name: nameOf(id) }))
        }
        spreadPerS = Math.ceil(spread.length / Math.max(1, Math.floor(sharesEveryMs / 1000)))
        if (pool) {
          const r = poolReadings(pool.status, entityCounters, all.rejectedByReason, t)
          record(r.samples)
          for (const ob of r.observations) emit(engine.observe(ob))
        }
        if (proxy) {
          const r = proxyReadings(proxy.status, entityCounters, t)
          record(r.samples)
          for (const ob of r.observations) emit(engine.observe(ob))
        }
      }
      const nameOf = (id: string) => {
        const r = repo?.get(id)
        return r ? deviceName(r) : id
      }

      // ---- /metrics ----
      let metricsToken = await ctx.secrets.get(METRICS_TOKEN_REF).catch(() => undefined)
      let removePort: (() => void) | undefined
      const metricsServer = new MetricsServer({
        logger: log.child('metrics'),
        token: () => metricsToken,
        render: () => renderFarmMetrics(snapshot()),
        onListening: (addr) => {
          removePort?.()
          removePort = addr ? ctx.addPort({ name: 'Prometheus metrics', protocol: 'metrics', ...addr }) : undefined
        },
      })
      const snapshot = () => {
        const list = repo?.list() ?? []
        const open = center.openBySeverity()
        const devs: DeviceMetrics[] = list.map((r) => {
          const st = r.status
          const tot = tallies.totals(r.id)
          return {
            id: r.id,
            name: deviceName(r),
            ...(r.model ? { model: r.model } : {}),
            ...(r.vendor ? { vendor: r.vendor } : {}),
            ...(r.firmware ? { firmware: r.firmware } : {}),
            up: r.online === true,
            hashrateThs: r.online ? (st?.hashrateThs ?? null) : null,
            shareHashrateThs: tot?.shareHashrateThs ?? null,
            tempMaxC: r.online && st ? maxTempC(st) : null,
            fansRpm: r.online && st ? st.fansRpm : [],
            powerW: r.online ? (st?.powerW ?? null) : null,
            uptimeS: r.online ? (st?.uptimeS ?? null) : null,
            difficulty: tot?.difficulty ?? null,
            sharesAccepted: tot?.accepted ?? 0,
            sharesRejected: tot?.rejectedByReason ?? {},
            sharesStale: tot?.stale ?? 0,
            difficultyAccepted: tot?.diffAccepted ?? 0,
            bestShareDifficulty: tot?.bestShareDifficulty ?? null,
          }
        })
        const pool = safely(() => sources.pool(), log, 'pool')
        const proxy = safely(() => sources.proxy(), log, 'proxy')
        return { devices: devs, ...poolAndUpstreamMetrics(pool, proxy), alertsOpen: open, version: APP_VERSION }
      }
      const metricsView = () => {
        const cfg = settings.get('metrics')
        const st = metricsServer.state
        return {
          enabled: cfg.enabled,
          host: cfg.host,
          port: cfg.port,
          hasToken: metricsToken !== undefined,
          listening: st.listening,
          error: cfg.enabled ? st.error : null,
          url: st.listening && st.host && st.port ? `http://${hostForUrl(st.host)}:${st.port}/metrics` : null,
        }
      }
      const applyMetrics = async () => {
        const cfg = settings.get('metrics')
        // Off loopback a token is required; without one the listener stays closed.
        if (cfg.enabled && !isLoopbackHost(cfg.host) && metricsToken === undefined) {
          await metricsServer.close()
          return
        }
        await metricsServer.apply(cfg)
      }
      await applyMetrics()

      // ---- daily summary ----
      let nextSummaryMs: number | null = null
      const planSummary = () => {
        const s = settings.get('summary')
        nextSummaryMs = s.enabled ? nextDailyRunMs(now(), s) : null
      }
      planSummary()
      const buildSummary = (): DailySummary => {
        const t = now()
        const list = repo?.list() ?? []
        const fromHistory = summaryFromHistory(
          history,
          list.map((r) => r.id),
          t - DAY_MS,
          t,
        )
        const pool = safely(() => sources.pool(), log, 'pool')
        const blocks = center
          .list({ limit: 1000 })
          .filter((a) => a.ruleType === 'block-found' && a.firedAtMs >= t - DAY_MS).length
        const attention = engine
          .firing()
          .filter((f) => f.subject.kind === 'device')
          .map((f) => ({ name: nameOf(f.subject.id), reason: center.get(f.incidentId)?.title ?? 'needs attention' }))
        return {
          fromMs: t - DAY_MS,
          toMs: t,
          ...fromHistory,
          devicesTotal: list.length,
          devicesOnline: list.filter((r) => r.online === true).length,
          bestShareDifficulty: pool?.status.running ? pool.status.shares.bestShareDifficulty || null : null,
          blocksFound: blocks,
          attention,
        }
      }
      const summaryTick = () => {
        if (nextSummaryMs === null || now() < nextSummaryMs) return
        const s = settings.get('summary')
        settings.set('summary', { ...s, lastSentAtMs: now() })
        planSummary()
        const ids = channels
          .configs()
          .filter((c) => c.enabled && c.dailySummary)
          .map((c) => c.id)
        if (ids.length === 0) return
        track(
          dispatcher
            .sendSummary(buildSummary(), ids)
            .catch((e) => log.error('daily summary failed', { error: String(e) })),
        )
      }
      const summaryView = () => {
        const s = settings.get('summary')
        return {
          enabled: s.enabled,
          hour: s.hour,
          minute: s.minute,
          lastSentAtMs: s.lastSentAtMs,
          nextRunAtMs: nextSummaryMs,
          channelIds: channels
            .configs()
            .filter((c) => c.enabled && c.dailySummary)
            .map((c) => c.id),
        }
      }

      const historyView = () => {
        const s = settings.get('history')
        const stored = s.tiers ?? FARM_TIERS
        const active = history.tiers.map((t) => ({ ...t }))
        return {
          tiers: stored.map((t) => ({ ...t })),
          maxStoreBytes: history.maxStoreBytes,
          usedBytes: history.usedBytes(),
          activeTiers: active,
          restartRequired: JSON.stringify(stored) !== JSON.stringify(active),
        }
      }

      const applyRules = (): AlertRule[] => {
        const list = rules.list()
        emit(engine.setRules(list))
        return list
      }

      const handlers = {
        'history.series': (p) => {
          const r = must(history.series(p.entity, p.metric, p.fromMs, p.toMs, p.resolutionMs))
          const unit = must(parseMetric(p.metric)).info.unit
          return { ...r, unit }
        },
        'history.csv': (p) => {
          const r = must(history.series(p.entity, p.metric, p.fromMs, p.toMs, p.resolutionMs))
          const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
          const safeId = p.entity.id.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64)
          const safeMetric = p.metric.replace(/[^a-z0-9_.-]+/g, '_')
          return {
            filename: `hashyard-${p.entity.kind}-${safeId}-${safeMetric}-${day(p.fromMs)}-${day(p.toMs)}.csv`,
            csv: seriesToCsv(r),
          }
        },
        'history.listSeries': (p) => ({ series: history.listSeries(p.entity) }),
        'history.getSettings': () => historyView(),
        'history.setSettings': (p) => {
          const cur = settings.get('history')
          if (p.tiers) must(validateTiers(p.tiers))
          if (p.maxStoreBytes !== undefined) must(history.setMaxStoreBytes(p.maxStoreBytes))
          settings.set('history', {
            tiers: p.tiers ?? cur.tiers,
            ...(p.maxStoreBytes !== undefined
              ? { maxStoreBytes: p.maxStoreBytes }
              : cur.maxStoreBytes !== undefined
                ? { maxStoreBytes: cur.maxStoreBytes }
                : {}),
          })
          return historyView()
        },

        'alerts.list': (p) => ({
          alerts: center.list({
            ...(p.openOnly !== undefined ? { openOnly: p.openOnly } : {}),
            ...(p.unacknowledgedOnly !== undefined ? { unacknowledgedOnly: p.unacknowledgedOnly } : {}),
            ...(p.limit !== undefined ? { limit: p.limit } : {}),
            ...(p.beforeMs !== undefined ? { beforeMs: p.beforeMs } : {}),
          }),
          counts: counts(),
        }),
        'alerts.acknowledge': (p) => {
          const rec = must(center.acknowledge(p.id))
          feed.push({ tsMs: now(), change: 'acknowledged', alert: rec, notify: false })
          countsChanged()
          return rec
        },
        'alerts.acknowledgeAll': () => {
          const n = center.acknowledgeAll()
          if (n > 0) {
            feed.push({ tsMs: now(), change: 'acknowledged-all', alert: null, notify: false })
            countsChanged()
          }
          return { acknowledged: n }
        },

        'alertRules.list': () => ({ rules: rules.list() }),
        'alertRules.save': (p) => {
          const rule = must(rules.save({ ...p.rule, id: p.rule.id ?? `rule-${randomBytes(5).toString('hex')}` }))
          applyRules()
          return { rule }
        },
        'alertRules.delete': (p) => {
          const r = rules.delete(p.id)
          if (!r.ok && r.error.code !== 'NOT_FOUND') fail(r.error)
          applyRules()
          return { deleted: r.ok }
        },
        'alertRules.reset': () => {
          rules.resetToDefaults()
          return { rules: applyRules() }
        },

        'alertChannels.list': () => ({ channels: channels.list() }),
        'alertChannels.save': async (p) => {
          const saved = await channels.save(p.channel, p.secrets ?? {})
          return { channel: must<ChannelView>(saved) }
        },
        'alertChannels.delete': async (p) => ({ deleted: await channels.delete(p.id) }),
        'alertChannels.test': async (p) => must(await channels.test(p.id)),

        'metrics.getSettings': () => metricsView(),
        'metrics.setSettings': async (p) => {
          const cur = settings.get('metrics')
          const next = {
            enabled: p.enabled ?? cur.enabled,
            host: p.host ?? cur.host,
            port: p.port ?? cur.port,
          }
          let token: string | undefined
          const needToken = next.enabled && !isLoopbackHost(next.host) && metricsToken === undefined
          if (p.regenerateToken || needToken) {
            token = randomBytes(24).toString('base64url')
            await ctx.secrets.put(METRICS_TOKEN_REF, token)
            metricsToken = token
          }
          settings.set('metrics', next)
          await applyMetrics()
          ctx.events.append(
            'info',
            'health',
            next.enabled
              ? `Prometheus metrics ${metricsServer.state.listening ? 'served' : 'enabled but not listening'} on ${next.host}:${next.port}.`
              : 'Prometheus metrics turned off.',
          )
          return { settings: metricsView(), ...(token !== undefined ? { token } : {}) }
        },

        'healthSummary.getSettings': () => summaryView(),
        'healthSummary.setSettings': (p) => {
          const cur = settings.get('summary')
          settings.set('summary', {
            ...cur,
            ...(p.enabled !== undefined ? { enabled: p.enabled } : {}),
            ...(p.hour !== undefined ? { hour: p.hour } : {}),
            ...(p.minute !== undefined ? { minute: p.minute } : {}),
          })
          planSummary()
          return summaryView()
        },
        'healthSummary.preview': () => {
          const m = buildDailySummary(buildSummary())
          return { title: m.title, text: m.text }
        },
      } satisfies HandlerMap

      const topics = {
        'alerts.stream': {
          delivery: 'ordered' as const,
          replay: (p: { sinceSeq?: number | undefined }) => feed.replay(p.sinceSeq),
          onFrame: (cb: (f: AlertFrame) => void) => feed.onFrame(cb),
        },
        'alertCounts.stream': {
          delivery: 'latest' as const,
          snapshot: () => counts(),
          onChange: (cb: () => void) => {
            countListeners.add(cb)
            return () => countListeners.delete(cb)
          },
        },
      } satisfies TopicMap

      every(o.tickMs ?? 5000, () => emit(engine.tick()))
      every(sharesEveryMs, readFarm)
      every(1000, () => drainSpread())
      every(o.maintainEveryMs ?? 5 * 60_000, () => history.maintain())
      every(o.summaryCheckMs ?? 60_000, summaryTick)
      log.info('health module started', {
        rules: engine.rules.length,
        channels: channels.live().length,
        openIncidents: engine.firing().length,
        metrics: metricsServer.state.listening,
      })

      return {
        handlers,
        topics,
        async stop() {
          for (const t of timers) clearInterval(t)
          offPolled?.()
          offRepo?.()
          offCenter()
          await metricsServer.close()
          removePort?.()
          await Promise.allSettled([...pending])
          drainSpread(true)
          history.close()
        },
      }
    },
  }
}

function safely<T>(read: () => T, log: Logger, what: string): T | undefined {
  try {
    return read()
  } catch (e) {
    log.warn(`health could not read the ${what}`, { error: e instanceof Error ? e.message : String(e) })
    return undefined
  }
}

const hostForUrl = (h: string) => (h.includes(':') ? `[${h}]` : h)

/** The module as listed in src/core/modules.ts. */
export const healthModule: CoreModuleDef = createHealthModule()
