import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/support/temp-dir'
import { NvsBackupStore } from './backups'
import { nvsFixture } from './nvs/testing/fixtures'
import { serialReasonOf } from './serial-error'

const cleanups: (() => void)[] = []
afterEach(() => {
  for (const c of cleanups.splice(0)) c()
})

function store(startMs = Date.UTC(2025, 4, 1, 12, 0, 0, 123)) {
  const t = tempDir()
  cleanups.push(t.cleanup)
  let clock = startMs
  return { dir: t.dir, store: new NvsBackupStore(t.dir, () => clock), tick: (ms: number) => (clock += ms) }
}

const MAC = '24:58:7c:aa:bb:cc'
const image = nvsFixture('bitaxe-legacy.bin')

describe('NvsBackupStore', () => {
  it('keeps the image under nvs-backups/<mac>/<timestamp>.bin with a sidecar holding no setting values', async () => {
    const { dir, store: s } = store()
    const r = await s.save({ mac: MAC, chip: 'ESP32-S3', image, layout: 'legacy', reason: 'read' })
    expect(r.ok).toBe(true)
    if (!r.ok) return
    expect(r.value.id).toBe('24-58-7c-aa-bb-cc/2025-05-01T12-00-00.123Z')
    const folder = join(dir, 'nvs-backups', '24-58-7c-aa-bb-cc')
    expect(readdirSync(folder).sort()).toEqual(['2025-05-01T12-00-00.123Z.bin', '2025-05-01T12-00-00.123Z.json'])
    expect(readFileSync(join(folder, '2025-05-01T12-00-00.123Z.bin')).equals(image)).toBe(true)
    const sidecar = readFileSync(join(folder, '2025-05-01T12-00-00.123Z.json'), 'utf8')
    expect(JSON.parse(sidecar)).toEqual({
      version: 1,
      id: r.value.id,
      mac: MAC,
      chip: 'ESP32-S3',
      layout: 'legacy',
      takenAtMs: Date.UTC(2025, 4, 1, 12, 0, 0, 123),
      sizeBytes: 0x6000,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      reason: 'read',
    })
    for (const secret of ['correct horse battery', 'FarmNet', 'stratum']) expect(sidecar).not.toContain(secret)
    if (process.platform !== 'win32') {
      expect(statSync(join(folder, '2025-05-01T12-00-00.123Z.bin')).mode & 0o777).toBe(0o600)
      expect(statSync(folder).mode & 0o777).toBe(0o700)
    }
  })

  it('does not store a read identical to the newest backup twice, but keeps every change', async () => {
    const { store: s, tick } = store()
    const first = await s.save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'read' })
    tick(1000)
    const again = await s.save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'before-write' })
    expect(again.ok && first.ok && again.value.id === first.value.id).toBe(true)
    tick(1000)
    const changed = Buffer.from(image)
    changed[0x5000] = 0x00
    const second = await s.save({ mac: MAC, chip: 'ESP32-S3', image: changed, reason: 'before-write' })
    expect(second.ok && first.ok && second.value.id !== first.value.id).toBe(true)
    const list = await s.list(MAC)
    expect(list.map((b) => b.reason)).toEqual(['before-write', 'read'])
  })

  it('gives two backups in the same millisecond distinct ids', async () => {
    const { store: s } = store()
    const a = await s.save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'read' })
    const b = await s.save({ mac: MAC, chip: 'ESP32-S3', image: Buffer.alloc(0x6000, 0xff), reason: 'read' })
    expect(a.ok && b.ok).toBe(true)
    if (a.ok && b.ok) expect(b.value.id).toBe(`${a.value.id}-1`)
  })

  it('lists every device newest first and loads an image back byte for byte', async () => {
    const { store: s, tick } = store()
    await s.save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'read' })
    tick(5)
    const other = await s.save({ mac: '24:58:7c:00:00:01', chip: 'ESP32', image, reason: 'read' })
    const all = await s.list()
    expect(all.map((b) => b.mac)).toEqual(['24:58:7c:00:00:01', MAC])
    if (!other.ok) throw new Error('save failed')
    const loaded = await s.load(other.value.id)
    expect(loaded.ok && loaded.value.image.equals(image)).toBe(true)
  })

  it('refuses to load a backup whose image changed on disk', async () => {
    const { dir, store: s } = store()
    const r = await s.save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'read' })
    if (!r.ok) throw new Error('save failed')
    const bin = join(dir, 'nvs-backups', `${r.value.id}.bin`)
    const damaged = readFileSync(bin)
    damaged[100] = (damaged[100] as number) ^ 0xff
    writeFileSync(bin, damaged)
    const loaded = await s.load(r.value.id)
    expect(loaded.ok).toBe(false)
    if (!loaded.ok) {
      expect(serialReasonOf(loaded.error)).toBe('BACKUP_DAMAGED')
      expect(loaded.error.message).toMatch(/checksum no longer matches/)
    }
  })

  it('rejects ids that try to leave the backup folder, and unknown ids', async () => {
    const { store: s } = store()
    for (const id of [
      '../../etc/passwd',
      '24-58-7c-aa-bb-cc/../../x',
      '24-58-7c-aa-bb-cc/2025-05-01T12-00-00.123Z/x',
      '',
    ]) {
      const r = await s.load(id)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(serialReasonOf(r.error)).toBe('BACKUP_NOT_FOUND')
    }
    const missing = await s.load('24-58-7c-aa-bb-cc/2025-05-01T12-00-00.123Z')
    expect(!missing.ok && serialReasonOf(missing.error)).toBe('BACKUP_NOT_FOUND')
  })

  it('does not list a backup whose sidecar is missing or not ours', async () => {
    const { dir, store: s } = store()
    const r = await s.save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'read' })
    if (!r.ok) throw new Error('save failed')
    writeFileSync(join(dir, 'nvs-backups', `${r.value.id}.json`), '{"version":1,')
    expect(await s.list()).toEqual([])
    expect(await new NvsBackupStore(join(dir, 'nowhere')).list()).toEqual([])
  })

  it('reports a data folder it cannot write as a clear failure', async () => {
    const { dir } = store()
    writeFileSync(join(dir, 'nvs-backups'), 'a file where the folder should be')
    const r = await new NvsBackupStore(dir).save({ mac: MAC, chip: 'ESP32-S3', image, reason: 'read' })
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(serialReasonOf(r.error)).toBe('BACKUP_FAILED')
      expect(r.error.message).toMatch(/Could not store the backup/)
    }
  })
})
