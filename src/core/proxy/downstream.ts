/**
 * One miner connected to the proxy, without a socket: the proxy feeds it decoded requests and
 * gives it a `DownstreamHost`. It answers the miner from local validation at the miner's own
 * vardiff difficulty (never above the upstream's), and hands every share that also meets the
 * upstream target to the host for forwarding (research/stratum.md §5.5 steps 4, 5, 10).
 *
 * Why not `stratum/session.ts`: that session's extranonce1 is fixed for life and 4 bytes, its
 * subscribe is answered at once (the proxy must wait for an upstream), its share event lacks the
 * submitted fields a proxy forwards, and it owns block assembly. See the report for the hooks
 * that would let the two share code.
 */
import { difficultyToTarget, meetsTargetLE, targetToBytesLE, targetToDifficulty } from '../bitcoin/target'
import type { Logger } from '../logger'
import { computeShare, rolledVersion, versionWithinMask } from '../pool/share'
import type { RpcId, RpcRequest } from '../stratum/codec'
import {
  encodeError,
  encodeReconnect,
  encodeReject,
  encodeResult,
  encodeSetDifficulty,
  encodeSetExtranonce,
  encodeSetVersionMask,
  encodeSubscribeResult,
  encodeTrue,
  hex32,
  parseAuthorize,
  parseConfigure,
  parseSubmit,
  parseSubscribe,
  parseSuggestDifficulty,
  type RejectReason,
  StratumErrorCode,
} from '../stratum/messages'
import type { StormPolicy } from '../stratum/session'
import { Vardiff, type VardiffConfig } from '../stratum/vardiff'
import type { ProxyJob } from './proxy-job'

/** Where a miner's work comes from: one upstream session and its prefix there. */
export interface Assignment {
  sessionId: number
  /** `en1_up ‖ prefix`: what the miner is told. */
  extranonce1: Buffer
  /** Its last bytes as the job's extranonce1 (see `proxy-job.ts jobExtranonce1Size`). */
  jobExtranonce1: Buffer
  extranonce2Size: number
  prefix: Buffer
  /** The session's version-rolling mask. */
  upstreamMask: number
}

/** A share that met the upstream target. */
export interface ForwardShare {
  job: ProxyJob
  extranonce2Hex: string
  ntime: number
  nonce: number
  /** Rolled bits inside the mask (BIP310 form), when the miner rolls. */
  versionBits?: number
  shareDifficulty: number
  hashHex: string
}

export interface DownstreamHost {
  readonly logger: Logger
  write(line: string): void
  close(reason: string): void
  /** A job by local id (any session), to tell "stale" from "unknown". */
  lookupJob(localId: string): ProxyJob | undefined
  /** The newest job of a session. */
  currentJob(sessionId: number): ProxyJob | undefined
  /** The session's generation (bumped by clean jobs and extranonce changes). */
  generation(sessionId: number): number
  /** Same work under a fresh local id (to apply a new difficulty at once). */
  reissue(job: ProxyJob): ProxyJob
  /** Mask to offer a miner before it has an upstream. */
  defaultMask(): number
  /** Escalation for a miner that sends only invalid shares. */
  readonly storm: StormPolicy
  /** A share passed local validation at `difficulty` (hashrate windows; must not allocate). */
  onAccepted(difficulty: number, nowMs: number): void
  /** The miner sent a (new) worker name. */
  onAuthorize(name: string): void
  forward(share: ForwardShare): void
}

interface Sent {
  difficulty: number
  targetLE: Buffer
  sentAtMs: number
}

const SENT_JOBS_KEPT = 32

export interface DownstreamCounters {
  accepted: number
  rejected: number
  rejectedByReason: Partial<Record<RejectReason, number>>
  diffAccepted: number
  bestShareDifficulty: number
  lastShareTsMs: number | undefined
  forwarded: number
}

