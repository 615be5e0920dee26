/**
 * Per-connection variable difficulty, as pure logic over share timestamps: no timers, no I/O, the
 * caller passes `nowMs`. Tests drive it with simulated time.
 *
 * Estimator (after ckpool `decay_time` + its young-client bias, research §4.1): an exponentially
 * decayed sum of accepted share difficulties S(t) = Σ dᵢ·e^(−(t−tᵢ)/τ). For a steady rate r (in
 * difficulty-1 shares per second) E[S] = r·τ·(1 − e^(−T/τ)) where T is how long the miner has been
 * working, so r̂ = S / (τ·(1 − e^(−T/τ))). Working in difficulty units makes the estimate
 * independent of difficulty changes; hashrate = r̂·2³².
 *
 * Decision: the ideal difficulty is r̂·targetShareIntervalS. It is re-evaluated after
 * `retargetAfterShares` shares or `retargetAfterS` seconds since the last change, and applied only
 * when off by more than `hysteresis`× (DATUM / public-pool use 2×), rounded to a power of two
 * (research §9), clamped to [floor, ceiling] and to the network difficulty. The caller applies the
 * new value with the next job it sends (research §4.3: miners switch at the next notify).
 */

export interface VardiffConfig {
  /** Seconds between shares we aim for; default 7.5 (8 shares per minute, as DATUM). */
  targetShareIntervalS: number
  /** Pool floor; default 0.0001 (lets tiny hobby miners such as NerdMiner reach the target rate). */
  minDifficulty: number
  /** Pool ceiling; default 2⁴⁰. */
  maxDifficulty: number
  /** Start difficulty when neither the user agent nor the miner says otherwise; default 1024. */
  startDifficulty: number
  /**
   * Start difficulty by user agent: the first entry whose `match` is a case-insensitive substring
   * of the subscribe user agent wins.
   */
  startByUserAgent: ReadonlyArray<{ match: string; difficulty: number }>
  /** τ of the decayed share sum, seconds; default 300 (ckpool's 5-minute window), raised to 40 target intervals if that is longer. */
  windowS: number
  /** Re-evaluate after this many shares since the last change; default 8. */
  retargetAfterShares: number
  /** …or this many seconds since the last change; default 60. */
  retargetAfterS: number
  /** Change only when the ideal is more than this factor away; default 2. */
  hysteresis: number
  /** Treat `mining.suggest_difficulty` and password `d=N` as a floor, not just a start; default false. */
  suggestIsFloor: boolean
}

/**
 * Start difficulties for firmware seen on LANs. The values aim at the vendor's typical hashrate at
 * ~8 shares/min; vardiff corrects within a minute either way.
 */
export const DEFAULT_START_BY_USER_AGENT: VardiffConfig['startByUserAgent'] = [
  { match: 'nerdminer', difficulty: 0.0005 },
  { match: 'cpuminer', difficulty: 0.01 },
  { match: 'nerdqaxe', difficulty: 4096 },
  { match: 'bitaxe', difficulty: 1024 },
  { match: 'esp-miner', difficulty: 1024 },
  { match: 'bmminer', difficulty: 65536 },
  { match: 'bosminer', difficulty: 65536 },
  { match: 'btminer', difficulty: 65536 },
  { match: 'whatsminer', difficulty: 65536 },
  { match: 'cgminer', difficulty: 16384 },
]

export const DEFAULT_VARDIFF: VardiffConfig = {
  targetShareIntervalS: 7.5,
  minDifficulty: 0.0001,
  maxDifficulty: 2 ** 40,
  startDifficulty: 1024,
  startByUserAgent: DEFAULT_START_BY_USER_AGENT,
  windowS: 300,
  retargetAfterShares: 8,
  retargetAfterS: 60,
  hysteresis: 2,
  suggestIsFloor: false,
}

