const HOUR_MS = 3_600_000

/**
 * A device's own 24-hour mean hashrate, from the polls the engine sees: 24 hourly slots of sum and
 * count, so memory is constant per device. It is `null` until `minCoverageMs` of samples exist,
 * because a baseline from the first few minutes after a reboot would be the ramp-up.
 */
export class RollingBaseline {
  readonly #slots = new Map<number, { sum: number; count: number }>()
  #firstMs: number | undefined

  constructor(readonly minCoverageMs = HOUR_MS) {}

  add(tsMs: number, value: number): void {
    if (!Number.isFinite(value)) return
    const hour = Math.floor(tsMs / HOUR_MS)
    const s = this.#slots.get(hour) ?? { sum: 0, count: 0 }
    s.sum += value
    s.count++
    this.#slots.set(hour, s)
    this.#firstMs ??= tsMs
    for (const h of this.#slots.keys()) if (h <= hour - 24) this.#slots.delete(h)
  }

  meanAt(nowMs: number): number | null {
    if (this.#firstMs === undefined || nowMs - this.#firstMs < this.minCoverageMs) return null
    const from = Math.floor(nowMs / HOUR_MS) - 23
    let sum = 0
    let count = 0
    for (const [h, s] of this.#slots) {
      if (h < from) continue
      sum += s.sum
      count += s.count
    }
    return count === 0 ? null : sum / count
  }
}
