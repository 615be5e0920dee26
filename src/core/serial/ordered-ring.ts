/**
 * The source of an `ordered` topic: frames numbered by one counter, the newest `capacity` kept
 * for replay. `replay(undefined)` gives everything still held (a view opening late sees recent
 * history); `replay(n)` gives the frames after n, or 'gone' when some of them were dropped.
 */
export class OrderedRing<T extends { seq: number }> {
  #items: T[] = []
  #seq = 0
  #listeners = new Set<(frame: T) => void>()

  constructor(private readonly capacity = 2000) {}

  get lastSeq(): number {
    return this.#seq
  }

  push(make: (seq: number) => T): T {
    const frame = make(++this.#seq)
    this.#items.push(frame)
    if (this.#items.length > this.capacity) this.#items.shift()
    for (const cb of this.#listeners) cb(frame)
    return frame
  }

  replay(sinceSeq: number | undefined): T[] | 'gone' {
    if (sinceSeq === undefined) return [...this.#items]
    if (sinceSeq >= this.#seq) return []
    const first = this.#items[0]
    if (!first || first.seq > sinceSeq + 1) return 'gone'
    return this.#items.filter((f) => f.seq > sinceSeq)
  }

  onFrame(cb: (frame: T) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }
}
