import { randomUUID } from 'node:crypto'

/**
 * Building the message text for SMTP DATA: RFC 5322 headers, a quoted-printable UTF-8 body
 * (RFC 2045 §6.7, 7-bit safe on any server), and RFC 5321 §4.5.2 dot-stuffing.
 */
export interface MailMessage {
  from: string
  to: string[]
  subject: string
  text: string
  dateMs: number
  messageId?: string
  fromName?: string
}

const ADDRESS = /^[^\s<>@",;:\\()[\]]{1,64}@[A-Za-z0-9.-]{1,253}$/

/** A bare `local@domain` with nothing that could break out of `<…>` or a header line. */
export function isMailAddress(a: string): boolean {
  return ADDRESS.test(a)
}

/** RFC 2047 encoded-word for non-ASCII header text; CR/LF never survive into a header. */
export function encodeHeaderText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing controls from header text is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  if (/^[\x20-\x7e]*$/.test(clean)) return clean
  // Encode in chunks so no encoded-word exceeds 75 characters (RFC 2047 §2).
  const words: string[] = []
  let chunk = ''
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk)
      chunk = ''
    }
    chunk += ch
  }
  if (chunk) words.push(chunk)
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ')
}

/** Quoted-printable: CRLF line breaks, `=XX` for bytes outside printable ASCII, soft breaks at 76. */
export function quotedPrintable(text: string): string {
  const out: string[] = []
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const bytes = Buffer.from(line, 'utf8')
    let encoded = ''
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!
      const last = i === bytes.length - 1
      const plain = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last)
      encoded += plain ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`
    }
    let rest = encoded
    while (rest.length > 76) {
      let cut = 75
      // Never split an =XX escape.
      const eq = rest.lastIndexOf('=', cut - 1)
      if (eq >= cut - 2) cut = eq
      out.push(`${rest.slice(0, cut)}=`)
      rest = rest.slice(cut)
    }
    out.push(rest)
  }
  return out.join('\r\n')
}

/** RFC 5322 date: `Sat, 01 Mar 2025 12:00:00 +0000`. */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms)
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  const p = (n: number) => String(n).padStart(2, '0')
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
}

export function buildMessage(m: MailMessage): string {
  const id = m.messageId ?? `<${randomUUID()}@hashyard>`
  const from = m.fromName ? `${encodeHeaderText(m.fromName)} <${m.from}>` : m.from
  return [
    `From: ${from}`,
    `To: ${m.to.join(', ')}`,
    `Subject: ${encodeHeaderText(m.subject)}`,
    `Date: ${rfc5322Date(m.dateMs)}`,
    `Message-ID: ${id}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    'Auto-Submitted: auto-generated',
    '',
    quotedPrintable(m.text),
  ].join('\r\n')
}

/** RFC 5321 §4.5.2: a line that starts with `.` gets one more; then the `CRLF.CRLF` terminator. */
export function dotStuff(message: string): string {
  const body = message.replace(/\r?\n/g, '\r\n')
  const stuffed = body.replace(/(^|\r\n)\./g, '$1..')
  return `${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`
}
