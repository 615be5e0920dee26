import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import {
  type SmtpReceiver,
  type SmtpReceiverOptions,
  startSmtpReceiver,
} from '../../../../../test/support/receivers/smtp-receiver'
import { createEmailChannel } from '../email'
import { buildMessage, dotStuff, encodeHeaderText, quotedPrintable } from './message'
import { ehloExtensions, SmtpReplyParser } from './reply-parser'
import { type SmtpOptions, sendMail } from './smtp-client'

const CERT = readFileSync(new URL('../../../../../test/fixtures/stratum/tls-test-cert.pem', import.meta.url), 'utf8')
const KEY = readFileSync(new URL('../../../../../test/fixtures/stratum/tls-test-key.pem', import.meta.url), 'utf8')
const T = Date.UTC(2025, 2, 1, 12, 0, 0)

/** Reverses quoted-printable, to check what a mail client would show. */
function decodeQp(body: string): string {
  const joined = body.replace(/=\r\n/g, '')
  const bytes: number[] = []
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === '=') {
      bytes.push(Number.parseInt(joined.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(joined.charCodeAt(i))
  }
  return Buffer.from(bytes).toString('utf8')
}
const bodyOf = (data: string) => data.slice(data.indexOf('\r\n\r\n') + 4)

describe('SMTP codec', () => {
  it('parses single, multi-line and split replies and reads EHLO extensions', () => {
    const p = new SmtpReplyParser()
    expect(p.feed('220 ready\r\n250-mx greets\r\n250-AUTH PLAIN ').replies).toEqual([{ code: 220, lines: ['ready'] }])
    const r = p.feed('login\r\n250-STARTTLS\r\n250 SIZE 100\r\n')
    expect(r.replies).toEqual([{ code: 250, lines: ['mx greets', 'AUTH PLAIN login', 'STARTTLS', 'SIZE 100'] }])
    expect(ehloExtensions(r.replies[0]!)).toEqual(
      new Map([
        ['AUTH', ['PLAIN', 'LOGIN']],
        ['STARTTLS', []],
        ['SIZE', ['100']],
      ]),
    )
    expect(new SmtpReplyParser().feed('HTTP/1.1 400 Bad\r\n').error?.code).toBe('SMTP_BAD_REPLY')
    expect(new SmtpReplyParser().feed('250-a\r\n220 b\r\n').error?.code).toBe('SMTP_BAD_REPLY')
    expect(new SmtpReplyParser().feed('2'.repeat(5000)).error?.code).toBe('SMTP_LINE_TOO_LONG')
  })

  it('dot-stuffs lines starting with a dot and terminates DATA', () => {
    expect(dotStuff('a\r\n.b\r\n..c\r\n.')).toBe('a\r\n..b\r\n...c\r\n..\r\n.\r\n')
    expect(dotStuff('.first\nlast\n')).toBe('..first\r\nlast\r\n.\r\n')
  })

  it('encodes bodies as quoted-printable with soft breaks that never split an escape', () => {
    expect(quotedPrintable('a=b é\nline ')).toBe('a=3Db =C3=A9\r\nline=20')
    const long = quotedPrintable('é'.repeat(40))
    for (const line of long.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76)
    expect(decodeQp(long)).toBe('é'.repeat(40))
  })

  it('keeps CR/LF out of headers and encodes non-ASCII subjects', () => {
    expect(encodeHeaderText('rig\r\nBcc: x@evil')).toBe('rig Bcc: x@evil')
    expect(encodeHeaderText('Temperatur 81 °C')).toBe(
      `=?UTF-8?B?${Buffer.from('Temperatur 81 °C').toString('base64')}?=`,
    )
    const m = buildMessage({ from: 'a@b.c', to: ['d@e.f'], subject: 'x\ny', text: 't', dateMs: T, messageId: '<1@h>' })
    expect(m.split('\r\n').slice(0, 5)).toEqual([
      'From: a@b.c',
      'To: d@e.f',
      'Subject: x y',
      'Date: Sat, 01 Mar 2025 12:00:00 +0000',
      'Message-ID: <1@h>',
    ])
  })
})

describe('SMTP client against a real local SMTP server', () => {
  const servers: SmtpReceiver[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })
  async function server(o: SmtpReceiverOptions) {
    const s = await startSmtpReceiver(o)
    servers.push(s)
    return s
  }
  const mail = {
    from: 'farm@example.com',
    to: ['owner@example.com', 'partner@example.com'],
    subject: 'rig-1 is offline',
    text: 'rig-1 has not answered for 5 min.\n.a line that starts with a dot\n..and two\nÜnïcödé ✓',
    dateMs: T,
  }

  it('STARTTLS, then AUTH PLAIN, then delivers to every recipient with the body intact', async () => {
    const s = await server({ users: { farm: 's3cret pass' }, requireAuth: true, starttls: { key: KEY, cert: CERT } })
    const opts: SmtpOptions = {
      host: '127.0.0.1',
      port: s.port,
      security: 'starttls',
      username: 'farm',
      password: 's3cret pass',
      tls: { ca: CERT },
    }
    const r = await sendMail(opts, mail)
    expect(r.ok).toBe(true)
    expect(s.messages).toHaveLength(1)
    const m = s.messages[0]!
    expect(m).toMatchObject({
      mailFrom: 'farm@example.com',
      rcptTo: ['owner@example.com', 'partner@example.com'],
      authUser: 'farm',
      tls: true,
    })
    expect(decodeQp(bodyOf(m.data))).toBe(mail.text.replace(/\n/g, '\r\n'))
    expect(m.data).toContain('Subject: rig-1 is offline\r\n')
    expect(r.ok && r.value.reply).toBe('250 2.0.0 Ok: queued as TEST1')
    // The password only went inside the encrypted session: the transcript's first lines are EHLO and STARTTLS.
    expect(s.transcript.slice(0, 3)).toEqual(['EHLO hashyard.localdomain', 'STARTTLS', 'EHLO hashyard.localdomain'])
  })

  it('implicit TLS with AUTH LOGIN', async () => {
    const s = await server({
      users: { farm: 'pw' },
      requireAuth: true,
      implicitTls: { key: KEY, cert: CERT },
      authMethods: ['LOGIN'],
    })
    const r = await sendMail(
      { host: '127.0.0.1', port: s.port, security: 'tls', username: 'farm', password: 'pw', tls: { ca: CERT } },
      mail,
    )
    expect(r.ok).toBe(true)
    expect(s.messages[0]).toMatchObject({ authUser: 'farm', tls: true })
    expect(s.transcript).toContain('AUTH LOGIN')
  })

  it('a wrong password comes back as UNAUTHORIZED with the server reply, and never echoes the password', async () => {
    const s = await server({ users: { farm: 'right' }, requireAuth: true })
    const r = await sendMail(
      { host: '127.0.0.1', port: s.port, security: 'none', username: 'farm', password: 'wrong-pw-123' },
      mail,
    )
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'UNAUTHORIZED',
        details: { stage: 'auth', reply: '535 5.7.8 Authentication credentials invalid' },
      },
    })
    expect(JSON.stringify(r)).not.toContain('wrong-pw-123')
    expect(s.messages).toHaveLength(0)
  })

  it('refuses to downgrade: STARTTLS required but not offered', async () => {
    const s = await server({ users: { farm: 'pw' } })
    const r = await sendMail(
      { host: '127.0.0.1', port: s.port, security: 'starttls', username: 'farm', password: 'pw' },
      mail,
    )
    expect(r).toMatchObject({ ok: false, error: { code: 'NOT_SUPPORTED', details: { stage: 'starttls' } } })
    expect(s.transcript.some((l) => l.startsWith('AUTH'))).toBe(false)
  })

  it('refuses a certificate it cannot verify', async () => {
    const s = await server({ starttls: { key: KEY, cert: CERT } })
    const r = await sendMail({ host: '127.0.0.1', port: s.port, security: 'starttls' }, mail)
    expect(r).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', details: { stage: 'starttls' } } })
    expect(s.messages).toHaveLength(0)
  })

  it('reports a rejected recipient, an unreachable server, plaintext AUTH off loopback and bad addresses as values', async () => {
    const s = await server({ rejectRecipients: ['partner@example.com'] })
    const r = await sendMail({ host: '127.0.0.1', port: s.port, security: 'none' }, mail)
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', details: { stage: 'rcpt', reply: '550 5.1.1 No such user' } },
    })
    const port = s.port
    await s.close()
    servers.length = 0
    const gone = await sendMail({ host: '127.0.0.1', port, security: 'none' }, mail)
    expect(gone).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE', details: { stage: 'connect' } } })
    const clear = await sendMail(
      { host: 'mail.example.invalid', port: 25, security: 'none', username: 'farm', password: 'pw' },
      mail,
    )
    expect(clear).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', details: { stage: 'auth' } } })
    const bad = await sendMail(
      { host: '127.0.0.1', port, security: 'none' },
      { ...mail, to: ['x@y.z>\r\nRCPT TO:<evil@e.f'] },
    )
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_PARAMS' } })
  })

  it('the e-mail channel sends its test message', async () => {
    const s = await server({ users: { farm: 'pw' }, requireAuth: true, authMethods: ['PLAIN'] })
    const ch = createEmailChannel({
      id: 'mail',
      from: 'farm@example.com',
      to: ['owner@example.com'],
      smtp: { host: '127.0.0.1', port: s.port, security: 'none', username: 'farm', password: 'pw' },
      now: () => T,
    })
    if (!ch.ok) throw new Error(ch.error.message)
    expect(await ch.value.sendTest()).toEqual({ ok: true, value: undefined })
    const m = s.messages[0]!
    expect(m.data).toContain('Subject: [Hashyard] Hashyard test message\r\n')
    expect(m.data).toContain('From: Hashyard <farm@example.com>\r\n')
    expect(decodeQp(bodyOf(m.data))).toContain('This is a test from Hashyard')
  })
})
