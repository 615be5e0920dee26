/**
 * One miner connection's Stratum V1 state machine, without a socket: the server feeds it decoded
 * requests and gives it a `SessionHost` to write lines, look jobs up and report shares. Every
 * method is synchronous, so a submit is validated start to finish without yielding (issue 8).
 *
 * Submit validation follows research/stratum.md §2: job lookup → extranonce2 length → version
 * mask → share hash → BLOCK CHECK FIRST (a block is reported even when the share is stale) →
 * stale → ntime range → difficulty in force when that job was sent to THIS connection →
 * duplicate (keyed on the share hash).
 */
import { type BitcoinNetwork, decodePayoutAddress } from '../bitcoin/address'
import { difficultyToTarget, meetsTargetLE, targetToBytesLE, targetToDifficulty } from '../bitcoin/target'
import type { Logger } from '../logger'
import type { Job } from '../pool/job'
import { assembleBlock, computeShare, rolledVersion, versionWithinMask } from '../pool/share'
import type { RpcId, RpcRequest } from './codec'
import {
  difficultyFromPassword,
  encodeError,
  encodeReconnect,
  encodeRefusal,
  encodeReject,
  encodeResult,
  encodeSetDifficulty,
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
} from './messages'
import { Vardiff, type VardiffConfig } from './vardiff'

/** Where payouts go: the pool's configured address (default) or the address in the miner's user name. */
export type PayoutMode = 'pool' | 'miner'

export interface StormPolicy {
  /** Continuous invalid shares for this long → resend work (set_difficulty + clean notify). */
  resendAfterMs: number
  /** …this long → `client.reconnect`. */
  reconnectAfterMs: number
  /** …this long → drop the connection. */
  dropAfterMs: number
}

/** ckpool's 60/120/180 s escalation (research §2 step 14). */
export const DEFAULT_STORM_POLICY: StormPolicy = {
  resendAfterMs: 60_000,
  reconnectAfterMs: 120_000,
  dropAfterMs: 180_000,
}

export interface SessionConfig {
  network: BitcoinNetwork
  extranonce2Size: number
  /** Pool's BIP320 rolling mask (0x1fffe000); 0 disables version rolling. */
  versionRollingMask: number
  payoutMode: PayoutMode
  vardiff: VardiffConfig
  /** Accept ntime up to job.ntime + this many seconds (ckpool uses 7000; consensus allows 2 h). */
  ntimeMaxAheadS: number
  /**
   * A 6th submit parameter with bits set although `mining.configure` never negotiated version
   * rolling (Antminer S21 via rental services, OCEAN-xyz/datum_gateway #214): 'reject' with a precise
   * error (default), or 'accept' bits inside the pool mask.
   */
  versionBitsWithoutConfigure: 'reject' | 'accept'
  storm: StormPolicy
  /** Distinct user names one connection may authorize (cgminer can authorize several). */
  maxWorkersPerConnection: number
}

export interface ShareEvent {
  tsMs: number
  connectionId: number
  remoteAddress: string
  /** The authorized user name the share is credited to (`address.worker` or a plain name). */
  worker: string
  userAgent: string
  jobId: string
  height: number
  accepted: boolean
  reason?: RejectReason
  /** Difficulty the share is credited at: the one in force when its job was sent (0 if unknown). */
  difficulty: number
  /** What the hash actually achieved (0 when it was never computed). */
  shareDifficulty: number
  isBlock: boolean
  /** Display-order hash when computed. */
  hashHex?: string
  /** Milliseconds between sending the job to this connection and this submit. */
  latencyMs?: number
}

export interface BlockFinder {
  connectionId: number
  remoteAddress: string
  worker: string
  userAgent: string
  tsMs: number
  /** Header the miner hashed (80 bytes). */
  header: Buffer
  extranonce1: Buffer
  extranonce2: Buffer
  /** The submit was also rejected as stale (the job's previous block is no longer the tip). */
  stale: boolean
}

