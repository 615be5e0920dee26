import type { Database } from '../store/sqlite'

export type SecretProtection = 'os-keystore' | 'file-0600' | 'memory'

/**
 * Encrypts secrets at rest. Desktop: Electron's safeStorage, reached through the main process
 * (it is main-only). Headless: none — the secret is kept in the data folder, which is created
 * readable by its owner only, and the UI says so instead of pretending.
 */
export interface SecretCipher {
  readonly scheme: string
  readonly protection: SecretProtection
  /** Shown to the owner when protection is weaker than an OS keystore. */
  readonly warning?: string
  encrypt(plaintext: string): Promise<Uint8Array>
  decrypt(blob: Uint8Array): Promise<string>
}

export const fileCipher: SecretCipher = {
  scheme: 'file-0600',
  protection: 'file-0600',
  warning:
    'Device and pool passwords are stored unencrypted in the data folder, which only your user account can read. Use the desktop app with an OS keyring for encryption at rest.',
  encrypt: async (p) => new TextEncoder().encode(p),
  decrypt: async (b) => new TextDecoder().decode(b),
}

/**
 * Passwords and tokens by reference. Values never leave the core through the API: handlers
 * return `hasPassword: boolean`, never the secret.
 */
export class SecretStore {
  constructor(
    private readonly db: Database,
    readonly cipher: SecretCipher,
  ) {}

  async put(ref: string, plaintext: string): Promise<void> {
    const blob = await this.cipher.encrypt(plaintext)
    this.db
      .prepare(
        'INSERT INTO secrets (ref, scheme, blob, updated_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT(ref) DO UPDATE SET scheme = excluded.scheme, blob = excluded.blob, updated_at_ms = excluded.updated_at_ms',
      )
      .run(ref, this.cipher.scheme, Buffer.from(blob), Date.now())
  }

  async get(ref: string): Promise<string | undefined> {
    const row = this.db.prepare('SELECT scheme, blob FROM secrets WHERE ref = ?').get(ref) as
      | { scheme: string; blob: Buffer }
      | undefined
    if (!row) return undefined
    if (row.scheme !== this.cipher.scheme) {
      throw new Error(`secret ${ref} was stored with ${row.scheme}, but this host decrypts ${this.cipher.scheme}`)
    }
    return this.cipher.decrypt(row.blob)
  }

  has(ref: string): boolean {
    return this.db.prepare('SELECT 1 FROM secrets WHERE ref = ?').get(ref) !== undefined
  }

  delete(ref: string): void {
    this.db.prepare('DELETE FROM secrets WHERE ref = ?').run(ref)
  }
}