export class Downstream {
  readonly id: number
  readonly remoteAddress: string
  readonly connectedAtMs: number
  userAgent = ''
  readonly workers: string[] = []
  extranonceSubscribed = false
  /** The miner's BIP310 mask request; undefined = never configured. */
  minerMask: number | undefined
  /** Mask in force (miner ∩ upstream); undefined = not rolling. */
  versionMask: number | undefined
  assignment: Assignment | undefined
  /** The subscribe request waiting for an upstream. */
  pendingSubscribe: RpcId | undefined
  subscribed = false
  lastMessageMs: number
  lastNotifyMs = 0
  readonly vardiff: Vardiff
  readonly counters: DownstreamCounters = {
    accepted: 0,
    rejected: 0,
    rejectedByReason: {},
    diffAccepted: 0,
    bestShareDifficulty: 0,
    lastShareTsMs: undefined,
    forwarded: 0,
  }
  private sent = new Map<string, Sent>()
  private lastSentDifficulty: number | undefined
  private target: { difficulty: number; targetLE: Buffer } | undefined
  /** Replies held back while the subscribe reply waits, so the miner sees them in order. */
  private held: string[] | undefined
  private started = false
  private warnedBits = false
  /** Since when every share was invalid (undefined after an accepted one), and the escalation step. */
  private invalidSinceMs: number | undefined
  private stormStage = 0

  constructor(
    vardiffCfg: VardiffConfig,
    private readonly host: DownstreamHost,
    init: { id: number; remoteAddress: string; nowMs: number },
  ) {
    this.id = init.id
    this.remoteAddress = init.remoteAddress
    this.connectedAtMs = init.nowMs
    this.lastMessageMs = init.nowMs
    this.vardiff = new Vardiff(vardiffCfg)
  }

  get worker(): string {
    return this.workers[0] ?? ''
  }

  /** Subscribed, authorized and attached to an upstream: gets jobs. */
  get ready(): boolean {
    return this.subscribed && this.workers.length > 0 && this.assignment !== undefined
  }

  /** Wants an upstream: subscribed (or waiting to be) but not attached. */
  get wantsPlacement(): boolean {
    return this.pendingSubscribe !== undefined || (this.subscribed && this.assignment === undefined)
  }

  handle(req: RpcRequest, nowMs: number): void {
    this.lastMessageMs = nowMs
    const { id, method, params } = req
    switch (method) {
      case 'mining.submit':
        this.submit(id, params, nowMs)
        return
      case 'mining.subscribe': {
        const p = parseSubscribe(params)
        if (!this.subscribed && this.pendingSubscribe === undefined) {
          this.userAgent = p.userAgent
          this.vardiff.setUserAgent(p.userAgent)
        }
        if (this.assignment && this.subscribed) {
          this.reply(
            id,
            encodeSubscribeResult(id, this.assignment.extranonce1.toString('hex'), this.assignment.extranonce2Size),
          )
          return
        }
        // Answered when the proxy attaches an upstream (it may still be connecting).
        this.pendingSubscribe = id
        if (this.held === undefined) this.held = []
        return
      }
      case 'mining.authorize': {
        const p = parseAuthorize(params)
        if (!p.ok) {
          this.reply(id, `{"id":${JSON.stringify(id)},"result":false,"error":[24,${JSON.stringify(p.message)},null]}\n`)
          return
        }
        const name = p.value.username
        if (!this.workers.includes(name)) {
          if (this.workers.length >= 8) {
            this.reply(id, encodeError(id, StratumErrorCode.Unauthorized, 'at most 8 workers per connection'))
            return
          }
          this.workers.push(name)
          const d = /(?:^|[,;\s])d=([0-9][0-9.]*(?:e[+-]?[0-9]+)?)(?=$|[,;\s])/i.exec(p.value.password)
          if (d) this.vardiff.request(Number(d[1]), nowMs)
          this.host.onAuthorize(name)
        }
        this.reply(id, encodeResult(id, true))
        this.maybeStart(nowMs)
        return
      }
      case 'mining.configure':
        this.configure(id, params, nowMs)
        return
      case 'mining.extranonce.subscribe':
        this.extranonceSubscribed = true
        this.reply(id, encodeResult(id, true))
        return
      case 'mining.suggest_difficulty': {
        const p = parseSuggestDifficulty(params)
        if (!p.ok) {
          this.reply(id, encodeError(id, StratumErrorCode.Other, p.message))
          return
        }
        this.vardiff.request(p.value, nowMs)
        this.reply(id, encodeResult(id, true))
        this.applyDifficultyNow(nowMs)
        return
      }
      case 'mining.suggest_target': {
        const t = params[0]
        if (typeof t !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(t) || /^0+$/.test(t)) {
          this.reply(id, encodeError(id, StratumErrorCode.Other, 'target must be 1..64 hex digits, not zero'))
          return
        }
        this.vardiff.request(targetToDifficulty(BigInt(`0x${t}`)), nowMs)
        this.reply(id, encodeResult(id, true))
        this.applyDifficultyNow(nowMs)
        return
      }
      case 'mining.ping':
        this.reply(id, encodeResult(id, 'pong'))
        return
      case 'pong':
      case 'mining.pong':
        return
      default:
        this.reply(id, encodeError(id, StratumErrorCode.Other, `Unknown method ${method}`))
    }
  }