/** What a session needs from the server. All calls are synchronous. */
export interface SessionHost {
  readonly logger: Logger
  /** Queue complete line(s) for the socket; a Buffer is shared between connections, never mutated. */
  write(data: string | Buffer): void
  /** Close the connection (the server logs `reason`). */
  close(reason: string): void
  /** Newest job for this payout (undefined before the first template). */
  currentJob(payoutScript: Uint8Array | undefined): Job | undefined
  /** A job by id from the pool's recent jobs, stale ones included. */
  lookupJob(jobId: string): Job | undefined
  /** The job's previous block is no longer the chain tip. */
  isStale(job: Job): boolean
  /** Has this share hash been seen for this job? */
  hasShare(job: Job, hashKey: string): boolean
  addShare(job: Job, hashKey: string): void
  /** Same work under a fresh job id, registered for lookups; undefined when not supported. */
  reissue(job: Job): Job | undefined
  onShare(event: ShareEvent): void
  onBlock(job: Job, blockBytes: Buffer, hashHex: string, finder: BlockFinder): void
  /** A user name was authorized on this connection (passive device matching, worker lists). */
  onAuthorize?(worker: string): void
}

/** Outcome of the submit checks; `reason` undefined = accepted. */
interface Verdict {
  reason?: RejectReason
  detail?: string
  worker: string
  jobId: string
  height: number
  difficulty: number
  latencyMs?: number
  share?: { difficulty: number; hashHex: string; isBlock: boolean }
}

interface SentJob {
  difficulty: number
  targetLE: Buffer
  sentAtMs: number
}

export interface SessionStats {
  id: number
  remoteAddress: string
  userAgent: string
  extranonce1: string
  connectedAtMs: number
  subscribed: boolean
  /** Authorized user names, first = the one shown as the connection's worker. */
  workers: string[]
  /** Difficulty the next job carries. */
  difficulty: number
  /** Negotiated version-rolling mask, undefined when the miner never configured rolling. */
  versionMask: number | undefined
  accepted: number
  rejected: number
  rejectedByReason: Partial<Record<RejectReason, number>>
  stale: number
  /** Σ difficulty of accepted shares (each at the difficulty of its job). */
  diffAccepted: number
  diffRejected: number
  bestShareDifficulty: number
  blocks: number
  lastShareTsMs: number | undefined
  lastSubmitLatencyMs: number | undefined
  /** Mean notify-to-submit latency over accepted shares. */
  avgSubmitLatencyMs: number | undefined
  /** Vardiff's estimate from accepted shares. */
  hashrateHs: number
}

/** How many jobs sent to one connection remain submittable (ESP-Miner remembers 16). */
const SENT_JOBS_KEPT = 32

export class Session {
  readonly id: number
  readonly remoteAddress: string
  readonly extranonce1: Buffer
  readonly extranonce1Hex: string
  readonly connectedAtMs: number
  subscribed = false
  userAgent = ''
  readonly workers: string[] = []
  /** Script the coinbase pays for this connection in 'miner' payout mode. */
  payoutScript: Uint8Array | undefined
  /** Negotiated BIP310 mask; undefined = never configured. */
  versionMask: number | undefined
  extranonceSubscribed = false
  lastMessageMs: number
  lastNotifyMs = 0
  readonly vardiff: Vardiff

  private readonly sent = new Map<string, SentJob>()
  private lastSentDifficulty: number | undefined
  private target: { difficulty: number; targetLE: Buffer } | undefined
  private sentFirstJob = false
  private invalidSinceMs: number | undefined
  private stormStage = 0
  private warnedVersionBits = false
  private readonly stats = {
    accepted: 0,
    rejected: 0,
    rejectedByReason: {} as Partial<Record<RejectReason, number>>,
    diffAccepted: 0,
    diffRejected: 0,
    best: 0,
    blocks: 0,
    lastShareTsMs: undefined as number | undefined,
    lastLatencyMs: undefined as number | undefined,
    latencySumMs: 0,
    latencyCount: 0,
  }

  constructor(
    private readonly cfg: SessionConfig,
    private readonly host: SessionHost,
    init: { id: number; remoteAddress: string; extranonce1: Buffer; nowMs: number },
  ) {
    this.id = init.id
    this.remoteAddress = init.remoteAddress
    this.extranonce1 = init.extranonce1
    this.extranonce1Hex = init.extranonce1.toString('hex')
    this.connectedAtMs = init.nowMs
    this.lastMessageMs = init.nowMs
    this.vardiff = new Vardiff(cfg.vardiff)
  }

