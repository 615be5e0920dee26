import type { Result } from '../../shared/errors'
import { ok } from '../../shared/errors'
import type { ChipInfo, EspRomFlasher, ProgressFn } from './esp-rom/flasher'
import { applySettingsChange, type PoolLayout, type SettingsChange } from './nvs/editor'
import { serialErr } from './serial-error'

export interface DeviceBackup extends ChipInfo {
  /** The whole `nvs` partition as read before any write (0x6000 bytes). */
  image: Buffer
}

export interface WriteSettingsOptions {
  change: SettingsChange
  /**
   * Called with the partition read from the device before anything is written. The caller stores
   * it (by MAC) and the write only starts once this resolves: if storing fails (an error result or
   * a throw), nothing is written.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a callback that only stores the backup in memory returns nothing.
  onBackup: (backup: DeviceBackup) => Promise<Result<unknown> | undefined> | Result<unknown> | void
  onProgress?: ProgressFn
}

export interface WriteSettingsResult extends ChipInfo {
  layout: PoolLayout
  changedKeys: string[]
}

/**
 * The technician's "Write settings": connect to the ROM bootloader, read and back up `nvs`, change
 * only Wi-Fi and pool keys, write, verify (MD5), and reboot into the firmware.
 */
export async function writeSettingsOverUsb(
  flasher: EspRomFlasher,
  opts: WriteSettingsOptions,
): Promise<Result<WriteSettingsResult>> {
  const chip = await flasher.connect(opts.onProgress)
  if (!chip.ok) return chip
  const current = await flasher.readNvsPartition(opts.onProgress)
  if (!current.ok) return current
  const stored = await storeBackup(opts.onBackup, { ...chip.value, image: Buffer.from(current.value) })
  if (!stored.ok) return stored
  const edited = applySettingsChange(current.value, opts.change)
  if (!edited.ok) return edited
  const written = await flasher.writeNvsPartition(edited.value.image, opts.onProgress)
  if (!written.ok) return written
  const reset = await flasher.hardReset(opts.onProgress)
  if (!reset.ok) return reset
  return ok({ ...chip.value, layout: edited.value.layout, changedKeys: edited.value.changedKeys })
}

async function storeBackup(onBackup: WriteSettingsOptions['onBackup'], backup: DeviceBackup): Promise<Result<null>> {
  try {
    const r = await onBackup(backup)
    if (r && !r.ok) return r
    return ok(null)
  } catch (e) {
    return serialErr(
      'BACKUP_FAILED',
      `Could not keep a backup of the device's settings, so nothing was written: ${e instanceof Error ? e.message : String(e)}`,
    )
  }
}

/** Writes a backup taken by `writeSettingsOverUsb` back to the device, verifies it, and reboots. */
export async function restoreBackupOverUsb(
  flasher: EspRomFlasher,
  backup: Pick<DeviceBackup, 'mac' | 'image'>,
  onProgress?: ProgressFn,
): Promise<Result<ChipInfo>> {
  const chip = await flasher.connect(onProgress)
  if (!chip.ok) return chip
  if (chip.value.mac !== backup.mac) {
    return serialErr(
      'BAD_ARGUMENT',
      `This backup belongs to ${backup.mac}, but the connected device is ${chip.value.mac}.`,
    )
  }
  const written = await flasher.writeNvsPartition(backup.image, onProgress)
  if (!written.ok) return written
  const reset = await flasher.hardReset(onProgress)
  if (!reset.ok) return reset
  return chip
}