  private configure(id: RpcId, params: unknown[], nowMs: number): void {
    const p = parseConfigure(params)
    if (!p.ok) {
      this.reply(id, encodeError(id, StratumErrorCode.Other, p.message))
      return
    }
    const result: Record<string, unknown> = {}
    for (const ext of p.value.extensions) {
      if (ext === 'version-rolling' && p.value.versionRolling) {
        this.minerMask = p.value.versionRolling.mask
        const upstream = this.assignment?.upstreamMask ?? this.host.defaultMask()
        const mask = (upstream & this.minerMask) >>> 0
        this.versionMask = mask === 0 ? undefined : mask
        result['version-rolling'] = mask !== 0
        if (mask !== 0) result['version-rolling.mask'] = hex32(mask)
      } else if (ext === 'subscribe-extranonce') {
        this.extranonceSubscribed = true
        result['subscribe-extranonce'] = true
      } else if (ext === 'minimum-difficulty' && p.value.minimumDifficulty?.value !== undefined) {
        this.vardiff.request(p.value.minimumDifficulty.value, nowMs, true)
        result['minimum-difficulty'] = true
      } else if (ext === 'info') {
        result.info = true
      } else {
        result[ext] = false
      }
    }
    this.reply(id, encodeResult(id, result))
  }

  // -------------------------------------------------------------------------------------------
  // Placement

  /**
   * Attaches the miner to an upstream session (first time, or moved). Returns how the miner was
   * told: 'subscribe' (its pending subscribe answered), 'set_extranonce', 'none' (same extranonce),
   * or 'reconnect' (it cannot take a new extranonce: asked to reconnect, the caller closes it).
   */
  attach(a: Assignment, nowMs: number): 'subscribe' | 'set_extranonce' | 'none' | 'reconnect' {
    const before = this.assignment
    this.assignment = a
    this.updateMask(a.upstreamMask, before !== undefined)
    if (!this.subscribed) {
      if (this.pendingSubscribe === undefined) return 'none'
      const id = this.pendingSubscribe
      this.pendingSubscribe = undefined
      this.subscribed = true
      const held = this.held ?? []
      this.held = undefined
      this.reply(id, encodeSubscribeResult(id, a.extranonce1.toString('hex'), a.extranonce2Size))
      for (const line of held) this.host.write(line)
      this.sent.clear()
      this.maybeStart(nowMs)
      return 'subscribe'
    }
    const sameEn1 = before?.extranonce1.equals(a.extranonce1) && before.extranonce2Size === a.extranonce2Size
    // Work sent for the previous extranonce can no longer be submitted.
    this.sent.clear()
    let how: 'set_extranonce' | 'none' | 'reconnect' = 'none'
    if (!sameEn1) {
      if (!this.extranonceSubscribed) {
        this.host.write(encodeReconnect())
        return 'reconnect'
      }
      this.host.write(encodeSetExtranonce(a.extranonce1.toString('hex'), a.extranonce2Size))
      how = 'set_extranonce'
    }
    if (this.ready) {
      const job = this.host.currentJob(a.sessionId)
      if (job) this.sendJob(job, true, nowMs)
    }
    return how
  }

  /** The upstream went away and no replacement is ready yet: keep the connection, stop sending work. */
  detach(): void {
    this.assignment = undefined
    this.sent.clear()
  }

  /** The session's mask changed (set_version_mask upstream, or a move): tell a rolling miner. */
  updateMask(upstreamMask: number, announce = true): void {
    if (this.assignment) this.assignment.upstreamMask = upstreamMask
    if (this.minerMask === undefined) return
    const mask = (upstreamMask & this.minerMask) >>> 0
    const next = mask === 0 ? undefined : mask
    if (next === this.versionMask) return
    this.versionMask = next
    if (announce && this.subscribed) this.host.write(encodeSetVersionMask(mask))
  }

  private maybeStart(nowMs: number): void {
    if (!this.ready || this.started) return
    const job = this.host.currentJob(this.assignment!.sessionId)
    if (job) this.sendJob(job, true, nowMs)
  }

  // -------------------------------------------------------------------------------------------
  // Jobs and difficulty

