/**
 * Backoff for restarting a crashed core: 0.5 s, 1 s, 2 s … capped at 30 s, reset once the core
 * reports ready. A core that crashes at start-up does not spin the CPU.
 */
export class RestartPolicy {
  #failures = 0
  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
  ) {}

  nextDelayMs(): number {
    const d = Math.min(this.maxMs, this.baseMs * 2 ** this.#failures)
    this.#failures++
    return d
  }

  succeeded(): void {
    this.#failures = 0
  }
}
