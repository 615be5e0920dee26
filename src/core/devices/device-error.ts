import { type AppError, appError, type ErrorCode, err } from '../../shared/errors'
import type { DeviceErrorReason } from './types'

const CODE_FOR: Record<DeviceErrorReason, ErrorCode> = {
  CONNECT_FAILED: 'UNAVAILABLE',
  TIMEOUT: 'TIMEOUT',
  BAD_JSON: 'UNAVAILABLE',
  BAD_REPLY: 'UNAVAILABLE',
  HTTP_STATUS: 'UNAVAILABLE',
  AUTH_FAILED: 'UNAUTHORIZED',
  ACCESS_DENIED: 'FORBIDDEN',
  COMMAND_FAILED: 'CONFLICT',
  TOO_LARGE: 'UNAVAILABLE',
  INVALID_POOL: 'INVALID_PARAMS',
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  VERIFY_FAILED: 'CONFLICT',
}

/** A device failure as an AppError; `details.reason` is the stable device-level code. */
export function deviceError(reason: DeviceErrorReason, message: string, extra?: Record<string, unknown>): AppError {
  return appError(CODE_FOR[reason], message, { reason, ...extra })
}

export function deviceErr(reason: DeviceErrorReason, message: string, extra?: Record<string, unknown>) {
  return err(deviceError(reason, message, extra))
}

/** The device-level reason of an AppError produced by `deviceError`, if any. */
export function reasonOf(e: AppError): DeviceErrorReason | undefined {
  const d = e.details
  if (typeof d === 'object' && d !== null && 'reason' in d) {
    const r = (d as { reason: unknown }).reason
    if (typeof r === 'string' && r in CODE_FOR) return r as DeviceErrorReason
  }
  return undefined
}