  /** Sends a job of the miner's session, preceded by set_difficulty when its difficulty changed. */
  sendJob(job: ProxyJob, clean: boolean, nowMs: number): void {
    if (!this.ready) return
    // Never above the upstream's: above it we would forward fewer shares than the pool credits us
    // for and be under-paid by D_down / D_up (research §5.5 step 5).
    this.vardiff.setNetworkDifficulty(job.work.upstreamDifficulty)
    const difficulty = this.vardiff.difficulty
    if (difficulty !== this.lastSentDifficulty) {
      this.host.write(encodeSetDifficulty(difficulty))
      this.lastSentDifficulty = difficulty
    }
    if (this.target === undefined || this.target.difficulty !== difficulty) {
      this.target = { difficulty, targetLE: targetToBytesLE(difficultyToTarget(difficulty)) }
    }
    this.sent.delete(job.localId)
    this.sent.set(job.localId, { difficulty, targetLE: this.target.targetLE, sentAtMs: nowMs })
    if (this.sent.size > SENT_JOBS_KEPT) {
      const oldest = this.sent.keys().next().value
      if (oldest !== undefined) this.sent.delete(oldest)
    }
    this.host.write(job.notifyLine(clean))
    this.lastNotifyMs = nowMs
    if (!this.started) {
      this.started = true
      this.vardiff.started(nowMs)
    }
  }

  /** Resends the current job without touching its recorded difficulty (keeps cgminer/ESP-Miner from timing out). */
  keepalive(nowMs: number): void {
    if (!this.ready) return
    const job = this.host.currentJob(this.assignment!.sessionId)
    if (!job) return
    if (!this.sent.has(job.localId)) this.sendJob(job, false, nowMs)
    else {
      this.host.write(job.notifyLine(false))
      this.lastNotifyMs = nowMs
    }
  }

  tick(nowMs: number): void {
    if (this.vardiff.onTick(nowMs) !== undefined) this.applyDifficultyNow(nowMs)
  }

  private applyDifficultyNow(nowMs: number): void {
    if (!this.started || !this.ready) return
    const current = this.host.currentJob(this.assignment!.sessionId)
    if (!current) return
    this.vardiff.setNetworkDifficulty(current.work.upstreamDifficulty)
    if (this.vardiff.difficulty === this.lastSentDifficulty) return
    this.sendJob(this.host.reissue(current), true, nowMs)
  }

  // -------------------------------------------------------------------------------------------
  // Shares

  private submit(id: RpcId, params: unknown[], nowMs: number): void {
    const c = this.counters
    const v = this.validate(params, nowMs)
    if (v.reason !== undefined) {
      this.reply(id, encodeReject(id, v.reason, v.detail))
      c.rejected++
      c.rejectedByReason[v.reason] = (c.rejectedByReason[v.reason] ?? 0) + 1
      this.stormStep(nowMs)
      return
    }
    // Answer from local validation at once; the upstream verdict is accounted when it arrives
    // (research §5.5 step 10).
    this.reply(id, encodeTrue(id))
    c.accepted++
    c.diffAccepted += v.difficulty
    c.lastShareTsMs = nowMs
    if (v.shareDifficulty > c.bestShareDifficulty) c.bestShareDifficulty = v.shareDifficulty
    this.invalidSinceMs = undefined
    this.stormStage = 0
    this.host.onAccepted(v.difficulty, nowMs)
    if (v.forward) c.forwarded++
    if (v.forward) this.host.forward(v.forward)
    if (this.vardiff.onShare(v.difficulty, nowMs) !== undefined) this.applyDifficultyNow(nowMs)
  }