  /** Subscribed and authorized: the connection gets jobs. */
  get ready(): boolean {
    return this.subscribed && this.workers.length > 0
  }

  /** Handles one request from the miner. Never throws for any input. */
  handle(req: RpcRequest, nowMs: number): void {
    this.lastMessageMs = nowMs
    const { id, method, params } = req
    switch (method) {
      case 'mining.submit':
        this.submit(id, params, nowMs)
        return
      case 'mining.subscribe':
        this.subscribe(id, params, nowMs)
        return
      case 'mining.authorize':
        this.authorize(id, params, nowMs)
        return
      case 'mining.configure':
        this.configure(id, params, nowMs)
        return
      case 'mining.suggest_difficulty':
        this.suggestDifficulty(id, params, nowMs)
        return
      case 'mining.suggest_target':
        this.suggestTarget(id, params, nowMs)
        return
      case 'mining.extranonce.subscribe':
        this.extranonceSubscribed = true
        this.reply(id, encodeResult(id, true))
        return
      case 'mining.ping':
        this.reply(id, encodeResult(id, 'pong'))
        return
      case 'pong':
      case 'mining.pong':
        // ESP-Miner answers our mining.ping with a request-shaped `pong` (research §7.11): ignore.
        return
      default:
        // ckpool's legacy form "mining.suggest_difficulty(512)".
        if (method.startsWith('mining.suggest_difficulty(') && method.endsWith(')')) {
          this.suggestDifficulty(id, [method.slice('mining.suggest_difficulty('.length, -1)], nowMs)
          return
        }
        // Never fatal (research §9): answer requests, ignore notifications.
        this.reply(id, encodeError(id, StratumErrorCode.Other, `Unknown method ${method}`))
    }
  }

  // -------------------------------------------------------------------------------------------
  // Handshake

  private subscribe(id: RpcId, params: unknown[], nowMs: number): void {
    const p = parseSubscribe(params)
    if (!this.subscribed) {
      this.subscribed = true
      this.userAgent = p.userAgent
      this.vardiff.setUserAgent(p.userAgent)
    }
    // A second subscribe gets the same answer (ckpool ignores it; answering keeps clients happy).
    this.reply(id, encodeSubscribeResult(id, this.extranonce1Hex, this.cfg.extranonce2Size))
    this.maybeStart(nowMs)
  }

  private authorize(id: RpcId, params: unknown[], nowMs: number): void {
    const p = parseAuthorize(params)
    if (!p.ok) {
      this.reply(id, encodeAuthorizeRefused(id, p.message))
      return
    }
    const { username, password } = p.value
    if (this.workers.includes(username)) {
      this.reply(id, encodeResult(id, true))
      return
    }
    if (this.workers.length >= this.cfg.maxWorkersPerConnection) {
      this.reply(id, encodeAuthorizeRefused(id, `at most ${this.cfg.maxWorkersPerConnection} workers per connection`))
      return
    }
    if (this.cfg.payoutMode === 'miner') {
      // Bitcoin addresses never contain '.', so the address is everything before the first one —
      // except for a Lightning address (user@domain.tld), which we want to name as such.
      const addressText = username.includes('@') ? username : username.split('.')[0]!
      const decoded = decodePayoutAddress(addressText, this.cfg.network)
      if (!decoded.ok) {
        this.host.logger.info('authorize refused', { connectionId: this.id, username, code: decoded.code })
        this.reply(id, encodeAuthorizeRefused(id, decoded.message))
        return
      }
      if (this.payoutScript !== undefined && !Buffer.from(this.payoutScript).equals(Buffer.from(decoded.script))) {
        this.reply(id, encodeAuthorizeRefused(id, 'one connection can pay only one address; open another connection'))
        return
      }
      this.payoutScript = decoded.script
    }
    this.workers.push(username)
    this.host.onAuthorize?.(username)
    const d = difficultyFromPassword(password)
    if (d !== undefined) this.vardiff.request(d, nowMs)
    this.reply(id, encodeResult(id, true))
    this.maybeStart(nowMs)
  }