/** Merges a partial config over the defaults and rejects values that would make the math meaningless. */
export function vardiffConfig(partial: Partial<VardiffConfig> = {}): VardiffConfig {
  const c: VardiffConfig = { ...DEFAULT_VARDIFF, ...partial }
  const positive = (n: number): boolean => Number.isFinite(n) && n > 0
  if (!positive(c.targetShareIntervalS)) throw new RangeError('vardiff targetShareIntervalS must be > 0')
  if (!positive(c.minDifficulty) || !positive(c.maxDifficulty) || c.minDifficulty > c.maxDifficulty) {
    throw new RangeError('vardiff needs 0 < minDifficulty ≤ maxDifficulty')
  }
  if (!positive(c.startDifficulty)) throw new RangeError('vardiff startDifficulty must be > 0')
  if (!positive(c.windowS) || !positive(c.retargetAfterS) || !(c.retargetAfterShares >= 1)) {
    throw new RangeError('vardiff windowS, retargetAfterS and retargetAfterShares must be positive')
  }
  if (!(c.hysteresis >= 1)) throw new RangeError('vardiff hysteresis must be ≥ 1')
  return c
}

/** Rounds to the nearest power of two in log space (works for fractions and beyond 2³¹). */
export function roundPow2(d: number): number {
  return 2 ** Math.round(Math.log2(d))
}

export class Vardiff {
  /** Difficulty currently chosen for this connection (what the next job will carry). */
  difficulty: number
  private floor: number
  private decayedSum = 0
  /** Decayed share count over the same window: how much evidence the estimate rests on. */
  private decayedCount = 0
  private lastShareMs = -1
  private startMs = -1
  private lastChangeMs = -1
  private sharesSinceChange = 0
  private networkDifficulty = Number.POSITIVE_INFINITY
  private requested = false
  /** Decay window in seconds: at least 40 target intervals so a steady estimate rests on ~40 shares. */
  private readonly tauS: number

  constructor(
    private readonly cfg: VardiffConfig,
    userAgent = '',
  ) {
    this.floor = cfg.minDifficulty
    this.tauS = Math.max(cfg.windowS, 40 * cfg.targetShareIntervalS)
    this.difficulty = this.clamp(startFor(cfg, userAgent))
  }

  /**
   * Re-picks the start difficulty from the user agent, before the miner has any work and unless
   * the miner already asked for a difficulty (password `d=N` may arrive before the subscribe).
   */
  setUserAgent(userAgent: string): void {
    if (this.startMs < 0 && !this.requested) this.difficulty = this.clamp(startFor(this.cfg, userAgent))
  }

  /**
   * A difficulty the miner asked for (`suggest_difficulty`, password `d=N`, BIP310
   * `minimum-difficulty` with `asFloor`). Clamped to the pool's limits; returns the difficulty now
   * in force for the next job.
   */
  request(difficulty: number, nowMs: number, asFloor = this.cfg.suggestIsFloor): number {
    if (!(Number.isFinite(difficulty) && difficulty > 0)) return this.difficulty
    this.requested = true
    if (asFloor) this.floor = Math.min(this.cfg.maxDifficulty, Math.max(this.cfg.minDifficulty, difficulty))
    this.difficulty = this.clamp(difficulty)
    this.markChange(nowMs)
    return this.difficulty
  }

  /** Caps difficulty at the network's, so every block-worthy hash is also a share. */
  setNetworkDifficulty(networkDifficulty: number): void {
    if (!(Number.isFinite(networkDifficulty) && networkDifficulty > 0)) return
    this.networkDifficulty = networkDifficulty
    this.difficulty = this.clamp(this.difficulty)
  }

  /** The miner received its first job now: the estimator starts here. */
  started(nowMs: number): void {
    if (this.startMs >= 0) return
    this.startMs = nowMs
    this.lastChangeMs = nowMs
  }

  /**
   * An accepted share credited at `shareDifficulty` (the difficulty of the job it was mined on).
   * Returns the new difficulty when a change is due, otherwise undefined.
   */
  onShare(shareDifficulty: number, nowMs: number): number | undefined {
    if (this.startMs < 0) this.started(nowMs)
    this.decayTo(nowMs)
    this.decayedSum += shareDifficulty
    this.decayedCount += 1
    this.sharesSinceChange++
    return this.evaluate(nowMs)
  }

