/**
 * The core's logging port. Modules receive a Logger; they never call console directly, so the
 * headless server, the Electron utility process and tests can each decide where lines go.
 * Never pass secrets (pool or Wi-Fi passwords, tokens) in `fields`.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(scope: string): Logger
}

export interface LogRecord {
  tsMs: number
  level: LogLevel
  scope: string
  msg: string
  fields?: Record<string, unknown>
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** A logger that hands records to a sink (stderr, a ring buffer for the UI, a test array). */
export function createLogger(sink: (r: LogRecord) => void, scope = 'core', minLevel: LogLevel = 'info'): Logger {
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minLevel]) return
    sink(
      fields === undefined ? { tsMs: Date.now(), level, scope, msg } : { tsMs: Date.now(), level, scope, msg, fields },
    )
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (s) => createLogger(sink, `${scope}.${s}`, minLevel),
  }
}

/** For tests: collects records so a test can assert that a limit was logged with a clear line. */
export function memoryLogger(minLevel: LogLevel = 'debug'): Logger & { records: LogRecord[] } {
  const records: LogRecord[] = []
  return Object.assign(
    createLogger((r) => records.push(r), 'test', minLevel),
    { records },
  )
}

export function stderrSink(r: LogRecord): void {
  const f = r.fields ? ` ${JSON.stringify(r.fields)}` : ''
  process.stderr.write(`${new Date(r.tsMs).toISOString()} ${r.level.padEnd(5)} [${r.scope}] ${r.msg}${f}\n`)
}
