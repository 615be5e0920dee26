/**
 * The devices module: the device table, scans, polling, control and bulk pool changes behind the
 * `devices.*` and `scan.*` API (src/shared/contract/devices.ts).
 *
 * Security: credentials and pool passwords go to the SecretStore or straight to a driver; no
 * handler returns them and no log line or action-log entry contains them. Device-provided text
 * reaches logs only through `sanitizeForLog`.
 */
import type os from 'node:os'
import type { Device } from '../../shared/contract/devices'
import { type AppError, AppFailure, type Result } from '../../shared/errors'
import { MdnsDiscovery, type MdnsOptions } from '../discovery/mdns'
import { ScanSession, type ScanSessionOptions } from '../discovery/scan-session'
import type { CoreModuleDef } from '../module'
import type { HandlerMap, TopicMap } from '../rpc/handlers'
import { onSerialDeviceOnline } from '../serial/device-online'
import { applyAssign, previewAssign, validateRequest } from './assign'
import { CredentialStore } from './credentials'
import { deviceErr } from './device-error'
import { appPoolUrls } from './lan-address'
import {
  type MinerConnection,
  matchConnectedMiner,
  matchShareAccepted,
  type PassiveMatch,
  type PassiveOptions,
  type ShareAccepted,
  type ShareMatch,
} from './passive'
import { DevicePoller, type PollerOptions } from './poller'
import { driverFor } from './registry'
import { DEVICE_MIGRATIONS, type DeviceRecord, DeviceRepo } from './repo'
import type { DeviceIdentity, MinerDriver, Vendor } from './types'
import { sanitizeForLog } from './untrusted-text'

export interface DevicesModuleOptions {
  /** Polling; `enabled: false` leaves it to `pollNow` (tests). */
  poll?: PollerOptions & { enabled?: boolean }
  scan?: Omit<ScanSessionOptions, 'credentialsFor' | 'onIdentified' | 'logger'>
  /** Read-back after a pool write (bulk-apply): attempts and the delay between them. */
  verifyAttempts?: number
  verifyDelayMs?: number
  /** Per-request budget for device calls. Default 5000 ms. */
  deviceTimeoutMs?: number
  /** `devices.stream` announces changes at most this often. Default 1000 ms. */
  streamMinIntervalMs?: number
  /** Default length of a toggle-style locate. Default 120 s. */
  locateDefaultS?: number
  passive?: PassiveOptions
  /**
   * mDNS discovery. Off until `mdns.start` is called, unless `autoStart` is true (the desktop or
   * server entry may set it; tests never do, since a browser multicasts on every interface).
   */
  mdns?: Omit<MdnsOptions, 'credentialsFor' | 'onIdentified' | 'logger'> & { autoStart?: boolean }
  /** The host's interfaces for `devices.appPoolUrls`; replaceable in tests. Default os.networkInterfaces(). */
  networkInterfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>
}

/** What other modules (the pool, the proxy) and tests can reach while the module runs. */
export interface DevicesService {
  repo: DeviceRepo
  poller: DevicePoller
  scans: ScanSession
  credentials: CredentialStore
  mdns: MdnsDiscovery
  /** Passive matching: call when a miner connects (or authorises) on the pool or proxy. */
  noteMinerConnected(c: MinerConnection): PassiveMatch
  /** First-share confirmation: call for each accepted share (cheap once the device is confirmed). */
  noteShareAccepted(s: ShareAccepted): ShareMatch
}

let running: DevicesService | undefined

/** The running devices service, for the pool and proxy modules; undefined when not started. */
export function devicesService(): DevicesService | undefined {
  return running
}

/**
 * Passive matching entry point for the pool and proxy: matches the miner to its device record by
 * IP or records a new one. A no-op (`matched: false`) when the devices module is not running.
 */
export function noteMinerConnected(c: MinerConnection): PassiveMatch | undefined {
  return running?.noteMinerConnected(c)
}

