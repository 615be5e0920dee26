/**
 * Masks known passwords in text that leaves the core (device log lines). The serial monitor shows
 * what a miner prints, and a firmware that echoes its Wi-Fi or pool password must not put it on
 * screen or in a stream. Only secrets of at least `minLength` characters are masked: the usual
 * pool password "x" would otherwise mangle every line. Secrets live in memory only.
 */
export class SecretRedactor {
  readonly #secrets: string[] = []

  constructor(
    private readonly minLength = 4,
    private readonly maxSecrets = 64,
  ) {}

  add(...secrets: (string | undefined)[]): void {
    for (const s of secrets) {
      if (s === undefined || s.length < this.minLength || this.#secrets.includes(s)) continue
      this.#secrets.push(s)
      if (this.#secrets.length > this.maxSecrets) this.#secrets.shift()
    }
    // Longest first, so a secret containing another is masked whole.
    this.#secrets.sort((a, b) => b.length - a.length)
  }

  redact(text: string): string {
    let out = text
    for (const s of this.#secrets) if (out.includes(s)) out = out.split(s).join('***')
    return out
  }
}
