import { randomUUID } from 'node:crypto'
import type { Clock } from '../clock'
import { SlidingWindowLimiter } from '../rate-limit'
import { RollingBaseline } from './baseline'
import { comparePools, type PoolDrift } from './pool-drift'
import { cleanName, formatDuration, formatPct, formatThs } from './text'
import {
  type AlertData,
  type AlertEvent,
  type AlertRule,
  type AlertSubject,
  DEVICE_RULE_TYPES,
  type Observation,
  type OpenIncident,
  type PoolRef,
  type RuleType,
  type SubjectKind,
} from './types'

export interface AlertEngineOptions {
  rules: readonly AlertRule[]
  now: Clock
  /** The owner's tags of a device, for tag-scoped rules. */
  tagsOf?: (deviceId: string) => readonly string[]
  /** The pools Hashyard last wrote to a device; undefined when it never assigned any (no drift check). */
  assignedPools?: (deviceId: string) => readonly PoolRef[] | undefined
  /**
   * A device's 24 h mean hashrate from stored history (survives restarts). When absent or null the
   * engine uses its own rolling mean of the polls it has seen (needs an hour of them).
   */
  baselineThs?: (deviceId: string, nowMs: number) => number | null
  /** Notifications per subject (device, upstream…): default 6 per hour. Block-found is exempt. */
  perSubjectLimit?: { max: number; windowMs: number }
  /** Incidents the alert centre still shows open: they resume as firing and recover once. */
  openIncidents?: readonly OpenIncident[]
  /** Addresses already announced as unknown devices (from the alert centre). */
  announcedAddresses?: Iterable<string>
  newId?: () => string
}

interface Share {
  atMs: number
  accepted: number
  rejected: number
  stale: number
}

interface DeviceState {
  id: string
  name: string
  firstSeenMs: number
  reachable?: boolean
  backOnlineMs?: number
  lastAcceptedMs?: number
  acceptedTotal?: number
  hashrateThs: number | null
  nameplateThs: number | null
  maxTempC: number | null
  pools: ReadonlyArray<PoolRef & { active?: boolean }> | null
  shares: Share[]
  sharesSinceMs?: number
  baseline: RollingBaseline
}

interface OtherState {
  kind: 'upstream' | 'proxy' | 'node'
  id: string
  name: string
  up?: boolean
  activeUpstreamId?: string | null
  preferredUpstreamId?: string
  templateAgeMs?: number | null
}

interface IncidentState {
  phase: 'pending' | 'firing'
  ruleId: string
  subject: { kind: SubjectKind; id: string }
  sinceMs: number
  incidentId?: string
  firedAtMs?: number
  notified?: boolean
}

/** What one rule says about one subject right now; undefined cond = not enough data, keep state. */
interface Check {
  cond: boolean | undefined
  fired?: () => Text
  recovered?: () => Text
}

interface Text {
  title: string
  message: string
  data: AlertData
}

