/**
 * At most `max` takes per key in any `windowMs`. Timestamps come from the caller, so tests run on
 * a recorded clock. Keys whose window has emptied are forgotten, so memory follows active keys.
 */
export class SlidingWindowLimiter {
  readonly #hits = new Map<string, number[]>()

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Takes one slot for `key` at `nowMs` if one is free; false when the key is over its limit. */
  tryTake(key: string, nowMs: number): boolean {
    const list = this.#prune(key, nowMs)
    if (list.length >= this.max) return false
    list.push(nowMs)
    this.#hits.set(key, list)
    return true
  }

  /** Slots left for `key` at `nowMs`. */
  remaining(key: string, nowMs: number): number {
    return Math.max(0, this.max - this.#prune(key, nowMs).length)
  }

  #prune(key: string, nowMs: number): number[] {
    const list = this.#hits.get(key) ?? []
    const fresh = list.filter((t) => t > nowMs - this.windowMs)
    if (fresh.length === 0) this.#hits.delete(key)
    return fresh
  }
}