  private validate(
    params: unknown[],
    _nowMs: number,
  ): { reason?: RejectReason; detail?: string; difficulty: number; shareDifficulty: number; forward?: ForwardShare } {
    const none = { difficulty: 0, shareDifficulty: 0 }
    if (!this.subscribed) return { reason: 'not-subscribed', ...none }
    if (this.workers.length === 0) return { reason: 'unauthorized', ...none }
    const parsed = parseSubmit(params)
    if (!parsed.ok) return { reason: 'bad-params', detail: parsed.message, ...none }
    const s = parsed.value
    const a = this.assignment
    const sent = this.sent.get(s.jobId)
    const job = this.host.lookupJob(s.jobId)
    if (a === undefined || sent === undefined || job === undefined) {
      // Known to the proxy but not (any more) this miner's: sent before a move or long ago.
      return { reason: job !== undefined ? 'stale' : 'job-not-found', ...none }
    }
    const difficulty = sent.difficulty
    if (job.work.generation < this.host.generation(a.sessionId))
      return { reason: 'stale', difficulty, shareDifficulty: 0 }
    if (s.extranonce2Hex.length !== a.extranonce2Size * 2) {
      return {
        reason: 'bad-extranonce2',
        detail: `expected ${a.extranonce2Size} bytes, got ${s.extranonce2Hex.length / 2}`,
        difficulty,
        shareDifficulty: 0,
      }
    }
    const w = job.work.job
    let version = w.version
    let versionBits: number | undefined
    if (s.versionBits !== undefined) {
      let mask = this.versionMask
      if (mask === undefined && s.versionBits !== 0 && s.versionBits !== w.version) {
        // Rolls without configure (rental-market S21s, research §1.3): accept bits inside the
        // upstream mask rather than lose the hashrate.
        mask = a.upstreamMask
        if (!this.warnedBits) {
          this.warnedBits = true
          this.host.logger.info('miner rolls version bits without mining.configure', { connectionId: this.id })
        }
      }
      const m = mask ?? 0
      if (!versionWithinMask(w.version, s.versionBits, m)) {
        return {
          reason: 'bad-version',
          detail: `${hex32(s.versionBits)} outside ${hex32(m)}`,
          difficulty,
          shareDifficulty: 0,
        }
      }
      version = rolledVersion(w.version, s.versionBits, m)
      if (m !== 0) versionBits = (version & m) >>> 0
    }
    if (s.ntime < w.ntime || s.ntime > w.ntime + 7000)
      return { reason: 'ntime-out-of-range', difficulty, shareDifficulty: 0 }
    const share = computeShare(w, a.jobExtranonce1, Buffer.from(s.extranonce2Hex, 'hex'), s.ntime, s.nonce, version)
    if (!meetsTargetLE(share.hash, sent.targetLE)) {
      return {
        reason: 'low-difficulty',
        detail: `${share.difficulty.toPrecision(4)} < ${difficulty}`,
        difficulty,
        shareDifficulty: share.difficulty,
      }
    }
    const key = share.hash.toString('latin1')
    if (job.work.shares.has(key)) return { reason: 'duplicate', difficulty, shareDifficulty: share.difficulty }
    job.work.shares.add(key)
    const out: { difficulty: number; shareDifficulty: number; forward?: ForwardShare } = {
      difficulty,
      shareDifficulty: share.difficulty,
    }
    if (meetsTargetLE(share.hash, job.work.upstreamTargetLE)) {
      out.forward = {
        job,
        extranonce2Hex: a.prefix.toString('hex') + s.extranonce2Hex,
        ntime: s.ntime,
        nonce: s.nonce,
        ...(versionBits !== undefined ? { versionBits } : {}),
        shareDifficulty: share.difficulty,
        hashHex: share.hashHex,
      }
    }
    return out
  }

  /**
   * The local pool's escalation (ckpool's 60/120/180 s, research §2 step 14) for a miner that sends
   * only invalid shares: fresh work, then `client.reconnect`, then the connection is dropped. One
   * step per invalid share, so a miner always gets fresh work before it is asked to reconnect.
   */
  private stormStep(nowMs: number): void {
    if (this.invalidSinceMs === undefined) {
      this.invalidSinceMs = nowMs
      return
    }
    const forMs = nowMs - this.invalidSinceMs
    const p = this.host.storm
    const due = forMs >= p.dropAfterMs ? 3 : forMs >= p.reconnectAfterMs ? 2 : forMs >= p.resendAfterMs ? 1 : 0
    if (due <= this.stormStage) return
    this.stormStage++
    if (this.stormStage === 1) {
      this.host.logger.info('invalid shares for a while: resending work', { connectionId: this.id })
      const job = this.assignment ? this.host.currentJob(this.assignment.sessionId) : undefined
      if (job && this.ready) {
        this.lastSentDifficulty = undefined // set_difficulty goes out again
        this.sendJob(this.host.reissue(job), true, nowMs)
      }
    } else if (this.stormStage === 2) {
      this.host.logger.warn('invalid shares continue: asking the miner to reconnect', { connectionId: this.id })
      this.host.write(encodeReconnect())
    } else {
      this.host.close(`only invalid shares for ${Math.round(forMs / 1000)} s`)
    }
  }

  private reply(id: RpcId, line: string): void {
    if (id === null) return
    if (this.held !== undefined && this.pendingSubscribe !== undefined) this.held.push(line)
    else this.host.write(line)
  }
}
