import { randomUUID } from 'node:crypto'
import net, { isIP } from 'node:net'
import tls from 'node:tls'
import { type AppError, appError, type ErrorCode, err, ok, type Result } from '../../../../shared/errors'
import { sanitizeForLog } from '../../../devices/untrusted-text'
import { buildMessage, dotStuff, isMailAddress, type MailMessage } from './message'
import { ehloExtensions, replyText, type SmtpReply, SmtpReplyParser } from './reply-parser'

export type SmtpSecurity = 'tls' | 'starttls' | 'none'

export interface SmtpOptions {
  host: string
  port: number
  /**
   * `tls`: TLS from the first byte (port 465). `starttls`: plain, then STARTTLS, which is then
   * required — a server that does not offer it is an error, never a silent downgrade.
   * `none`: no encryption (a relay on the same machine).
   */
  security: SmtpSecurity
  username?: string
  /** A secret: sent only inside AUTH, never logged or put in an error. */
  password?: string
  /** Name sent in EHLO. Default `hashyard.localdomain`. */
  heloName?: string
  /** Extra trust for a self-signed server (its CA), or `rejectUnauthorized: false` at the owner's risk. */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean; servername?: string }
  /** Budget for each step (connect, each reply). Default 15 s. */
  timeoutMs?: number
  /** Allows AUTH over an unencrypted connection to a host that is not loopback. Default false. */
  allowPlaintextAuth?: boolean
}

export type SmtpStage = 'connect' | 'greeting' | 'ehlo' | 'starttls' | 'auth' | 'mail' | 'rcpt' | 'data' | 'quit'

export interface SmtpErrorDetails {
  stage: SmtpStage
  /** The server's reply, e.g. `535 5.7.8 Authentication credentials invalid`. */
  reply?: string
}

export interface SmtpSent {
  messageId: string
  /** The server's reply to the end of DATA (often holds its queue id). */
  reply: string
}

const isLoopback = (host: string) =>
  host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || host === '::1' || host === '[::1]'

/**
 * One SMTP conversation: connect, EHLO, optional STARTTLS, AUTH PLAIN or LOGIN, MAIL FROM,
 * RCPT TO, DATA (dot-stuffed), QUIT (RFC 5321, 3207, 4954). Strictly one command at a time.
 */
class Conversation {
  readonly #parser = new SmtpReplyParser()
  readonly #replies: SmtpReply[] = []
  #waiter: ((r: Result<SmtpReply, string>) => void) | undefined
  #failure: string | undefined
  #socket: net.Socket

  constructor(
    socket: net.Socket,
    readonly timeoutMs: number,
  ) {
    this.#socket = socket
    this.#attach(socket)
  }

  #attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      const r = this.#parser.feed(chunk)
      this.#replies.push(...r.replies)
      if (r.error) this.#fail(r.error.message)
      this.#pump()
    })
    socket.on('error', (e) => this.#fail(e.message))
    socket.on('close', () => this.#fail('connection closed by the server'))
  }

  #fail(why: string): void {
    this.#failure ??= why
    this.#pump()
  }

  #pump(): void {
    if (!this.#waiter) return
    const w = this.#waiter
    const next = this.#replies.shift()
    if (next) {
      this.#waiter = undefined
      w(ok(next))
    } else if (this.#failure !== undefined) {
      this.#waiter = undefined
      w(err(this.#failure))
    }
  }

  read(): Promise<Result<SmtpReply, string>> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined
        resolve(err('no reply from the server in time'))
      }, this.timeoutMs)
      this.#waiter = (r) => {
        clearTimeout(timer)
        resolve(r)
      }
      this.#pump()
    })
  }

  write(text: string): void {
    this.#socket.write(text)
  }

  async command(line: string): Promise<Result<SmtpReply, string>> {
    this.write(`${line}\r\n`)
    return this.read()
  }

  /** Replaces the plain socket with TLS over it (after `220 ready to start TLS`). */
  upgrade(opts: tls.ConnectionOptions): Promise<Result<void, string>> {
    const plain = this.#socket
    plain.removeAllListeners('data')
    plain.removeAllListeners('close')
    plain.removeAllListeners('error')
    return new Promise((resolve) => {
      const secure = tls.connect({ ...opts, socket: plain })
      const timer = setTimeout(() => {
        secure.destroy()
        resolve(err('TLS handshake timed out'))
      }, this.timeoutMs)
      secure.once('secureConnect', () => {
        clearTimeout(timer)
        secure.removeAllListeners('error')
        this.#socket = secure
        this.#attach(secure)
        resolve(ok(undefined))
      })
      secure.once('error', (e) => {
        clearTimeout(timer)
        resolve(err(`TLS failed: ${e.message}`))
      })
    })
  }

  close(): void {
    this.#socket.destroy()
  }
}

function connect(opts: SmtpOptions, timeoutMs: number): Promise<Result<net.Socket, string>> {
  return new Promise((resolve) => {
    const host = opts.host.replace(/^\[|\]$/g, '')
    const socket =
      opts.security === 'tls'
        ? tls.connect({
            host,
            port: opts.port,
            servername: opts.tls?.servername ?? (isIP(host) ? undefined : host),
            ca: opts.tls?.ca,
            rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true,
          })
        : net.connect({ host, port: opts.port })
    const timer = setTimeout(() => {
      socket.destroy()
      resolve(err('connection timed out'))
    }, timeoutMs)
    socket.once(opts.security === 'tls' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer)
      socket.removeAllListeners('error')
      resolve(ok(socket))
    })
    socket.once('error', (e) => {
      clearTimeout(timer)
      resolve(err(e.message))
    })
  })
}