  private configure(id: RpcId, params: unknown[], nowMs: number): void {
    const p = parseConfigure(params)
    if (!p.ok) {
      this.reply(id, encodeError(id, StratumErrorCode.Other, p.message))
      return
    }
    const c = p.value
    const result: Record<string, unknown> = {}
    for (const ext of c.extensions) {
      if (ext === 'version-rolling' && c.versionRolling) {
        // BIP310: mask = pool ∩ miner; never terminate on min-bit-count mismatch.
        const mask = (this.cfg.versionRollingMask & c.versionRolling.mask) >>> 0
        if (mask === 0) {
          result['version-rolling'] = false
        } else {
          this.versionMask = mask
          result['version-rolling'] = true
          result['version-rolling.mask'] = hex32(mask)
        }
      } else if (ext === 'minimum-difficulty') {
        const v = c.minimumDifficulty?.value
        if (v === undefined) {
          result['minimum-difficulty'] = false
        } else {
          this.vardiff.request(v, nowMs, true)
          result['minimum-difficulty'] = true
        }
      } else if (ext === 'subscribe-extranonce') {
        this.extranonceSubscribed = true
        result['subscribe-extranonce'] = true
      } else if (ext === 'info') {
        result.info = true
      } else {
        result[ext] = false
      }
    }
    // Always answered (cgminer vmask builds abort after 60 s without a reply, research §7.1).
    this.reply(id, encodeResult(id, result))
  }

  private suggestDifficulty(id: RpcId, params: unknown[], nowMs: number): void {
    const p = parseSuggestDifficulty(params)
    if (!p.ok) {
      this.reply(id, encodeError(id, StratumErrorCode.Other, p.message))
      return
    }
    this.vardiff.request(p.value, nowMs)
    this.reply(id, encodeResult(id, true))
    this.applyDifficultyNow(nowMs)
  }

  private suggestTarget(id: RpcId, params: unknown[], nowMs: number): void {
    const t = params[0]
    if (typeof t !== 'string' || !/^[0-9a-fA-F]{1,64}$/.test(t) || /^0+$/.test(t)) {
      this.reply(id, encodeError(id, StratumErrorCode.Other, 'target must be 1..64 hex digits, not zero'))
      return
    }
    this.vardiff.request(targetToDifficulty(BigInt(`0x${t}`)), nowMs)
    this.reply(id, encodeResult(id, true))
    this.applyDifficultyNow(nowMs)
  }

  /** First job once both subscribed and authorized, in whichever order they came. */
  private maybeStart(nowMs: number): void {
    if (!this.ready || this.sentFirstJob) return
    const job = this.host.currentJob(this.payoutScript)
    if (job) this.sendJob(job, true, nowMs)
  }

  // -------------------------------------------------------------------------------------------
  // Jobs and difficulty

  /**
   * Sends a job (already the right variant for this connection's payout), preceded by
   * `set_difficulty` when the difficulty changed, and records the difficulty in force for it.
   * `notifyLine` is the job's pre-encoded line, shared by every connection.
   */
  sendJob(job: Job, clean: boolean, nowMs: number): void {
    if (!this.ready) return
    this.vardiff.setNetworkDifficulty(job.networkDifficulty)
    const difficulty = this.vardiff.difficulty
    if (difficulty !== this.lastSentDifficulty) {
      this.host.write(encodeSetDifficulty(difficulty))
      this.lastSentDifficulty = difficulty
    }
    if (this.target === undefined || this.target.difficulty !== difficulty) {
      this.target = { difficulty, targetLE: targetToBytesLE(difficultyToTarget(difficulty)) }
    }
    this.sent.delete(job.id)
    this.sent.set(job.id, { difficulty, targetLE: this.target.targetLE, sentAtMs: nowMs })
    if (this.sent.size > SENT_JOBS_KEPT) {
      const oldest = this.sent.keys().next().value
      if (oldest !== undefined) this.sent.delete(oldest)
    }
    this.host.write(notifyBytes(job, clean))
    this.lastNotifyMs = nowMs
    if (!this.sentFirstJob) {
      this.sentFirstJob = true
      this.vardiff.started(nowMs)
    }
  }

