/**
 * Buffers high-rate rows (telemetry, shares) in memory and writes them in one transaction per
 * interval (default 1 s). This bounds what a hard kill can lose to one interval of telemetry, and
 * keeps SQLite writes to a few per second whatever the share rate. The buffer is bounded: past
 * `maxRows` the oldest rows are dropped and counted, never an unbounded queue.
 */
export interface BatchWriterOptions<Row> {
  write(rows: Row[]): void
  intervalMs?: number
  maxRows?: number
  onError?(e: unknown): void
}

export class BatchWriter<Row> {
  #rows: Row[] = []
  #timer: ReturnType<typeof setInterval> | undefined
  #dropped = 0
  readonly #o: Required<Omit<BatchWriterOptions<Row>, 'onError'>> & Pick<BatchWriterOptions<Row>, 'onError'>

  constructor(opts: BatchWriterOptions<Row>) {
    this.#o = { intervalMs: 1000, maxRows: 100_000, ...opts }
    this.#timer = setInterval(() => this.flush(), this.#o.intervalMs)
    this.#timer.unref?.()
  }

  get dropped(): number {
    return this.#dropped
  }

  push(row: Row): void {
    if (this.#rows.length >= this.#o.maxRows) {
      this.#rows.shift()
      this.#dropped++
    }
    this.#rows.push(row)
  }

  flush(): void {
    if (this.#rows.length === 0) return
    const rows = this.#rows
    this.#rows = []
    try {
      this.#o.write(rows)
    } catch (e) {
      this.#o.onError?.(e)
    }
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    this.flush()
  }
}