/**
 * First-share entry point for the pool and proxy: marks "first share accepted at difficulty X" on
 * the device (field `firstShare`, an action-log entry and an event) the first time after discovery
 * or after a pool change. Undefined when the devices module is not running.
 */
export function noteShareAccepted(s: ShareAccepted): ShareMatch | undefined {
  return running?.noteShareAccepted(s)
}

const fail = (e: AppError): never => {
  throw new AppFailure(e.code, e.message, e.details)
}

export function createDevicesModule(o: DevicesModuleOptions = {}): CoreModuleDef {
  return {
    name: 'devices',
    migrations: DEVICE_MIGRATIONS,
    start(ctx) {
      const log = ctx.logger
      const repo = new DeviceRepo(ctx.db)
      const credentials = new CredentialStore(ctx.db, ctx.secrets)
      const timeoutMs = o.deviceTimeoutMs ?? 5000
      const busy = new Map<string, string>()
      const locateTimers = new Map<string, ReturnType<typeof setTimeout>>()

      // ---- drivers, cached per device and rebuilt when the endpoint or credentials change ----
      let credVersion = 0
      const drivers = new Map<string, { key: string; driver: MinerDriver }>()
      credentials.onChange(() => {
        credVersion++
      })
      const driverOf = async (rec: DeviceRecord): Promise<Result<MinerDriver, AppError>> => {
        if (rec.ip === null || rec.vendor === null)
          return deviceErr('NOT_SUPPORTED', 'The device has no known address or was not identified')
        const key = [
          rec.vendor,
          rec.ip,
          rec.httpPort,
          rec.rpcPort,
          rec.v3Port,
          rec.capabilities?.setPools,
          credVersion,
        ].join('|')
        const hit = drivers.get(rec.id)
        if (hit && hit.key === key) return { ok: true, value: hit.driver }
        const creds = await credentials.resolve(rec.vendor as Vendor, rec.ip)
        const identity: DeviceIdentity = {
          vendor: rec.vendor as Vendor,
          endpoint: {
            host: rec.ip,
            ...(rec.httpPort !== null ? { httpPort: rec.httpPort } : {}),
            ...(rec.rpcPort !== null ? { rpcPort: rec.rpcPort } : {}),
            ...(rec.v3Port !== null ? { v3Port: rec.v3Port } : {}),
          },
          model: rec.model,
          firmware: rec.firmware,
          mac: rec.mac,
          hostname: rec.hostname,
          serial: rec.serial,
        }
        const d = driverFor(identity, {
          timeoutMs,
          logger: log,
          privileged: rec.capabilities?.setPools ?? false,
          ...(creds ? { credentials: creds } : {}),
        })
        if (d.ok) drivers.set(rec.id, { key, driver: d.value })
        return d
      }

      const poller = new DevicePoller(repo, driverOf, { ...o.poll, logger: log.child('poller') })
      const scans = new ScanSession(repo, {
        ...o.scan,
        credentialsFor: (v) => credentials.resolve(v, null),
        onIdentified: (id) => poller.pollSoon(id),
        logger: log.child('scan'),
      })

      const { autoStart: mdnsAutoStart, ...mdnsOpts } = o.mdns ?? {}
      const mdns = new MdnsDiscovery(repo, {
        ...mdnsOpts,
        credentialsFor: (v) => credentials.resolve(v, null),
        onIdentified: (id) => poller.pollSoon(id),
        logger: log.child('mdns'),
      })
      const mdnsStatus = () => {
        const st = mdns.status()
        return { running: st.running, startedAtMs: st.startedAtMs, hits: st.hits.slice(0, 500) }
      }

      // ---- devices.stream: change notifications throttled, the snapshot built on demand ----
      const streamListeners = new Set<() => void>()
      const minGap = o.streamMinIntervalMs ?? 1000
      let lastNotify = 0
      let notifyTimer: ReturnType<typeof setTimeout> | undefined
      const notify = () => {
        if (notifyTimer) return
        const wait = Math.max(0, lastNotify + minGap - Date.now())
        notifyTimer = setTimeout(() => {
          notifyTimer = undefined
          lastNotify = Date.now()
          for (const cb of streamListeners) cb()
        }, wait)
      }
      const offRepo = repo.onChange(notify)

      const view = (r: DeviceRecord): Device => ({ ...r, busy: busy.get(r.id) ?? null })
      const mustGet = (id: string): DeviceRecord => {
        const r = repo.get(id)
        if (!r) throw new AppFailure('NOT_FOUND', `No device with id ${id.slice(0, 64)}`)
        return r
      }
      const setBusy = (id: string, what: string | null) => {
        if (what === null) busy.delete(id)
        else busy.set(id, what)
        notify()
      }
      const mustDriver = async (rec: DeviceRecord): Promise<MinerDriver> => {
        const d = await driverOf(rec)
        return d.ok ? d.value : fail(d.error)
      }

      const service: DevicesService = {
        repo,
        poller,
        scans,
        credentials,
        mdns,
        noteMinerConnected: (c) => {
          const m = matchConnectedMiner(repo, c, o.passive)
          if (m.matched && m.created)
            ctx.events.append(
              'info',
              'devices',
              'A miner not seen before connected; scan its address to identify it.',
              {
                deviceId: m.deviceId,
              },
            )
          return m
        },
        noteShareAccepted: (sh) => {
          const m = matchShareAccepted(repo, sh, o.passive)
          if (m.matched && m.first) {
            const rec = repo.get(m.deviceId)
            ctx.events.append(
              'info',
              'devices',
              `First share accepted from ${rec ? deviceLabel(rec) : m.deviceId} at difficulty ${sh.difficulty}.`,
              { deviceId: m.deviceId, difficulty: sh.difficulty },
            )
          }
          return m
        },
      }

      // A miner just set up over USB reports its IP: identify it so it joins the Fleet.
      const offSerialOnline = onSerialDeviceOnline((d) => {
        if (d.dataDir !== ctx.dataDir) return
        const r = scans.start(d.ip)
        if (r.ok) {
          ctx.events.append(
            'info',
            'devices',
            `The miner set up over USB (${d.mac}) is online at ${d.ip}; identifying it.`,
          )
        } else {
          log.warn('could not identify a miner set up over USB', { ip: d.ip, reason: r.error.message })
        }
      })

      const handlers = {
        'scan.start': (p) => {
          const r = scans.start(p.ranges, p.ports)
          if (!r.ok) fail(r.error)
          return r.ok ? r.value : fail(r.error)
        },
        'scan.cancel': (p) => ({ cancelled: scans.cancel(p.scanId) }),
        'devices.list': (p) => ({
          devices: repo
            .list()
            .filter(
              (d) =>
                (p.tag === undefined || d.tags.includes(p.tag)) && (p.site === undefined || d.location.site === p.site),
            )
            .map(view),
        }),
        'devices.get': (p) => view(mustGet(p.id)),
        'devices.rename': (p) => {
          mustGet(p.id)
          const r = repo.update(
            p.id,
            (d) => {
              d.name = p.name
            },
            { action: 'rename', message: p.name === null ? 'Name cleared' : `Renamed to "${p.name}"` },
          )
          return view(r ?? mustGet(p.id))
        },
        'devices.setLocation': (p) => {
          mustGet(p.id)
          const r = repo.update(
            p.id,
            (d) => {
              for (const k of ['site', 'rack', 'row', 'slot'] as const)
                if (p[k] !== undefined) d.location[k] = p[k] ?? null
            },
            { action: 'set-location', message: 'Location changed' },
          )
          return view(r ?? mustGet(p.id))
        },
        'devices.tag': (p) => {
          for (const id of p.ids) mustGet(id)
          const out: Device[] = []
          for (const id of p.ids) {
            const r = repo.update(
              id,
              (d) => {
                const tags = new Set(d.tags)
                for (const t of p.add ?? []) tags.add(t)
                for (const t of p.remove ?? []) tags.delete(t)
                d.tags = [...tags].sort()
              },
              { action: 'tag', message: `Tags: +[${(p.add ?? []).join(', ')}] -[${(p.remove ?? []).join(', ')}]` },
            )
            if (r) out.push(view(r))
          }
          return { devices: out }
        },
        'devices.locate': async (p) => {
          const rec = mustGet(p.id)
          const driver = await mustDriver(rec)
          const mode = driver.capabilities.locate
          if (mode === 'none') return fail({ code: 'NOT_SUPPORTED', message: 'This device has no locate function' })
          const prev = locateTimers.get(rec.id)
          if (prev) clearTimeout(prev)
          locateTimers.delete(rec.id)
          if (!p.on && mode === 'timed') return { on: false, mode, untilMs: null }
          const r = await driver.locate(p.on)
          repo.logAction(
            rec.id,
            'locate',
            r.ok ? 'ok' : 'failed',
            r.ok ? (p.on ? 'Locate on' : 'Locate off') : r.error.message,
          )
          if (!r.ok) return fail(r.error)
          if (mode === 'timed' || !p.on) return { on: p.on, mode, untilMs: null }
          const durationMs = (p.durationS ?? o.locateDefaultS ?? 120) * 1000
          const timer = setTimeout(() => {
            locateTimers.delete(rec.id)
            void driver.locate(false).then((off) => {
              repo.logAction(
                rec.id,
                'locate',
                off.ok ? 'ok' : 'failed',
                off.ok ? 'Locate off (timer)' : off.error.message,
              )
            })
          }, durationMs)
          timer.unref?.()
          locateTimers.set(rec.id, timer)
          return { on: true, mode, untilMs: Date.now() + durationMs }
        },
        'devices.reboot': async (p) => {
          const rec = mustGet(p.id)
          const driver = await mustDriver(rec)
          if (!driver.capabilities.reboot)
            return fail({ code: 'NOT_SUPPORTED', message: 'This device cannot be restarted from Hashyard' })
          setBusy(rec.id, 'reboot')
          try {
            const r = await driver.reboot()
            repo.logAction(rec.id, 'reboot', r.ok ? 'ok' : 'failed', r.ok ? 'Restart requested' : r.error.message)
            if (!r.ok) return fail(r.error)
            poller.pollSoon(rec.id)
            return { rebooted: true }
          } finally {
            setBusy(rec.id, null)
          }
        },
        'devices.setCredentials': async (p) => {
          const r = await credentials.set(p.vendor, p.range, p.username, p.password)
          if (!r.ok) return fail(r.error)
          ctx.events.append(
            'info',
            'devices',
            p.password === null
              ? `Credentials for ${p.vendor}${p.range ? ` (${p.range})` : ''} removed.`
              : `Credentials for ${p.vendor}${p.range ? ` (${p.range})` : ''} saved.`,
          )
          return r.value
        },
        'devices.listCredentials': () => ({ credentials: credentials.list() }),
        'devices.assignPools': async (p) => {
          const valid = validateRequest(p)
          if (!valid.ok) return fail(valid.error)
          const recs = p.ids.map(mustGet)
          const preview = previewAssign(recs, p)
          if (!preview.ok) return fail(preview.error)
          if (p.dryRun) return { preview: preview.value }
          const targets = p.pools.map((x) => x.url).join(', ')
          const outcomes = await applyAssign(
            recs,
            preview.value,
            p,
            {
              driverOf,
              onStart: (id) => setBusy(id, 'assign-pools'),
              onOutcome: (id, out) => {
                setBusy(id, null)
                poller.pollSoon(id)
                // A new pool setting wants a new first-share confirmation.
                if (out.status === 'applied') repo.clearFirstShare(id)
                const detail =
                  out.status === 'applied'
                    ? `Pools set to ${targets} as ${out.user ?? ''}${out.restarted ? ' (restarted)' : ''}`
                    : `${out.status === 'skipped' ? 'Skipped' : `Failed at ${out.stage}`}: ${out.message ?? ''}${
                        out.previous && out.status === 'failed' ? ` (previous pools ${out.previous})` : ''
                      }`
                repo.logAction(id, 'assign-pools', out.status === 'applied' ? 'ok' : 'failed', detail, {
                  pools: p.pools.map((x) => x.url),
                  user: out.user,
                  status: out.status,
                  stage: out.stage,
                  previous: out.previous,
                })
              },
            },
            {
              ...(p.batchSize !== undefined ? { batchSize: p.batchSize } : {}),
              ...(p.pauseMs !== undefined ? { pauseMs: p.pauseMs } : {}),
              ...(o.verifyAttempts !== undefined ? { verifyAttempts: o.verifyAttempts } : {}),
              ...(o.verifyDelayMs !== undefined ? { verifyDelayMs: o.verifyDelayMs } : {}),
              logger: log.child('assign'),
            },
          )
          const applied = outcomes.filter((x) => x.status === 'applied').length
          ctx.events.append(
            applied === outcomes.length ? 'info' : 'warn',
            'devices',
            `Pool change: ${applied} of ${outcomes.length} devices applied.`,
          )
          return { preview: preview.value, outcomes }
        },
        'mdns.start': () => {
          const r = mdns.start()
          if (!r.ok) return fail(r.error)
          return mdnsStatus()
        },
        'mdns.stop': async () => {
          await mdns.stop()
          return mdnsStatus()
        },
        'mdns.status': () => mdnsStatus(),
        'devices.appPoolUrls': (p) => ({
          urls: appPoolUrls(p.port, o.networkInterfaces?.()),
        }),
        'devices.actionLog': (p) => ({
          entries: repo.actions({
            ...(p.id !== undefined ? { deviceId: p.id } : {}),
            ...(p.beforeSeq !== undefined ? { beforeSeq: p.beforeSeq } : {}),
            limit: p.limit ?? 200,
          }),
        }),
      } satisfies HandlerMap

      const topics = {
        'scan.stream': {
          delivery: 'ordered' as const,
          replay: (p: { sinceSeq?: number | undefined }) => scans.replay(p.sinceSeq),
          onFrame: (cb: Parameters<ScanSession['onFrame']>[0]) => scans.onFrame(cb),
        },
        'devices.stream': {
          delivery: 'latest' as const,
          snapshot: () => ({ tsMs: Date.now(), devices: repo.list().map(view) }),
          onChange: (cb: () => void) => {
            streamListeners.add(cb)
            return () => streamListeners.delete(cb)
          },
        },
      } satisfies TopicMap

      if (o.poll?.enabled !== false) poller.start()
      if (mdnsAutoStart) {
        const r = mdns.start()
        if (!r.ok) log.warn('mdns discovery did not start', { error: r.error.message })
      }
      running = service
      log.info('devices module started', { devices: repo.list().length })

      return {
        handlers,
        topics,
        async stop() {
          if (running === service) running = undefined
          offSerialOnline()
          scans.cancel()
          await mdns.stop()
          await scans.settle()
          await poller.stop()
          for (const t of locateTimers.values()) clearTimeout(t)
          locateTimers.clear()
          if (notifyTimer) clearTimeout(notifyTimer)
          offRepo()
        },
      }
    },
  }
}

/** The module as listed in src/core/modules.ts. */
export const devicesModule: CoreModuleDef = createDevicesModule()

/** Used in log lines where a device name must appear. */
export const deviceLabel = (r: DeviceRecord): string => sanitizeForLog(r.name ?? r.hostname ?? r.ip ?? r.id)
