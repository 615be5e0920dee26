import net from 'node:net'
import tls from 'node:tls'

/**
 * A small SMTP server for tests, on 127.0.0.1 port 0. It speaks enough of RFC 5321 / 3207 / 4954
 * to receive mail the way a real submission server does: EHLO/HELO, STARTTLS (when given a key
 * and certificate), AUTH PLAIN (with or without an initial response) and AUTH LOGIN checked
 * against `users`, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP, QUIT. It records
 * every transcript line it receives so tests can check what crossed the wire.
 */
export interface SmtpReceiverOptions {
  users?: Record<string, string>
  /** Refuse MAIL until authenticated (530), as submission servers do. */
  requireAuth?: boolean
  /** AUTH methods to advertise. Default PLAIN and LOGIN. */
  authMethods?: Array<'PLAIN' | 'LOGIN'>
  /** Offer STARTTLS with this key and certificate. */
  starttls?: { key: string | Buffer; cert: string | Buffer }
  /** Serve TLS from the first byte (port 465 style). */
  implicitTls?: { key: string | Buffer; cert: string | Buffer }
  /** Recipients answered with `550 5.1.1 No such user`. */
  rejectRecipients?: string[]
}

export interface ReceivedMail {
  mailFrom: string
  rcptTo: string[]
  /** The message after dot-unstuffing, CRLF line ends, without the terminating `.`. */
  data: string
  authUser: string | null
  tls: boolean
}

export interface SmtpReceiver {
  port: number
  messages: ReceivedMail[]
  /** Every command line received (AUTH payloads included, so tests can check what was sent). */
  transcript: string[]
  close(): Promise<void>
}

export async function startSmtpReceiver(opts: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = []
  const transcript: string[] = []
  const sockets = new Set<net.Socket>()
  const methods = opts.authMethods ?? ['PLAIN', 'LOGIN']

  const serve = (initial: net.Socket, startsEncrypted: boolean) => {
    let socket: net.Socket = initial
    let buf = ''
    let isTls = startsEncrypted
    let authUser: string | null = null
    let mailFrom: string | null = null
    let rcptTo: string[] = []
    let inData = false
    let dataLines: string[] = []
    let authStep: null | { method: 'PLAIN' } | { method: 'LOGIN'; user?: string } = null
    const send = (line: string) => socket.write(`${line}\r\n`)
    const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8')
    const checkLogin = (user: string, pass: string) => {
      if (opts.users && opts.users[user] === pass) {
        authUser = user
        send('235 2.7.0 Authentication successful')
      } else send('535 5.7.8 Authentication credentials invalid')
    }
    const plain = (payload: string) => {
      const parts = b64(payload).split('\u0000')
      checkLogin(parts[1] ?? '', parts[2] ?? '')
    }

    const onLine = (line: string) => {
      if (inData) {
        if (line === '.') {
          inData = false
          messages.push({ mailFrom: mailFrom ?? '', rcptTo, data: dataLines.join('\r\n'), authUser, tls: isTls })
          mailFrom = null
          rcptTo = []
          dataLines = []
          send('250 2.0.0 Ok: queued as TEST1')
          return
        }
        dataLines.push(line.startsWith('.') ? line.slice(1) : line)
        return
      }
      transcript.push(line)
      if (authStep) {
        if (line === '*') {
          authStep = null
          send('501 5.7.0 Authentication cancelled')
        } else if (authStep.method === 'PLAIN') {
          authStep = null
          plain(line)
        } else if (authStep.user === undefined) {
          authStep.user = b64(line)
          send(`334 ${Buffer.from('Password:').toString('base64')}`)
        } else {
          const user = authStep.user
          authStep = null
          checkLogin(user, b64(line))
        }
        return
      }
      const [verb = '', ...rest] = line.split(' ')
      const arg = rest.join(' ')
      switch (verb.toUpperCase()) {
        case 'EHLO': {
          const ext = ['250-receiver.test greets you', '250-PIPELINING', '250-SIZE 10240000', '250-8BITMIME']
          if (opts.starttls && !isTls) ext.push('250-STARTTLS')
          if (methods.length) ext.push(`250-AUTH ${methods.join(' ')}`)
          ext.push('250 SMTPUTF8')
          for (const l of ext) send(l)
          return
        }
        case 'HELO':
          return send('250 receiver.test')
        case 'STARTTLS': {
          if (!opts.starttls || isTls) return send('502 5.5.1 STARTTLS not available')
          send('220 2.0.0 Ready to start TLS')
          socket.removeAllListeners('data')
          const secure = new tls.TLSSocket(socket, { isServer: true, key: opts.starttls.key, cert: opts.starttls.cert })
          sockets.add(secure)
          secure.on('error', () => secure.destroy())
          socket = secure
          isTls = true
          authUser = null
          mailFrom = null
          rcptTo = []
          buf = ''
          secure.on('data', onData)
          return
        }
        case 'AUTH': {
          const [method = '', initial] = arg.split(' ')
          const m = method.toUpperCase()
          if (!methods.includes(m as 'PLAIN' | 'LOGIN')) return send('504 5.5.4 Unrecognized authentication type')
          if (m === 'PLAIN') {
            if (initial) return plain(initial)
            authStep = { method: 'PLAIN' }
            return send('334 ')
          }
          authStep = { method: 'LOGIN' }
          return send(`334 ${Buffer.from('Username:').toString('base64')}`)
        }
        case 'MAIL': {
          if (opts.requireAuth && !authUser) return send('530 5.7.0 Authentication required')
          const m = /^FROM:<([^>]*)>/i.exec(arg)
          if (!m) return send('501 5.5.4 Syntax: MAIL FROM:<address>')
          mailFrom = m[1] ?? ''
          rcptTo = []
          return send('250 2.1.0 Ok')
        }
        case 'RCPT': {
          if (mailFrom === null) return send('503 5.5.1 Need MAIL first')
          const m = /^TO:<([^>]+)>/i.exec(arg)
          if (!m) return send('501 5.5.4 Syntax: RCPT TO:<address>')
          if (opts.rejectRecipients?.includes(m[1]!)) return send('550 5.1.1 No such user')
          rcptTo.push(m[1]!)
          return send('250 2.1.5 Ok')
        }
        case 'DATA':
          if (rcptTo.length === 0) return send('503 5.5.1 Need RCPT first')
          inData = true
          return send('354 End data with <CR><LF>.<CR><LF>')
        case 'RSET':
          mailFrom = null
          rcptTo = []
          return send('250 2.0.0 Ok')
        case 'NOOP':
          return send('250 2.0.0 Ok')
        case 'QUIT':
          send('221 2.0.0 Bye')
          socket.end()
          return
        default:
          return send('502 5.5.2 Command not recognized')
      }
    }
    function onData(chunk: Buffer) {
      buf += chunk.toString('utf8')
      for (;;) {
        const i = buf.indexOf('\r\n')
        if (i < 0) return
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        onLine(line)
      }
    }
    socket.on('data', onData)
    socket.on('error', () => socket.destroy())
    send('220 receiver.test ESMTP test receiver')
  }

  const server = opts.implicitTls
    ? tls.createServer({ key: opts.implicitTls.key, cert: opts.implicitTls.cert }, (s) => {
        sockets.add(s)
        serve(s, true)
      })
    : net.createServer((s) => {
        sockets.add(s)
        serve(s, false)
      })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('SMTP receiver has no port')
  return {
    port: address.port,
    messages,
    transcript,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