  /**
   * A new difficulty is due. Miners switch at the next notify (research §4.3), so when the work
   * source can re-issue the current work under a fresh id, send set_difficulty + that job with
   * clean_jobs=true now; otherwise the new value rides on the next regular job.
   */
  private applyDifficultyNow(nowMs: number): void {
    if (!this.sentFirstJob || this.vardiff.difficulty === this.lastSentDifficulty) return
    const current = this.host.currentJob(this.payoutScript)
    if (!current) return
    const fresh = this.host.reissue(current)
    if (fresh) this.sendJob(fresh, true, nowMs)
  }

  /**
   * Keepalive: repeats the job already sent (same id, clean=false) without touching the difficulty
   * recorded for it; a job this connection has not seen yet is sent normally.
   */
  keepalive(job: Job, nowMs: number): void {
    if (!this.ready) return
    if (!this.sent.has(job.id)) {
      this.sendJob(job, false, nowMs)
      return
    }
    this.host.write(notifyBytes(job, false))
    this.lastNotifyMs = nowMs
  }

  /** Periodic housekeeping without a share: lets vardiff lower a quiet miner's difficulty. */
  tick(nowMs: number): void {
    if (this.vardiff.onTick(nowMs) !== undefined) this.applyDifficultyNow(nowMs)
  }

  /** The pool's mask changed at runtime: tell miners that negotiated rolling (BIP310 set_version_mask). */
  updateVersionMask(poolMask: number): void {
    if (this.versionMask === undefined) return
    this.versionMask = (this.versionMask & poolMask) >>> 0
    this.host.write(encodeSetVersionMask(this.versionMask))
  }

  // -------------------------------------------------------------------------------------------
  // Shares

  private submit(id: RpcId, params: unknown[], nowMs: number): void {
    const v = this.validate(params, nowMs)
    const st = this.stats
    const event: ShareEvent = {
      tsMs: nowMs,
      connectionId: this.id,
      remoteAddress: this.remoteAddress,
      worker: v.worker,
      userAgent: this.userAgent,
      jobId: v.jobId,
      height: v.height,
      accepted: v.reason === undefined,
      difficulty: v.difficulty,
      shareDifficulty: v.share?.difficulty ?? 0,
      isBlock: v.share?.isBlock ?? false,
    }
    if (v.share) event.hashHex = v.share.hashHex
    if (v.latencyMs !== undefined) event.latencyMs = v.latencyMs

    if (v.reason !== undefined) {
      this.host.write(encodeReject(id, v.reason, v.detail))
      st.rejected++
      st.rejectedByReason[v.reason] = (st.rejectedByReason[v.reason] ?? 0) + 1
      st.diffRejected += v.difficulty
      event.reason = v.reason
      this.host.onShare(event)
      this.storm(nowMs)
      return
    }

    this.host.write(encodeTrue(id))
    st.accepted++
    st.diffAccepted += v.difficulty
    if (event.shareDifficulty > st.best) st.best = event.shareDifficulty
    st.lastShareTsMs = nowMs
    if (v.latencyMs !== undefined) {
      st.lastLatencyMs = v.latencyMs
      st.latencySumMs += v.latencyMs
      st.latencyCount++
    }
    this.invalidSinceMs = undefined
    this.stormStage = 0
    this.host.onShare(event)
    if (this.vardiff.onShare(v.difficulty, nowMs) !== undefined) this.applyDifficultyNow(nowMs)
  }

