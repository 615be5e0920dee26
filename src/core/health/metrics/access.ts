import { timingSafeEqual } from 'node:crypto'
import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'

export interface MetricsAccessConfig {
  /** `/metrics` is opt-in. */
  enabled: boolean
  /** Bearer token required from any address that is not loopback. */
  token?: string
}

const isLoopback = (addr: string | undefined) =>
  addr !== undefined &&
  (/^127\.\d+\.\d+\.\d+$/.test(addr) || addr === '::1' || /^::ffff:127\.\d+\.\d+\.\d+$/.test(addr))

/**
 * Who may scrape `/metrics` (issue 7 §5): nobody when disabled; loopback always; anyone else only
 * with `Authorization: Bearer <token>`, compared in constant time. With no token configured,
 * non-loopback scrapers are refused, so turning metrics on never exposes the farm by accident.
 */
export function authorizeMetricsRequest(
  req: { remoteAddress: string | undefined; authorization: string | undefined },
  cfg: MetricsAccessConfig,
): Result<void, AppError> {
  if (!cfg.enabled) return err(appError('NOT_FOUND', 'metrics are turned off'))
  if (isLoopback(req.remoteAddress)) return ok(undefined)
  if (!cfg.token) return err(appError('FORBIDDEN', 'set a metrics token to allow scraping from other machines'))
  const m = /^Bearer (.+)$/.exec(req.authorization ?? '')
  const got = Buffer.from(m?.[1] ?? '')
  const want = Buffer.from(cfg.token)
  if (got.length !== want.length || !timingSafeEqual(got, want))
    return err(appError('UNAUTHORIZED', 'missing or wrong metrics token'))
  return ok(undefined)
}
