import { AlertRuleSchema } from '../../../shared/contract/health'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { AlertRule } from './types'

/**
 * Validates rules arriving from the UI or read back from the store. The schema lives in the API
 * contract (src/shared/contract/health.ts) so the UI validates with the same rules.
 */
export const alertRuleSchema = AlertRuleSchema

/** A rule from untrusted input, or INVALID_PARAMS naming the first bad field. */
export function parseRule(input: unknown): Result<AlertRule, AppError> {
  const r = alertRuleSchema.safeParse(input)
  if (r.success) return ok(r.data as AlertRule)
  const issue = r.error.issues[0]
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
  return err(appError('INVALID_PARAMS', `alert rule: ${where}${issue?.message ?? 'invalid'}`))
}
