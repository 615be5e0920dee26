import { sanitizeForLog } from '../../devices/untrusted-text'

/** Untrusted names in alert text: control and bidi characters removed, capped at 64. */
export function cleanName(text: string | undefined, fallback: string): string {
  const t = text === undefined ? '' : sanitizeForLog(text, 64).trim()
  return t === '' ? sanitizeForLog(fallback, 64) : t
}

/** `45 s`, `5 min`, `1 h 20 min`, `2 d 3 h`: how people say durations in alerts. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const min = Math.round(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`
  const d = Math.floor(h / 24)
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`
}

/** TH/s with sensible precision (a Bitaxe is ~1 TH/s, an S21 ~200). */
export function formatThs(ths: number): string {
  if (ths >= 100) return `${ths.toFixed(0)} TH/s`
  if (ths >= 10) return `${ths.toFixed(1)} TH/s`
  if (ths >= 0.01) return `${ths.toFixed(2)} TH/s`
  return `${(ths * 1000).toFixed(1)} GH/s`
}

export function formatPct(value: number): string {
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)} %`
}
