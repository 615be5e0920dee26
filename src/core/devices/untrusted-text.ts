/**
 * Text that arrives from the network (device hostnames, models, pool URLs, mDNS names) is
 * untrusted. The original string is kept for display *as text*; anything that goes to a log
 * passes through `sanitizeForLog` so a hostile name cannot forge log lines, hide itself with
 * terminal escapes or flood the log.
 */

/** C0 and C1 controls, DEL, bidi overrides and zero-width characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g

export const LOG_TEXT_MAX = 120

/** Strips control characters and caps the length; marks a cut with `…`. */
export function sanitizeForLog(text: string, max = LOG_TEXT_MAX): string {
  const clean = text.replace(UNSAFE, '')
  if (clean.length <= max) return clean
  return `${clean.slice(0, Math.max(0, max - 1))}…`
}

/** True when the text contains characters `sanitizeForLog` would remove. */
export function hasUnsafeChars(text: string): boolean {
  UNSAFE.lastIndex = 0
  const found = UNSAFE.test(text)
  UNSAFE.lastIndex = 0
  return found
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/

/** True when the text has an ASCII control character (never valid in a pool URL, user or password). */
export function hasControlChars(text: string): boolean {
  return CONTROL.test(text)
}
