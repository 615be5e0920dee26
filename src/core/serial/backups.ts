import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Result } from '../../shared/errors'
import { ok } from '../../shared/errors'
import type { PoolLayout } from './nvs/editor'
import { serialErr } from './serial-error'

export type BackupReason = 'read' | 'before-write'

/** The JSON sidecar of a backup. Deliberately holds no setting values: the image has passwords. */
export interface BackupInfo {
  /** `<mac-with-dashes>/<timestamp>`: the folder and file stem under `nvs-backups/`. */
  id: string
  mac: string
  chip: string
  layout?: PoolLayout
  takenAtMs: number
  sizeBytes: number
  sha256: string
  reason: BackupReason
}

export interface NewBackup {
  mac: string
  chip: string
  image: Uint8Array
  layout?: PoolLayout | undefined
  reason: BackupReason
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/
const MAC_DIR = /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/
const STAMP = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z(-\d{1,3})?$/
const SIDECAR_VERSION = 1

/**
 * Every `nvs` partition read from a device, kept as `<dataDir>/nvs-backups/<mac>/<timestamp>.bin`
 * with a `.json` sidecar (chip, layout, time, size, SHA-256). The MAC is written with dashes
 * (colons are not allowed in Windows file names). Files are private to the user (0600 in a 0700
 * folder) because the image holds the Wi-Fi and pool passwords. A read identical to the newest
 * backup of the same device is not stored twice. The `.bin` is written first and the sidecar
 * last, each through a rename, so a listed backup is always complete.
 */
export class NvsBackupStore {
  readonly dir: string

  constructor(
    dataDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(dataDir, 'nvs-backups')
  }

  async save(b: NewBackup): Promise<Result<BackupInfo>> {
    if (!MAC.test(b.mac)) return serialErr('BAD_ARGUMENT', `Not a MAC address: ${b.mac.slice(0, 40)}`)
    const image = Buffer.from(b.image)
    const sha256 = createHash('sha256').update(image).digest('hex')
    try {
      const newest = (await this.list(b.mac)).find(() => true)
      if (newest?.sha256 === sha256 && newest.sizeBytes === image.length) return ok(newest)
      const macDir = b.mac.replaceAll(':', '-')
      const folder = join(this.dir, macDir)
      await mkdir(folder, { recursive: true, mode: 0o700 })
      const takenAtMs = this.now()
      const base = new Date(takenAtMs).toISOString().replaceAll(':', '-')
      const existing = new Set(await readdir(folder))
      let stamp = base
      for (let i = 1; existing.has(`${stamp}.bin`) || existing.has(`${stamp}.json`); i++) stamp = `${base}-${i}`
      const info: BackupInfo = {
        id: `${macDir}/${stamp}`,
        mac: b.mac,
        chip: b.chip,
        ...(b.layout ? { layout: b.layout } : {}),
        takenAtMs,
        sizeBytes: image.length,
        sha256,
        reason: b.reason,
      }
      await atomicWrite(join(folder, `${stamp}.bin`), image)
      await atomicWrite(
        join(folder, `${stamp}.json`),
        `${JSON.stringify({ version: SIDECAR_VERSION, ...info }, null, 2)}\n`,
      )
      return ok(info)
    } catch (e) {
      return serialErr('BACKUP_FAILED', `Could not store the backup in ${this.dir}: ${messageOf(e)}`)
    }
  }

  /** Backups newest first, of one device or all. Unreadable sidecars are skipped. */
  async list(mac?: string): Promise<BackupInfo[]> {
    const dirs = mac ? [mac.replaceAll(':', '-')] : await readdir(this.dir).catch(() => [] as string[])
    const out: BackupInfo[] = []
    for (const d of dirs) {
      if (!MAC_DIR.test(d)) continue
      const names = await readdir(join(this.dir, d)).catch(() => [] as string[])
      for (const n of names) {
        if (!n.endsWith('.json') || !STAMP.test(n.slice(0, -5))) continue
        const info = await this.#readSidecar(d, n.slice(0, -5))
        if (info) out.push(info)
      }
    }
    return out.sort((a, b) => b.takenAtMs - a.takenAtMs || b.id.localeCompare(a.id))
  }

  /** A backup's image, checked against the size and SHA-256 its sidecar recorded. */
  async load(id: string): Promise<Result<{ info: BackupInfo; image: Buffer }>> {
    const [macDir, stamp, extra] = id.split('/')
    if (extra !== undefined || !macDir || !stamp || !MAC_DIR.test(macDir) || !STAMP.test(stamp)) {
      return serialErr('BACKUP_NOT_FOUND', 'No backup has this id.')
    }
    const info = await this.#readSidecar(macDir, stamp)
    if (!info) return serialErr('BACKUP_NOT_FOUND', `Backup ${id} does not exist (or its description is unreadable).`)
    let image: Buffer
    try {
      image = await readFile(join(this.dir, macDir, `${stamp}.bin`))
    } catch (e) {
      return serialErr('BACKUP_DAMAGED', `The image of backup ${id} cannot be read: ${messageOf(e)}`)
    }
    if (image.length !== info.sizeBytes || createHash('sha256').update(image).digest('hex') !== info.sha256) {
      return serialErr(
        'BACKUP_DAMAGED',
        `Backup ${id} was changed or damaged on disk (its checksum no longer matches); it will not be written to a device.`,
      )
    }
    return ok({ info, image })
  }

  async #readSidecar(macDir: string, stamp: string): Promise<BackupInfo | undefined> {
    try {
      const raw: unknown = JSON.parse(await readFile(join(this.dir, macDir, `${stamp}.json`), 'utf8'))
      return parseSidecar(raw, `${macDir}/${stamp}`)
    } catch {
      // A missing or half-written sidecar means the backup is not complete: it is not listed.
      return undefined
    }
  }
}

function parseSidecar(raw: unknown, id: string): BackupInfo | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (r.version !== SIDECAR_VERSION || r.id !== id) return undefined
  if (typeof r.mac !== 'string' || !MAC.test(r.mac) || typeof r.chip !== 'string') return undefined
  if (typeof r.takenAtMs !== 'number' || typeof r.sizeBytes !== 'number' || typeof r.sha256 !== 'string')
    return undefined
  if (r.reason !== 'read' && r.reason !== 'before-write') return undefined
  const layout = r.layout === 'legacy' || r.layout === 'pool-slots' ? r.layout : undefined
  return {
    id,
    mac: r.mac,
    chip: r.chip,
    ...(layout ? { layout } : {}),
    takenAtMs: r.takenAtMs,
    sizeBytes: r.sizeBytes,
    sha256: r.sha256,
    reason: r.reason,
  }
}

async function atomicWrite(file: string, data: Buffer | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  await writeFile(tmp, data, { mode: 0o600, flush: true })
  await rename(tmp, file)
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