  /**
   * Called periodically without a share (e.g. every few seconds): lowers the difficulty of a miner
   * that has gone quiet. Returns the new difficulty when a change is due.
   */
  onTick(nowMs: number): number | undefined {
    if (this.startMs < 0) return undefined
    return this.evaluate(nowMs)
  }

  /** Estimated hashrate in hashes per second (0 before any share). */
  hashrateHs(nowMs: number): number {
    return this.rate(nowMs) * 4294967296
  }

  private evaluate(nowMs: number): number | undefined {
    const sinceChangeS = (nowMs - this.lastChangeMs) / 1000
    if (this.sharesSinceChange < this.cfg.retargetAfterShares && sinceChangeS < this.cfg.retargetAfterS)
      return undefined
    const targetS = this.cfg.targetShareIntervalS
    let ideal = this.rate(nowMs) * targetS
    const evidence = this.countAt(nowMs)
    if (this.sharesSinceChange === 0) {
      // Silent since the last decision. Wait 6 target intervals (an on-target miner is that quiet
      // only e⁻⁶ ≈ 0.25 % of the time), then assume at most "one share per sinceChangeS" — but
      // never less than the decayed history says, so one quiet spell of an established miner does
      // not knock it down; and never a zero estimate, which would jump straight to the floor.
      if (sinceChangeS < 6 * targetS) return undefined
      const bound = (this.difficulty * targetS) / sinceChangeS
      ideal = this.lastShareMs >= 0 ? Math.max(bound, ideal) : bound
    }
    const ratio = ideal / this.difficulty
    // Widen the dead band while the estimate rests on few shares (Poisson noise ~ 1/√n): with
    // 3 shares in a minute the miner may well be on target; with 3 shares in 80 ms it is not.
    const band = this.cfg.hysteresis * (1 + 2 / Math.sqrt(Math.max(evidence, 1)))
    if (this.lastShareMs >= 0 && ratio < band && ratio > 1 / band) {
      // Close enough: restart the evaluation period so a miner at the right difficulty is not
      // re-evaluated on every share.
      this.markChange(nowMs)
      return undefined
    }
    const next = this.clamp(roundPow2(ideal))
    this.markChange(nowMs)
    if (next === this.difficulty) return undefined
    this.difficulty = next
    return next
  }

  private rate(nowMs: number): number {
    if (this.startMs < 0 || this.lastShareMs < 0) return 0
    const tau = this.tauS
    const s = this.decayedSum * Math.exp(-Math.max(0, nowMs - this.lastShareMs) / 1000 / tau)
    const workedS = Math.max((nowMs - this.startMs) / 1000, 1)
    return s / (tau * (1 - Math.exp(-workedS / tau)))
  }

  private countAt(nowMs: number): number {
    if (this.lastShareMs < 0) return 0
    return this.decayedCount * Math.exp(-Math.max(0, nowMs - this.lastShareMs) / 1000 / this.tauS)
  }

  private decayTo(nowMs: number): void {
    if (this.lastShareMs >= 0 && nowMs > this.lastShareMs) {
      const k = Math.exp(-(nowMs - this.lastShareMs) / 1000 / this.tauS)
      this.decayedSum *= k
      this.decayedCount *= k
    }
    if (nowMs > this.lastShareMs) this.lastShareMs = nowMs
  }

  private markChange(nowMs: number): void {
    this.lastChangeMs = nowMs
    this.sharesSinceChange = 0
  }

  private clamp(d: number): number {
    return Math.min(Math.max(d, this.floor), this.cfg.maxDifficulty, this.networkDifficulty)
  }
}

function startFor(cfg: VardiffConfig, userAgent: string): number {
  const ua = userAgent.toLowerCase()
  if (ua.length > 0) for (const e of cfg.startByUserAgent) if (ua.includes(e.match)) return e.difficulty
  return cfg.startDifficulty
}