const HOUR_MS = 3_600_000
const num = (v: number | null | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const level = (r: AlertRule): number => (r.scope.kind === 'device' ? 2 : r.scope.kind === 'tag' ? 1 : 0)
const keyOf = (ruleId: string, kind: SubjectKind, id: string) => `${ruleId}\u0000${kind}\u0000${id}`

/**
 * Evaluates alert rules over observations (issue 7 §2). Pure apart from the injected clock: feed
 * it observations and call `tick()` every few seconds; it returns the events to deliver.
 *
 * Per (rule, subject) it runs one state machine: ok → pending (condition seen true) → firing
 * (condition held for the rule's `forMs`: one `fired` event) → ok (condition seen false: one
 * `recovered` event). A condition that clears while pending is forgotten silently. "Unknown"
 * (no data, device offline for a temperature rule) keeps the state as it is.
 *
 * Quiet start-up, precisely:
 * 1. Every debounce clock starts at an evaluation by this engine, so no earlier than
 *    `startedAtMs`: a condition already true when the app starts fires at `startedAtMs + forMs`
 *    at the earliest, and only if every evaluation in between still saw it true.
 * 2. Durations measured from the past (no accepted share for N min) count from the latest of the
 *    past event, `startedAtMs` and the device's first observation by this engine.
 * 3. Rate rules (reject/stale %) stay silent until a whole window of shares has been observed
 *    since `startedAtMs`.
 * 4. Instant events (block found, new device) are delivered only when their `tsMs` ≥ `startedAtMs`.
 * 5. Incidents open in the alert centre (`openIncidents`) resume as firing: no second `fired`,
 *    and one `recovered` when the condition is next seen false.
 */
export class AlertEngine {
  readonly startedAtMs: number
  #rules: AlertRule[] = []
  #byType = new Map<RuleType, AlertRule[]>()
  readonly #o: AlertEngineOptions
  readonly #devices = new Map<string, DeviceState>()
  readonly #others = new Map<string, OtherState>()
  readonly #incidents = new Map<string, IncidentState>()
  readonly #announced: Set<string>
  readonly #blocks = new Set<string>()
  readonly #limiter: SlidingWindowLimiter
  readonly #newId: () => string
  #shareWindowMs = 0

  constructor(opts: AlertEngineOptions) {
    this.#o = opts
    this.startedAtMs = opts.now()
    this.#newId = opts.newId ?? randomUUID
    const lim = opts.perSubjectLimit ?? { max: 6, windowMs: HOUR_MS }
    this.#limiter = new SlidingWindowLimiter(lim.max, lim.windowMs)
    this.#announced = new Set(opts.announcedAddresses ?? [])
    this.#setRules(opts.rules)
    for (const inc of opts.openIncidents ?? []) {
      if (!this.#rules.some((r) => r.id === inc.ruleId)) continue
      this.#incidents.set(keyOf(inc.ruleId, inc.subject.kind, inc.subject.id), {
        phase: 'firing',
        ruleId: inc.ruleId,
        subject: { kind: inc.subject.kind, id: inc.subject.id },
        sinceMs: inc.firedAtMs,
        incidentId: inc.incidentId,
        firedAtMs: inc.firedAtMs,
        notified: true,
      })
    }
  }

  get rules(): readonly AlertRule[] {
    return this.#rules
  }

  /** Replaces the rules. Incidents of rules that no longer apply are `closed` (in-app only). */
  setRules(rules: readonly AlertRule[]): AlertEvent[] {
    this.#setRules(rules)
    return this.#sweep()
  }

  #setRules(rules: readonly AlertRule[]): void {
    this.#rules = rules.map((r) => ({ ...r }))
    this.#byType = new Map()
    for (const r of this.#rules) this.#byType.set(r.type, [...(this.#byType.get(r.type) ?? []), r])
    this.#shareWindowMs = Math.max(
      0,
      ...this.#rules.map((r) => (r.type === 'reject-rate-high' || r.type === 'stale-rate-high' ? r.windowMs : 0)),
    )
  }

  /** Incidents currently firing (for the UI's "needs attention" and the daily summary). */
  firing(): Array<{
    incidentId: string
    ruleId: string
    subject: { kind: SubjectKind; id: string }
    firedAtMs: number
  }> {
    const out = []
    for (const s of this.#incidents.values()) {
      if (s.phase === 'firing') {
        out.push({ incidentId: s.incidentId!, ruleId: s.ruleId, subject: { ...s.subject }, firedAtMs: s.firedAtMs! })
      }
    }
    return out
  }

  observe(o: Observation): AlertEvent[] {
    const now = this.#o.now()
    switch (o.kind) {
      case 'device': {
        const d = this.#device(o.deviceId, o.name, now)
        if (o.reachable && d.reachable === false) d.backOnlineMs = now
        d.reachable = o.reachable
        if (o.reachable) {
          d.hashrateThs = num(o.hashrateThs)
          d.maxTempC = num(o.maxTempC)
          if (o.nameplateThs !== undefined) d.nameplateThs = num(o.nameplateThs)
          if (o.pools !== undefined) d.pools = o.pools
          const total = num(o.acceptedTotal)
          if (total !== null) {
            if (d.acceptedTotal !== undefined && total > d.acceptedTotal) d.lastAcceptedMs = now
            d.acceptedTotal = total
          }
          if (d.hashrateThs !== null) d.baseline.add(now, d.hashrateThs)
        }
        return this.#evalDevice(d, now)
      }
      case 'shares': {
        const d = this.#device(o.deviceId, o.name, now)
        const s = {
          atMs: now,
          accepted: num(o.accepted) ?? 0,
          rejected: num(o.rejected) ?? 0,
          stale: num(o.stale) ?? 0,
        }
        d.shares.push(s)
        d.sharesSinceMs ??= now
        if (s.accepted > 0) d.lastAcceptedMs = now
        return this.#evalDevice(d, now)
      }
      case 'upstream': {
        const u = this.#other('upstream', o.upstreamId, o.name)
        u.up = o.up
        return this.#evalOther(u, now)
      }
      case 'proxy': {
        const p = this.#other('proxy', o.proxyId, o.name)
        p.activeUpstreamId = o.activeUpstreamId
        p.preferredUpstreamId = o.preferredUpstreamId
        return this.#evalOther(p, now)
      }
      case 'node': {
        const n = this.#other('node', o.nodeId, o.name)
        n.up = o.reachable
        n.templateAgeMs = num(o.templateAgeMs)
        return this.#evalOther(n, now)
      }
      case 'discovery': {
        if (o.known || o.tsMs < this.startedAtMs || this.#announced.has(o.address)) return []
        this.#announced.add(o.address)
        const subject: AlertSubject = { kind: 'address', id: o.address, name: cleanName(o.address, o.address) }
        const what = [o.model, o.name].filter((x): x is string => !!x).map((x) => cleanName(x, ''))
        return this.#instant('unknown-device', subject, now, {
          title: `New device on the network: ${subject.name}`,
          message: `Discovery found ${subject.name}${what.length ? ` (${what.join(', ')})` : ''}, which is not in your farm. Add it, or dismiss it if it is not yours.`,
          data: { address: subject.name, model: o.model ? cleanName(o.model, '') : null },
        })
      }
      case 'block': {
        if (o.tsMs < this.startedAtMs || this.#blocks.has(o.hash)) return []
        this.#blocks.add(o.hash)
        const by = o.deviceName ?? o.worker ?? o.deviceId
        const byText = by ? ` by ${cleanName(by, '')}` : ''
        const reward = num(o.rewardSats)
        return this.#instant('block-found', { kind: 'farm', id: 'farm', name: 'Farm' }, now, {
          title: `Block found at height ${o.height}${byText}!`,
          message: `Your farm found block ${o.height}${byText}. Hash ${cleanName(o.hash, '')}.${reward !== null ? ` Reward ${(reward / 1e8).toFixed(8)} BTC.` : ''}`,
          data: {
            height: o.height,
            hash: cleanName(o.hash, ''),
            deviceId: o.deviceId ?? null,
            worker: o.worker ? cleanName(o.worker, '') : null,
            rewardSats: reward,
          },
        })
      }
      default:
        // Observations cross from other modules' code; an unknown kind is ignored, not a crash.
        return []
    }
  }

  /** Re-evaluates every subject against the clock (debounces complete, silences grow long). */
  tick(): AlertEvent[] {
    const now = this.#o.now()
    const out: AlertEvent[] = []
    for (const d of this.#devices.values()) out.push(...this.#evalDevice(d, now))
    for (const s of this.#others.values()) out.push(...this.#evalOther(s, now))
    out.push(...this.#sweep())
    return out
  }

  /** A device removed from the farm: its incidents close and its state is dropped. */
  forgetDevice(deviceId: string): AlertEvent[] {
    const now = this.#o.now()
    const d = this.#devices.get(deviceId)
    const out: AlertEvent[] = []
    for (const [k, s] of this.#incidents) {
      if (s.subject.kind !== 'device' || s.subject.id !== deviceId) continue
      this.#incidents.delete(k)
      const rule = this.#rules.find((r) => r.id === s.ruleId)
      if (s.phase === 'firing' && rule)
        out.push(this.#closed(rule, s, d?.name ?? deviceId, now, 'the device was removed'))
    }
    this.#devices.delete(deviceId)
    return out
  }

  #device(id: string, name: string | undefined, now: number): DeviceState {
    let d = this.#devices.get(id)
    if (!d) {
      d = {
        id,
        name: cleanName(name, id),
        firstSeenMs: now,
        hashrateThs: null,
        nameplateThs: null,
        maxTempC: null,
        pools: null,
        shares: [],
        baseline: new RollingBaseline(),
      }
      this.#devices.set(id, d)
    } else if (name !== undefined) d.name = cleanName(name, id)
    return d
  }

  #other(kind: OtherState['kind'], id: string, name: string | undefined): OtherState {
    const key = `${kind}\u0000${id}`
    let s = this.#others.get(key)
    if (!s) {
      s = { kind, id, name: cleanName(name, id) }
      this.#others.set(key, s)
    } else if (name !== undefined) s.name = cleanName(name, id)
    return s
  }

  /** The enabled rules of a type for a subject, after scope precedence (device > tag > farm). */
  #applicable(type: RuleType, kind: SubjectKind, id: string): AlertRule[] {
    const ofType = this.#byType.get(type)
    if (!ofType) return []
    let tags: readonly string[] | undefined
    const matches = ofType.filter((r) => {
      if (r.scope.kind === 'farm') return true
      if (r.scope.kind === 'device') return r.scope.deviceId === id
      if (kind !== 'device') return false
      tags ??= this.#o.tagsOf?.(id) ?? []
      return tags.includes(r.scope.tag)
    })
    if (matches.length === 0) return []
    const top = Math.max(...matches.map(level))
    return matches.filter((r) => level(r) === top && r.enabled)
  }

  #evalDevice(d: DeviceState, now: number): AlertEvent[] {
    const cutoff = now - this.#shareWindowMs
    while (d.shares.length > 0 && d.shares[0]!.atMs <= cutoff) d.shares.shift()
    const subject: AlertSubject = { kind: 'device', id: d.id, name: d.name }
    const out: AlertEvent[] = []
    for (const type of DEVICE_RULE_TYPES) {
      for (const rule of this.#applicable(type, 'device', d.id)) {
        out.push(...this.#step(rule, subject, this.#checkDevice(rule, d, now), now))
      }
    }
    return out
  }

  #evalOther(s: OtherState, now: number): AlertEvent[] {
    const types: RuleType[] =
      s.kind === 'upstream'
        ? ['upstream-down']
        : s.kind === 'proxy'
          ? ['proxy-failover']
          : ['node-unreachable', 'template-stale']
    const subject: AlertSubject = { kind: s.kind, id: s.id, name: s.name }
    const out: AlertEvent[] = []
    for (const type of types) {
      for (const rule of this.#applicable(type, s.kind, s.id)) {
        out.push(...this.#step(rule, subject, this.#checkOther(rule, s), now))
      }
    }
    return out
  }

  #checkDevice(rule: AlertRule, d: DeviceState, now: number): Check {
    const n = d.name
    switch (rule.type) {
      case 'device-offline': {
        const since = this.#incidents.get(keyOf(rule.id, 'device', d.id))?.sinceMs ?? now
        return {
          cond: d.reachable === undefined ? undefined : !d.reachable,
          fired: () => ({
            title: `${n} is offline`,
            message: `${n} has not answered its polls for ${formatDuration(now - since)}.`,
            data: { offlineForMs: now - since },
          }),
          recovered: () => ({ title: `${n} is back online`, message: `${n} answers its polls again.`, data: {} }),
        }
      }
      case 'no-accepted-share': {
        // Offline has its own rule; while offline this one waits, and the silence restarts when it returns.
        if (d.reachable === false) return { cond: undefined }
        const last = d.lastAcceptedMs ?? 0
        const from = Math.max(last, this.startedAtMs, d.firstSeenMs, d.backOnlineMs ?? 0)
        const silentMs = now - from
        return {
          cond: silentMs >= rule.forMs,
          fired: () => ({
            title: `${n}: no accepted share for ${formatDuration(silentMs)}`,
            message: `${n} is reachable but no accepted share has arrived for ${formatDuration(silentMs)}. Check its pool settings and the pool's log.`,
            data: { silentForMs: silentMs, lastAcceptedAtMs: d.lastAcceptedMs ?? null },
          }),
          recovered: () =>
            from === last
              ? { title: `${n} is finding shares again`, message: `${n} submitted an accepted share.`, data: {} }
              : {
                  title: `${n} is back online`,
                  message: `${n} came back online; Hashyard is watching for its shares again.`,
                  data: {},
                },
        }
      }
      case 'hashrate-low': {
        if (d.reachable !== true || d.hashrateThs === null) return { cond: undefined }
        const own = rule.baseline === 'own-24h' ? (this.#o.baselineThs?.(d.id, now) ?? d.baseline.meanAt(now)) : null
        const base = own ?? d.nameplateThs
        if (base === null || !(base > 0)) return { cond: undefined }
        const label = own !== null ? 'its 24 h average' : 'its nameplate'
        const hr = d.hashrateThs
        return {
          cond: hr < (base * rule.belowPct) / 100,
          fired: () => ({
            title: `${n}: hashrate down to ${formatThs(hr)}`,
            message: `${n} is hashing ${formatThs(hr)}, below ${formatPct(rule.belowPct)} of ${label} (${formatThs(base)}).`,
            data: { hashrateThs: hr, baselineThs: base, belowPct: rule.belowPct },
          }),
          recovered: () => ({
            title: `${n}: hashrate back to ${formatThs(hr)}`,
            message: `${n} is hashing ${formatThs(hr)} again (${label} ${formatThs(base)}).`,
            data: { hashrateThs: hr, baselineThs: base },
          }),
        }
      }
      case 'temp-high': {
        if (d.reachable !== true || d.maxTempC === null) return { cond: undefined }
        const t = d.maxTempC
        return {
          cond: t > rule.aboveC,
          fired: () => ({
            title: `${n} is running hot: ${t.toFixed(1)} °C`,
            message: `${n} has stayed above ${rule.aboveC} °C for ${formatDuration(rule.forMs)} (now ${t.toFixed(1)} °C). Check its fans and airflow.`,
            data: { tempC: t, limitC: rule.aboveC },
          }),
          recovered: () => ({
            title: `${n} has cooled to ${t.toFixed(1)} °C`,
            message: `${n} is back under ${rule.aboveC} °C.`,
            data: { tempC: t },
          }),
        }
      }
      case 'reject-rate-high':
      case 'stale-rate-high': {
        const since = Math.max(this.startedAtMs, d.sharesSinceMs ?? Number.POSITIVE_INFINITY)
        if (now - since < rule.windowMs) return { cond: undefined }
        let total = 0
        let bad = 0
        for (const s of d.shares) {
          if (s.atMs <= now - rule.windowMs) continue
          total += s.accepted + s.rejected + s.stale
          bad += rule.type === 'reject-rate-high' ? s.rejected : s.stale
        }
        const ratePct = total === 0 ? 0 : (bad / total) * 100
        const what = rule.type === 'reject-rate-high' ? 'rejected' : 'stale'
        return {
          cond: total >= rule.minShares && ratePct > rule.abovePct,
          fired: () => ({
            title: `${n}: ${formatPct(ratePct)} of shares ${what}`,
            message: `${bad} of ${n}'s last ${total} shares were ${what} over ${formatDuration(rule.windowMs)} (limit ${formatPct(rule.abovePct)}). The share diagnosis explains why.`,
            data: { ratePct, bad, total, windowMs: rule.windowMs },
          }),
          recovered: () => ({
            title: `${n}: ${what} shares back to ${formatPct(ratePct)}`,
            message: `${n}'s ${what} rate is ${formatPct(ratePct)} over the last ${formatDuration(rule.windowMs)}.`,
            data: { ratePct, bad, total },
          }),
        }
      }
      case 'pool-drift': {
        if (d.reachable !== true || d.pools === null) return { cond: undefined }
        const assigned = this.#o.assignedPools?.(d.id)
        if (!assigned || assigned.length === 0) return { cond: undefined }
        const drift = comparePools(d.pools, assigned)
        return {
          cond: drift !== null,
          fired: () => driftText(n, drift!),
          recovered: () => ({
            title: `${n}: pools match Hashyard again`,
            message: `${n}'s pools are the ones Hashyard assigned.`,
            data: {},
          }),
        }
      }
      default:
        return { cond: undefined }
    }
  }

  #checkOther(rule: AlertRule, s: OtherState): Check {
    const n = s.name
    switch (rule.type) {
      case 'upstream-down':
        return {
          cond: s.up === undefined ? undefined : !s.up,
          fired: () => ({
            title: `Upstream ${n} is down`,
            message: `The proxy cannot reach upstream pool ${n}.`,
            data: {},
          }),
          recovered: () => ({ title: `Upstream ${n} is up`, message: `Upstream pool ${n} answers again.`, data: {} }),
        }
      case 'proxy-failover': {
        if (s.preferredUpstreamId === undefined) return { cond: undefined }
        const active = s.activeUpstreamId ?? null
        const pref = s.preferredUpstreamId
        return {
          cond: active !== pref,
          fired: () => ({
            title: `Proxy ${n} failed over`,
            message:
              active === null
                ? `Proxy ${n} has no upstream connected (preferred: ${cleanName(pref, pref)}).`
                : `Proxy ${n} is mining on ${cleanName(active, active)} instead of its preferred upstream ${cleanName(pref, pref)}.`,
            data: { activeUpstreamId: active, preferredUpstreamId: pref },
          }),
          recovered: () => ({
            title: `Proxy ${n} is back on ${cleanName(pref, pref)}`,
            message: `Proxy ${n} mines on its preferred upstream again.`,
            data: { activeUpstreamId: pref },
          }),
        }
      }
      case 'node-unreachable':
        return {
          cond: s.up === undefined ? undefined : !s.up,
          fired: () => ({
            title: `Bitcoin node ${n} is unreachable`,
            message: `The pool cannot reach bitcoin node ${n}: no new work for the miners.`,
            data: {},
          }),
          recovered: () => ({
            title: `Bitcoin node ${n} is reachable`,
            message: `Bitcoin node ${n} answers again.`,
            data: {},
          }),
        }
      case 'template-stale': {
        if (s.up !== true || s.templateAgeMs == null) return { cond: undefined }
        const age = s.templateAgeMs
        return {
          cond: age > rule.maxAgeMs,
          fired: () => ({
            title: `Stale block template from ${n}`,
            message: `The pool's block template from ${n} is ${formatDuration(age)} old (limit ${formatDuration(rule.maxAgeMs)}): miners may be working on an old block.`,
            data: { templateAgeMs: age, maxAgeMs: rule.maxAgeMs },
          }),
          recovered: () => ({
            title: `Fresh block template from ${n}`,
            message: `${n} delivers fresh templates again.`,
            data: {},
          }),
        }
      }
      default:
        return { cond: undefined }
    }
  }

  #step(rule: AlertRule, subject: AlertSubject, check: Check, now: number): AlertEvent[] {
    if (check.cond === undefined) return []
    const key = keyOf(rule.id, subject.kind, subject.id)
    const st = this.#incidents.get(key)
    if (!check.cond) {
      if (!st) return []
      this.#incidents.delete(key)
      if (st.phase === 'pending') return []
      const t = check.recovered?.() ?? { title: `${subject.name}: recovered`, message: '', data: {} }
      return [this.#event(rule, subject, 'recovered', now, t, st.incidentId!, !st.notified, st.firedAtMs)]
    }
    if (st?.phase === 'firing') return []
    const pending = st ?? {
      phase: 'pending' as const,
      ruleId: rule.id,
      subject: { kind: subject.kind, id: subject.id },
      sinceMs: now,
    }
    if (!st) this.#incidents.set(key, pending)
    // no-accepted-share measures its silence itself; debouncing it again would double the wait.
    const forMs = rule.type !== 'no-accepted-share' && 'forMs' in rule ? rule.forMs : 0
    if (now - pending.sinceMs < forMs) return []
    const notified = this.#limiter.tryTake(`${subject.kind}\u0000${subject.id}`, now)
    const incidentId = this.#newId()
    this.#incidents.set(key, { ...pending, phase: 'firing', incidentId, firedAtMs: now, notified })
    const t = check.fired?.() ?? { title: `${subject.name}: ${rule.type}`, message: '', data: {} }
    return [this.#event(rule, subject, 'fired', now, t, incidentId, !notified)]
  }

  #instant(type: 'unknown-device' | 'block-found', subject: AlertSubject, now: number, t: Text): AlertEvent[] {
    return this.#applicable(type, subject.kind, subject.id).map((rule) => {
      const notified = type === 'block-found' || this.#limiter.tryTake(`${subject.kind}\u0000${subject.id}`, now)
      return this.#event(rule, subject, 'event', now, t, this.#newId(), !notified)
    })
  }

  /** Closes incidents whose rule was removed, disabled or overridden by a more specific one. */
  #sweep(): AlertEvent[] {
    const now = this.#o.now()
    const out: AlertEvent[] = []
    for (const [k, s] of this.#incidents) {
      const rule = this.#rules.find((r) => r.id === s.ruleId)
      const applies = rule && this.#applicable(rule.type, s.subject.kind, s.subject.id).some((r) => r.id === rule.id)
      if (applies) continue
      this.#incidents.delete(k)
      if (s.phase !== 'firing') continue
      const name =
        s.subject.kind === 'device'
          ? (this.#devices.get(s.subject.id)?.name ?? s.subject.id)
          : (this.#others.get(`${s.subject.kind}\u0000${s.subject.id}`)?.name ?? s.subject.id)
      const r = rule ?? this.#removedRule(s.ruleId)
      out.push(this.#closed(r, s, name, now, rule ? 'its rule was turned off or overridden' : 'its rule was deleted'))
    }
    return out
  }

  #removedRule(id: string): AlertRule {
    return { id, type: 'device-offline', forMs: 0, enabled: false, scope: { kind: 'farm' }, severity: 'info' }
  }

  #closed(rule: AlertRule, s: IncidentState, name: string, now: number, why: string): AlertEvent {
    const subject: AlertSubject = { kind: s.subject.kind, id: s.subject.id, name: cleanName(name, s.subject.id) }
    return this.#event(
      rule,
      subject,
      'closed',
      now,
      { title: `${subject.name}: alert closed`, message: `Closed because ${why}.`, data: {} },
      s.incidentId!,
      true,
      s.firedAtMs,
    )
  }

  #event(
    rule: AlertRule,
    subject: AlertSubject,
    phase: AlertEvent['phase'],
    now: number,
    t: Text,
    incidentId: string,
    suppressed: boolean,
    firedAtMs?: number,
  ): AlertEvent {
    const e: AlertEvent = {
      incidentId,
      phase,
      ruleId: rule.id,
      ruleType: rule.type,
      severity: rule.severity,
      subject,
      tsMs: now,
      title: t.title,
      message: t.message,
      data: t.data,
      channels: rule.channels ?? null,
      suppressed,
    }
    if (firedAtMs !== undefined) {
      e.firedAtMs = firedAtMs
      e.data = { ...e.data, durationMs: now - firedAtMs }
    }
    return e
  }
}

function driftText(name: string, d: PoolDrift): Text {
  const show = (p: PoolRef | null) =>
    p ? `${cleanName(p.url, '(empty)')} as ${cleanName(p.user, '(no user)')}` : 'nothing'
  const slot = `pool ${d.slot + 1}`
  const message =
    d.reason === 'active-unassigned'
      ? `${name} is mining on ${show(d.found)}, a pool Hashyard did not assign. Its pools were changed outside Hashyard.`
      : `${name}'s ${slot} is ${show(d.found)}, but Hashyard assigned ${show(d.expected)}. Its pools were changed outside Hashyard (on the device itself?).`
  return {
    title: `${name}: pool changed outside Hashyard`,
    message,
    data: {
      slot: d.slot,
      reason: d.reason,
      expectedUrl: d.expected ? cleanName(d.expected.url, '') : null,
      expectedUser: d.expected ? cleanName(d.expected.user, '') : null,
      foundUrl: d.found ? cleanName(d.found.url, '') : null,
      foundUser: d.found ? cleanName(d.found.user, '') : null,
    },
  }
}
