import { z } from 'zod'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import { type AlertRule, DEVICE_RULE_TYPES } from './types'

const MIN = 60_000
const DAY = 1440 * MIN

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'id: 1-64 of letters, digits, _ . : -')
const forMs = z
  .number()
  .int()
  .min(0)
  .max(7 * DAY)
const pct = z.number().gt(0).max(100)

const scope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('farm') }),
  z.object({ kind: z.literal('device'), deviceId: z.string().min(1).max(200) }),
  z.object({ kind: z.literal('tag'), tag: z.string().min(1).max(64) }),
])

const common = {
  id,
  enabled: z.boolean(),
  scope,
  severity: z.enum(['info', 'warning', 'critical']),
  channels: z.array(id).max(32).nullable().optional(),
}

const rateRule = {
  abovePct: pct,
  windowMs: z.number().int().min(MIN).max(DAY),
  minShares: z.number().int().min(1).max(1e6),
}

/** Validates rules arriving from the UI or read back from the store. */
export const alertRuleSchema = z
  .discriminatedUnion('type', [
    z.object({ ...common, type: z.literal('device-offline'), forMs }),
    z.object({ ...common, type: z.literal('no-accepted-share'), forMs: forMs.min(MIN) }),
    z.object({
      ...common,
      type: z.literal('hashrate-low'),
      belowPct: z.number().gt(0).lt(100),
      baseline: z.enum(['own-24h', 'nameplate']),
      forMs,
    }),
    z.object({ ...common, type: z.literal('temp-high'), aboveC: z.number().min(0).max(150), forMs }),
    z.object({ ...common, type: z.literal('reject-rate-high'), ...rateRule }),
    z.object({ ...common, type: z.literal('stale-rate-high'), ...rateRule }),
    z.object({ ...common, type: z.literal('pool-drift'), forMs }),
    z.object({ ...common, type: z.literal('proxy-failover'), forMs }),
    z.object({ ...common, type: z.literal('upstream-down'), forMs }),
    z.object({ ...common, type: z.literal('node-unreachable'), forMs }),
    z.object({
      ...common,
      type: z.literal('template-stale'),
      maxAgeMs: z.number().int().min(10_000).max(DAY),
      forMs,
    }),
    z.object({ ...common, type: z.literal('unknown-device') }),
    z.object({ ...common, type: z.literal('block-found') }),
  ])
  .refine((r) => r.scope.kind !== 'tag' || (DEVICE_RULE_TYPES as readonly string[]).includes(r.type), {
    message: 'a tag scope applies to device rules only',
    path: ['scope'],
  })

/** A rule from untrusted input, or INVALID_PARAMS naming the first bad field. */
export function parseRule(input: unknown): Result<AlertRule, AppError> {
  const r = alertRuleSchema.safeParse(input)
  if (r.success) return ok(r.data as AlertRule)
  const issue = r.error.issues[0]
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : ''
  return err(appError('INVALID_PARAMS', `alert rule: ${where}${issue?.message ?? 'invalid'}`))
}
