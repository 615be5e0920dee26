import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startCore } from '../core/entry'
import { createLogger, stderrSink } from '../core/logger'
import { isLoopbackAddress, loadOrCreateToken } from './access'
import { HELP, parseServeArgs } from './args'
import { startHttpServer } from './http-server'

/** The headless entry: `node out/main/server.js [options]` (npm run serve builds first). */
async function main(): Promise<number> {
  const args = parseServeArgs(process.argv.slice(2))
  if ('error' in args) {
    process.stderr.write(`${args.error}\n`)
    return 2
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`)
    return 0
  }
  const logger = createLogger(stderrSink, 'hashyard', args.logLevel)
  const here = dirname(fileURLToPath(import.meta.url))
  const rendererDir =
    [join(here, '../renderer'), resolve('out/renderer')].find((d) => existsSync(join(d, 'index.html'))) ??
    join(here, '../renderer')

  const dataDir = resolve(args.dataDir)
  const core = await startCore({ dataDir, host: 'headless', logger })
  let token: string | undefined
  if (!isLoopbackAddress(args.host)) {
    const t = loadOrCreateToken(dataDir)
    token = t.token
    if (t.created) {
      process.stdout.write(`Access token (shown once; also stored in ${t.file}):\n  ${t.token}\n`)
    } else {
      process.stdout.write(`Access token required for this address; it is stored in ${t.file}\n`)
    }
  }
  let http: Awaited<ReturnType<typeof startHttpServer>>
  try {
    http = await startHttpServer({
      rpc: core.rpc,
      logger: logger.child('http'),
      host: args.host,
      port: args.port,
      rendererDir,
      allowedHosts: args.allowHosts,
      ...(token !== undefined ? { token } : {}),
    })
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why =
      code === 'EADDRINUSE'
        ? `port ${args.port} on ${args.host} is already in use (another Hashyard?). Pick another with --port.`
        : code === 'EADDRNOTAVAIL'
          ? `${args.host} is not an address of this machine.`
          : code === 'EACCES'
            ? `not allowed to listen on port ${args.port}; ports below 1024 need privileges.`
            : String(e)
    process.stderr.write(`Hashyard could not start its server: ${why}\n`)
    await core.close('start failed')
    return 1
  }
  core.addPort({ name: 'ui+api', protocol: 'http', host: args.host, port: http.port })
  process.stdout.write(`Hashyard is serving ${http.url}/  (data: ${dataDir})\n`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`Hashyard stopping (${signal})…\n`)
    void http
      .close()
      .then(() => core.close(signal))
      .then(() => process.exit(0))
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  return -1
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (e: unknown) => {
    process.stderr.write(`Hashyard failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
    process.exit(1)
  },
)
