import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import { sanitizeForLog } from '../../devices/untrusted-text'

export interface PostResult {
  status: number
  /** At most 2 KiB of the response, for error messages. */
  body: string
}

export const DEFAULT_POST_TIMEOUT_MS = 10_000

/** Accepts http(s) URLs only; anything else is a configuration error. */
export function checkHttpUrl(url: string, what: string): Result<URL, AppError> {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return err(appError('INVALID_PARAMS', `${what}: not a valid URL`))
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return err(appError('INVALID_PARAMS', `${what}: must be http or https`))
  return ok(u)
}

/**
 * POSTs a JSON body. Redirects are not followed (a webhook that moved should be edited, and
 * following could leak a signed body elsewhere). `redact` lists secrets to scrub from any error
 * text, because some stacks put the URL (with a bot token in its path) into their messages.
 */
export async function postJson(
  url: URL,
  body: string,
  headers: Record<string, string>,
  opts: { timeoutMs?: number; redact?: readonly string[] } = {},
): Promise<Result<PostResult, AppError>> {
  const scrub = (text: string) => {
    let t = text
    for (const s of opts.redact ?? []) if (s) t = t.split(s).join('***')
    return sanitizeForLog(t, 300)
  }
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'Hashyard', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_POST_TIMEOUT_MS),
    })
    const text = (await res.text()).slice(0, 2048)
    return ok({ status: res.status, body: scrub(text) })
  } catch (e) {
    if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
      return err(appError('TIMEOUT', `no answer from ${url.host} in time`))
    }
    const cause =
      e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e)
    return err(appError('UNAVAILABLE', `could not reach ${scrub(url.host)}: ${scrub(cause)}`))
  }
}
