/**
 * Runs async operations one at a time, in call order; a failure rejects its own caller only and
 * never blocks the operations queued after it. Used for a service's start/stop/settings, where two
 * overlapping calls would race on the same listener.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve()

  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#tail.then(fn, fn)
    this.#tail = p.catch(() => undefined)
    return p
  }
}
