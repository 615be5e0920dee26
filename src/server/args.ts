import { homedir } from 'node:os'
import { join } from 'node:path'

export interface ServeArgs {
  host: string
  port: number
  dataDir: string
  allowHosts: string[]
  help: boolean
  logLevel: 'debug' | 'info' | 'warn' | 'error'
}

export const HELP = `Usage: npm run serve -- [options]

Runs Hashyard headless: the core, the UI for a browser and the API, on one port.

Options:
  --host ADDRESS      Address to listen on (default 127.0.0.1). Anything other than a
                      loopback address requires the access token, generated on first run,
                      stored in the data folder (file access-token) and printed once.
  --port N            Port for the UI and API (default 8080; 0 picks a free port).
  --data-dir DIR      Where the database and token live
                      (default $XDG_DATA_HOME/hashyard or ~/.local/share/hashyard).
  --allow-host NAME   Also accept this Host name (e.g. a reverse proxy's). Repeatable.
  --log-level LEVEL   debug | info | warn | error (default info).
  --help              Show this help.

Stop with Ctrl+C (SIGINT) or SIGTERM: listeners close and the store is flushed.`

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_DATA_HOME && env.XDG_DATA_HOME.length > 0 ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share')
  return join(base, 'hashyard')
}

/** Parses argv; returns a message for the user instead of throwing on a bad option. */
export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs | { error: string } {
  const out: ServeArgs = {
    host: '127.0.0.1',
    port: 8080,
    dataDir: defaultDataDir(env),
    allowHosts: [],
    help: false,
    logLevel: 'info',
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? ''
    const [flag, inline] =
      a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const value = (): string | undefined => inline ?? argv[++i]
    switch (flag) {
      case '--help':
      case '-h':
        out.help = true
        break
      case '--host': {
        const v = value()
        if (!v) return { error: '--host needs an address, e.g. --host 127.0.0.1' }
        out.host = v
        break
      }
      case '--port': {
        const v = value()
        const n = Number(v)
        if (!v || !Number.isInteger(n) || n < 0 || n > 65535)
          return { error: `--port needs a number from 0 to 65535, got "${v ?? ''}"` }
        out.port = n
        break
      }
      case '--data-dir': {
        const v = value()
        if (!v) return { error: '--data-dir needs a folder' }
        out.dataDir = v
        break
      }
      case '--allow-host': {
        const v = value()
        if (!v) return { error: '--allow-host needs a host name' }
        out.allowHosts.push(v.toLowerCase())
        break
      }
      case '--log-level': {
        const v = value()
        if (v !== 'debug' && v !== 'info' && v !== 'warn' && v !== 'error')
          return { error: '--log-level is one of debug, info, warn, error' }
        out.logLevel = v
        break
      }
      default:
        return { error: `Unknown option "${a}". See --help.` }
    }
  }
  return out
}