/** Sends one message. Every failure is a value naming the stage and the server's reply. */
export async function sendMail(opts: SmtpOptions, mail: MailMessage): Promise<Result<SmtpSent, AppError>> {
  const fail = (code: ErrorCode, stage: SmtpStage, message: string, reply?: SmtpReply) => {
    const details: SmtpErrorDetails = reply ? { stage, reply: sanitizeForLog(replyText(reply), 300) } : { stage }
    return err(appError(code, `SMTP ${stage}: ${sanitizeForLog(message, 300)}`, details))
  }
  if (!isMailAddress(mail.from)) return fail('INVALID_PARAMS', 'mail', 'the From address is not a plain name@domain')
  if (mail.to.length === 0 || !mail.to.every(isMailAddress)) {
    return fail('INVALID_PARAMS', 'rcpt', 'every recipient must be a plain name@domain')
  }
  if (opts.username !== undefined && opts.password === undefined)
    return fail('INVALID_PARAMS', 'auth', 'a username needs a password')
  if (opts.username !== undefined && opts.security === 'none' && !isLoopback(opts.host) && !opts.allowPlaintextAuth) {
    // Checked before connecting, so the password never travels in the clear by mistake.
    return fail(
      'FORBIDDEN',
      'auth',
      'refusing to send the password over an unencrypted connection: use TLS or STARTTLS',
    )
  }
  const timeoutMs = opts.timeoutMs ?? 15_000
  const sock = await connect(opts, timeoutMs)
  if (!sock.ok) return fail('UNAVAILABLE', 'connect', `cannot connect to ${opts.host}:${opts.port}: ${sock.error}`)
  const c = new Conversation(sock.value, timeoutMs)
  try {
    const expect = async (
      stage: SmtpStage,
      line: string | null,
      codes: number[],
      failCode: ErrorCode = 'UNAVAILABLE',
    ): Promise<Result<SmtpReply, AppError>> => {
      const r = line === null ? await c.read() : await c.command(line)
      if (!r.ok) return fail(r.error.includes('in time') ? 'TIMEOUT' : 'UNAVAILABLE', stage, r.error)
      if (!codes.includes(r.value.code)) return fail(failCode, stage, `server answered ${replyText(r.value)}`, r.value)
      return r
    }
    const greeting = await expect('greeting', null, [220])
    if (!greeting.ok) return greeting
    const helo = opts.heloName ?? 'hashyard.localdomain'
    let ehlo = await expect('ehlo', `EHLO ${helo}`, [250])
    if (!ehlo.ok) return ehlo
    let ext = ehloExtensions(ehlo.value)

    if (opts.security === 'starttls') {
      if (!ext.has('STARTTLS')) return fail('NOT_SUPPORTED', 'starttls', 'the server does not offer STARTTLS')
      const go = await expect('starttls', 'STARTTLS', [220])
      if (!go.ok) return go
      const host = opts.host.replace(/^\[|\]$/g, '')
      const up = await c.upgrade({
        servername: opts.tls?.servername ?? (isIP(host) ? undefined : host),
        ca: opts.tls?.ca,
        rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true,
      })
      if (!up.ok) return fail('UNAVAILABLE', 'starttls', up.error)
      // RFC 3207 §4.2: forget everything learnt before TLS and ask again.
      ehlo = await expect('ehlo', `EHLO ${helo}`, [250])
      if (!ehlo.ok) return ehlo
      ext = ehloExtensions(ehlo.value)
    }

    if (opts.username !== undefined && opts.password !== undefined) {
      const methods = ext.get('AUTH') ?? []
      const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64')
      if (methods.includes('PLAIN')) {
        const a = await expect(
          'auth',
          `AUTH PLAIN ${b64(`\u0000${opts.username}\u0000${opts.password}`)}`,
          [235],
          'UNAUTHORIZED',
        )
        if (!a.ok) return a
      } else if (methods.includes('LOGIN')) {
        const a1 = await expect('auth', 'AUTH LOGIN', [334], 'UNAUTHORIZED')
        if (!a1.ok) return a1
        const a2 = await expect('auth', b64(opts.username), [334], 'UNAUTHORIZED')
        if (!a2.ok) return a2
        const a3 = await expect('auth', b64(opts.password), [235], 'UNAUTHORIZED')
        if (!a3.ok) return a3
      } else {
        return fail(
          'NOT_SUPPORTED',
          'auth',
          `the server offers no AUTH method Hashyard speaks (PLAIN, LOGIN); it offers: ${methods.join(' ') || 'none'}`,
        )
      }
    }

    const mf = await expect('mail', `MAIL FROM:<${mail.from}>`, [250], 'BAD_REQUEST')
    if (!mf.ok) return mf
    for (const to of mail.to) {
      const rt = await expect('rcpt', `RCPT TO:<${to}>`, [250, 251], 'BAD_REQUEST')
      if (!rt.ok) return rt
    }
    const dt = await expect('data', 'DATA', [354])
    if (!dt.ok) return dt
    const messageId = mail.messageId ?? `<${randomUUID()}@hashyard>`
    c.write(dotStuff(buildMessage({ ...mail, messageId })))
    const done = await expect('data', null, [250], 'BAD_REQUEST')
    if (!done.ok) return done
    // The message is accepted; a failed QUIT does not change that.
    await c.command('QUIT')
    return ok({ messageId, reply: sanitizeForLog(replyText(done.value), 300) })
  } finally {
    c.close()
  }
}
