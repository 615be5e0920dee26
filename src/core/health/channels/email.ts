import { type AppError, appError, err, ok, type Result } from '../../../shared/errors'
import type { Clock } from '../clock'
import { isMailAddress } from './smtp/message'
import { type SmtpOptions, sendMail } from './smtp/smtp-client'
import { type AlertChannel, type ChannelMessage, testMessage } from './types'

export interface EmailOptions {
  id: string
  smtp: SmtpOptions
  from: string
  to: string[]
  now: Clock
}

/** E-mail through the owner's SMTP server; the subject is the alert title, the body plain text. */
export function createEmailChannel(opts: EmailOptions): Result<AlertChannel, AppError> {
  if (!isMailAddress(opts.from))
    return err(appError('INVALID_PARAMS', 'e-mail: the From address is not a plain name@domain'))
  if (opts.to.length === 0 || opts.to.length > 20 || !opts.to.every(isMailAddress)) {
    return err(appError('INVALID_PARAMS', 'e-mail: 1 to 20 recipients, each a plain name@domain'))
  }
  if (!opts.smtp.host || !Number.isInteger(opts.smtp.port) || opts.smtp.port < 1 || opts.smtp.port > 65535) {
    return err(appError('INVALID_PARAMS', 'e-mail: SMTP host and a port 1-65535 are needed'))
  }
  const send = async (msg: ChannelMessage): Promise<Result<void, AppError>> => {
    const r = await sendMail(opts.smtp, {
      from: opts.from,
      fromName: 'Hashyard',
      to: opts.to,
      subject: `[Hashyard] ${msg.title}`,
      text: `${msg.text}\n\n-- \nSent by Hashyard at ${new Date(msg.tsMs).toISOString()}.\n`,
      dateMs: opts.now(),
    })
    return r.ok ? ok(undefined) : r
  }
  return ok({ id: opts.id, kind: 'email', send, sendTest: () => send(testMessage(opts.now())) })
}
