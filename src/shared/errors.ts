/**
 * Errors that cross a boundary (the API contract, a protocol reply, a device driver result) are
 * plain values with a stable code. Stacks stay in the local log; clients only ever see this shape.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_PARAMS'
  | 'UNKNOWN_METHOD'
  | 'UNKNOWN_TOPIC'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_SUPPORTED'
  | 'UNAVAILABLE'
  | 'TIMEOUT'
  | 'CORE_DOWN'
  | 'INTERNAL'

export interface AppError {
  code: ErrorCode
  message: string
  details?: unknown
}

export type Result<T, E = AppError> = { ok: true; value: T } | { ok: false; error: E }

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value })
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error })

export function appError(code: ErrorCode, message: string, details?: unknown): AppError {
  return details === undefined ? { code, message } : { code, message, details }
}

/** Thrown inside handlers; converted to an AppError by the RPC layer. */
export class AppFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message)
    this.name = 'AppFailure'
  }
  toAppError(): AppError {
    return appError(this.code, this.message, this.details)
  }
}
