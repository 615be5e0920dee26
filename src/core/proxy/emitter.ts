import type { Logger } from '../logger'

/**
 * A typed, synchronous event emitter. A listener that throws is logged and skipped, so one bad
 * subscriber (a UI bridge, a stats writer) cannot break the proxy's socket handlers.
 */
export class Emitter<Events extends { [K in keyof Events]: (arg: never) => void }> {
  private readonly listeners = new Map<keyof Events, Set<(arg: never) => void>>()

  constructor(private readonly emitterLog: Logger) {}

  /** Adds a listener; returns its removal. */
  on<K extends keyof Events>(event: K, fn: Events[K]): () => void {
    let set = this.listeners.get(event)
    if (!set) {
      set = new Set()
      this.listeners.set(event, set)
    }
    set.add(fn)
    return () => set.delete(fn)
  }

  protected emit<K extends keyof Events>(event: K, arg: Parameters<Events[K]>[0]): void {
    const set = this.listeners.get(event)
    if (!set) return
    for (const fn of [...set]) {
      try {
        ;(fn as (a: Parameters<Events[K]>[0]) => void)(arg)
      } catch (e) {
        this.emitterLog.error('event listener failed', { event: String(event), error: (e as Error).stack ?? String(e) })
      }
    }
  }
}
