import { type AppError, appError, type ErrorCode, err } from '../../shared/errors'

/**
 * Stable reasons for everything that can go wrong on the USB-serial path (NVS codec, ROM
 * bootloader, port). The UI keys its wording on `details.reason`; `message` is already plain
 * English for a technician and never contains a Wi-Fi or pool password.
 */
export type SerialErrorReason =
  | 'NVS_BAD_IMAGE'
  | 'NVS_BAD_ENTRY'
  | 'NVS_TOO_LARGE'
  | 'NVS_BAD_CSV'
  | 'NVS_LAYOUT'
  | 'SLIP_FRAME_TOO_LONG'
  | 'ROM_TIMEOUT'
  | 'ROM_BAD_RESPONSE'
  | 'ROM_COMMAND_FAILED'
  | 'ROM_SYNC_FAILED'
  | 'ROM_NOT_SUPPORTED'
  | 'PORT_CLOSED'
  | 'PORT_ERROR'
  | 'PARTITION_TABLE'
  | 'NVS_PARTITION_MISSING'
  | 'NVS_PARTITION_UNEXPECTED'
  | 'VERIFY_FAILED'
  | 'BAD_ARGUMENT'
  | 'PORT_PERMISSION'
  | 'PORT_BUSY'
  | 'PORT_NOT_FOUND'
  | 'PORT_IN_USE_BY_HASHYARD'
  | 'BACKUP_FAILED'
  | 'BACKUP_NOT_FOUND'
  | 'BACKUP_DAMAGED'

const CODE_FOR: Record<SerialErrorReason, ErrorCode> = {
  NVS_BAD_IMAGE: 'INVALID_PARAMS',
  NVS_BAD_ENTRY: 'INVALID_PARAMS',
  NVS_TOO_LARGE: 'INVALID_PARAMS',
  NVS_BAD_CSV: 'INVALID_PARAMS',
  NVS_LAYOUT: 'CONFLICT',
  SLIP_FRAME_TOO_LONG: 'UNAVAILABLE',
  ROM_TIMEOUT: 'TIMEOUT',
  ROM_BAD_RESPONSE: 'UNAVAILABLE',
  ROM_COMMAND_FAILED: 'UNAVAILABLE',
  ROM_SYNC_FAILED: 'UNAVAILABLE',
  ROM_NOT_SUPPORTED: 'NOT_SUPPORTED',
  PORT_CLOSED: 'UNAVAILABLE',
  PORT_ERROR: 'UNAVAILABLE',
  PARTITION_TABLE: 'CONFLICT',
  NVS_PARTITION_MISSING: 'CONFLICT',
  NVS_PARTITION_UNEXPECTED: 'CONFLICT',
  VERIFY_FAILED: 'CONFLICT',
  BAD_ARGUMENT: 'INVALID_PARAMS',
  PORT_PERMISSION: 'FORBIDDEN',
  PORT_BUSY: 'CONFLICT',
  PORT_NOT_FOUND: 'NOT_FOUND',
  PORT_IN_USE_BY_HASHYARD: 'CONFLICT',
  BACKUP_FAILED: 'UNAVAILABLE',
  BACKUP_NOT_FOUND: 'NOT_FOUND',
  BACKUP_DAMAGED: 'CONFLICT',
}

/** A serial-path failure as an AppError; `details.reason` is the stable serial-level code. */
export function serialError(reason: SerialErrorReason, message: string, extra?: Record<string, unknown>): AppError {
  return appError(CODE_FOR[reason], message, { reason, ...extra })
}

export function serialErr(reason: SerialErrorReason, message: string, extra?: Record<string, unknown>) {
  return err(serialError(reason, message, extra))
}

/** The serial-level reason of an AppError produced by `serialError`, if any. */
export function serialReasonOf(e: AppError): SerialErrorReason | undefined {
  const d = e.details
  if (typeof d === 'object' && d !== null && 'reason' in d) {
    const r = (d as { reason: unknown }).reason
    if (typeof r === 'string' && r in CODE_FOR) return r as SerialErrorReason
  }
  return undefined
}