  /** The checks of research §2, in order. Reports a block as a side effect, before stale/diff checks. */
  private validate(params: unknown[], nowMs: number): Verdict {
    const worker0 = this.workers[0] ?? ''
    if (!this.subscribed) return { reason: 'not-subscribed', worker: worker0, jobId: '', height: 0, difficulty: 0 }
    if (this.workers.length === 0)
      return { reason: 'unauthorized', worker: worker0, jobId: '', height: 0, difficulty: 0 }
    const parsed = parseSubmit(params)
    if (!parsed.ok)
      return { reason: 'bad-params', detail: parsed.message, worker: worker0, jobId: '', height: 0, difficulty: 0 }
    const s = parsed.value
    // A worker name we never authorized is credited to the connection's first worker rather than
    // refused: firmware that varies the name would otherwise lose every share.
    const worker = this.workers.includes(s.worker) ? s.worker : worker0

    // 1. Job lookup: sent to this connection, and still among the pool's recent jobs.
    const sent = this.sent.get(s.jobId)
    const job = sent === undefined ? undefined : this.host.lookupJob(s.jobId)
    if (sent === undefined || job === undefined) {
      return { reason: 'job-not-found', worker, jobId: s.jobId, height: 0, difficulty: 0 }
    }
    const v: Verdict = {
      worker,
      jobId: s.jobId,
      height: job.height,
      difficulty: sent.difficulty,
      latencyMs: nowMs - sent.sentAtMs,
    }

    // 2. extranonce2 must have exactly the announced size.
    if (s.extranonce2Hex.length !== job.extranonce2Size * 2) {
      v.reason = 'bad-extranonce2'
      v.detail = `expected ${job.extranonce2Size} bytes, got ${s.extranonce2Hex.length / 2}`
      return v
    }

    // 3. Version bits (BIP310): nVersion = (job & ~mask) | (bits & mask).
    let version = job.version
    if (s.versionBits !== undefined) {
      let mask = this.versionMask
      if (mask === undefined && s.versionBits !== 0 && s.versionBits !== job.version) {
        if (this.cfg.versionBitsWithoutConfigure === 'reject') {
          v.reason = 'version-not-negotiated'
          return v
        }
        mask = this.cfg.versionRollingMask
        if (!this.warnedVersionBits) {
          this.warnedVersionBits = true
          this.host.logger.info('miner rolls version bits without mining.configure', { connectionId: this.id })
        }
      }
      const m = mask ?? 0
      if (!versionWithinMask(job.version, s.versionBits, m)) {
        v.reason = 'bad-version'
        v.detail = `${hex32(s.versionBits)} outside ${hex32(m)}`
        return v
      }
      version = rolledVersion(job.version, s.versionBits, m)
    }

    // 4. Coinbase, merkle root, header, hash.
    const en2 = Buffer.from(s.extranonce2Hex, 'hex')
    const share = computeShare(job, this.extranonce1, en2, s.ntime, s.nonce, version)
    v.share = share
    const stale = this.host.isStale(job)
    // The duplicate key is only needed for blocks and for shares that pass every other check.
    let key: string | undefined
    let newBlock = false

    // 5. Block check first: a block is submitted even when the share is stale (research §2.8).
    if (share.isBlock) {
      key = share.hash.toString('latin1')
      if (!this.host.hasShare(job, key)) {
        newBlock = true
        this.host.addShare(job, key)
        this.stats.blocks++
        this.foundBlock(job, en2, share.header, share.hashHex, worker, stale, nowMs)
      }
    }

    // 6. Stale: the job's previous block is no longer the tip.
    if (stale) v.reason = 'stale'
    // 7. ntime window.
    else if (s.ntime < job.mintime || s.ntime > job.ntime + this.cfg.ntimeMaxAheadS) v.reason = 'ntime-out-of-range'
    // 8. Difficulty in force when this job was sent to this connection (exact 256-bit compare).
    // A block always counts: the share target derived from a float network difficulty can round a
    // hair below the exact network target.
    else if (!share.isBlock && !meetsTargetLE(share.hash, sent.targetLE)) v.reason = 'low-difficulty'
    else {
      // 9. Duplicate, keyed on the hash (covers every submitted field, immune to hex-case tricks).
      key ??= share.hash.toString('latin1')
      if (!newBlock && this.host.hasShare(job, key)) v.reason = 'duplicate'
      else this.host.addShare(job, key)
    }
    return v
  }

