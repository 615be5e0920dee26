/**
 * SMTP replies (RFC 5321 §4.2): `250-first line`, …, `250 last line`. A pure parser that keeps
 * its state across chunks, like the stratum framer: the socket only pipes bytes in.
 */
export interface SmtpReply {
  code: number
  lines: string[]
}

export type SmtpParseError = { code: 'SMTP_LINE_TOO_LONG' | 'SMTP_BAD_REPLY' | 'SMTP_TOO_MANY_LINES'; message: string }

export const MAX_REPLY_LINE = 4096
export const MAX_REPLY_LINES = 100

export class SmtpReplyParser {
  #buf = ''
  #lines: string[] = []
  #code: number | undefined

  /** Feeds bytes; returns the replies completed by them, or the first error (the stream is then unusable). */
  feed(chunk: Buffer | string): { replies: SmtpReply[]; error?: SmtpParseError } {
    this.#buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1')
    const replies: SmtpReply[] = []
    for (;;) {
      const nl = this.#buf.indexOf('\n')
      if (nl < 0) {
        if (this.#buf.length > MAX_REPLY_LINE)
          return { replies, error: { code: 'SMTP_LINE_TOO_LONG', message: 'reply line too long' } }
        return { replies }
      }
      const line = this.#buf.slice(0, nl).replace(/\r$/, '')
      this.#buf = this.#buf.slice(nl + 1)
      if (line.length > MAX_REPLY_LINE)
        return { replies, error: { code: 'SMTP_LINE_TOO_LONG', message: 'reply line too long' } }
      const m = /^([2-5]\d\d)([ -]|$)(.*)$/.exec(line)
      if (!m) return { replies, error: { code: 'SMTP_BAD_REPLY', message: `not an SMTP reply: ${line.slice(0, 80)}` } }
      const code = Number(m[1])
      if (this.#code !== undefined && code !== this.#code) {
        return { replies, error: { code: 'SMTP_BAD_REPLY', message: 'reply code changed inside a multi-line reply' } }
      }
      this.#code = code
      this.#lines.push(m[3] ?? '')
      if (this.#lines.length > MAX_REPLY_LINES) {
        return { replies, error: { code: 'SMTP_TOO_MANY_LINES', message: 'multi-line reply too long' } }
      }
      if (m[2] !== '-') {
        replies.push({ code, lines: this.#lines })
        this.#lines = []
        this.#code = undefined
      }
    }
  }
}

export function replyText(r: SmtpReply): string {
  return r.lines.map((l) => `${r.code} ${l}`.trim()).join(' / ')
}

/** EHLO keywords (upper case) with their parameters: `AUTH` → `['PLAIN', 'LOGIN']`. */
export function ehloExtensions(r: SmtpReply): Map<string, string[]> {
  const ext = new Map<string, string[]>()
  for (const line of r.lines.slice(1)) {
    const [kw, ...params] = line.trim().split(/\s+/)
    if (kw)
      ext.set(
        kw.toUpperCase(),
        params.map((p) => p.toUpperCase()),
      )
  }
  return ext
}