  private foundBlock(
    job: Job,
    en2: Buffer,
    header: Buffer,
    hashHex: string,
    worker: string,
    stale: boolean,
    nowMs: number,
  ): void {
    const finder: BlockFinder = {
      connectionId: this.id,
      remoteAddress: this.remoteAddress,
      worker,
      userAgent: this.userAgent,
      tsMs: nowMs,
      header: Buffer.from(header),
      extranonce1: this.extranonce1,
      extranonce2: en2,
      stale,
    }
    let block: Buffer
    try {
      block = assembleBlock(job, this.extranonce1, en2, header)
    } catch (e) {
      // Keep every byte needed to rebuild it by hand: a lost block is the one unrecoverable failure.
      this.host.logger.error('BLOCK FOUND but assembly failed', {
        hashHex,
        jobId: job.id,
        height: job.height,
        header: header.toString('hex'),
        extranonce1: this.extranonce1Hex,
        extranonce2: en2.toString('hex'),
        error: (e as Error).message,
      })
      return
    }
    this.host.logger.info('block found', { hashHex, height: job.height, worker, connectionId: this.id, stale })
    this.host.onBlock(job, block, hashHex, finder)
  }

  /** Escalation for a miner that keeps sending invalid shares (research §2 step 14). */
  private storm(nowMs: number): void {
    if (this.invalidSinceMs === undefined) {
      this.invalidSinceMs = nowMs
      return
    }
    const forMs = nowMs - this.invalidSinceMs
    const p = this.cfg.storm
    const due = forMs >= p.dropAfterMs ? 3 : forMs >= p.reconnectAfterMs ? 2 : forMs >= p.resendAfterMs ? 1 : 0
    // One step per invalid share, so a miner always gets fresh work before a reconnect request,
    // and a reconnect request before being dropped.
    if (due <= this.stormStage) return
    this.stormStage++
    if (this.stormStage === 1) {
      this.host.logger.info('invalid shares for a while: resending work', { connectionId: this.id })
      const job = this.host.currentJob(this.payoutScript)
      if (job) {
        this.lastSentDifficulty = undefined // force set_difficulty again
        this.sendJob(this.host.reissue(job) ?? job, true, nowMs)
      }
    } else if (this.stormStage === 2) {
      this.host.logger.warn('invalid shares continue: asking the miner to reconnect', { connectionId: this.id })
      this.host.write(encodeReconnect())
    } else {
      this.host.close(`only invalid shares for ${Math.round(forMs / 1000)} s`)
    }
  }

  private reply(id: RpcId, line: string): void {
    // Notifications (id null) get no reply, per JSON-RPC.
    if (id !== null) this.host.write(line)
  }

  snapshot(nowMs: number): SessionStats {
    const st = this.stats
    return {
      id: this.id,
      remoteAddress: this.remoteAddress,
      userAgent: this.userAgent,
      extranonce1: this.extranonce1Hex,
      connectedAtMs: this.connectedAtMs,
      subscribed: this.subscribed,
      workers: [...this.workers],
      difficulty: this.vardiff.difficulty,
      versionMask: this.versionMask,
      accepted: st.accepted,
      rejected: st.rejected,
      rejectedByReason: { ...st.rejectedByReason },
      stale: st.rejectedByReason.stale ?? 0,
      diffAccepted: st.diffAccepted,
      diffRejected: st.diffRejected,
      bestShareDifficulty: st.best,
      blocks: st.blocks,
      lastShareTsMs: st.lastShareTsMs,
      lastSubmitLatencyMs: st.lastLatencyMs,
      avgSubmitLatencyMs: st.latencyCount === 0 ? undefined : st.latencySumMs / st.latencyCount,
      hashrateHs: this.vardiff.hashrateHs(nowMs),
    }
  }
}

const notifyCache = new WeakMap<Job, { clean?: Buffer; dirty?: Buffer }>()

/**
 * The job's notify line as UTF-8 bytes, encoded once per job and shared by every connection:
 * writing the same string to 5,000 sockets would re-encode it 5,000 times.
 */
export function notifyBytes(job: Job, clean: boolean): Buffer {
  let e = notifyCache.get(job)
  if (e === undefined) {
    e = {}
    notifyCache.set(job, e)
  }
  if (clean) {
    e.clean ??= Buffer.from(job.notifyLine(true))
    return e.clean
  }
  e.dirty ??= Buffer.from(job.notifyLine(false))
  return e.dirty
}

function encodeAuthorizeRefused(id: RpcId, message: string): string {
  return encodeRefusal(id, StratumErrorCode.Unauthorized, message)
}
