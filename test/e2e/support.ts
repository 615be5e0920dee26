import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { tempDir } from '../support/temp-dir'

export const root = join(__dirname, '../..')
export const resultsDir = join(root, 'test-results')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Starts the BUILT headless server (npm test builds first) on a free loopback port. */
export async function startServer(
  extraArgs: string[] = [],
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const server = join(root, 'out/main/server.js')
  if (!existsSync(server)) throw new Error('out/main/server.js is missing: run `npm run build` first (npm test does).')
  const data = tempDir('hashyard-e2e-')
  const child = spawn(process.execPath, [server, '--port', '0', '--data-dir', data.dir, ...extraArgs], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /serving (http:\/\/\S+?)\/ /.exec(out)
      if (m?.[1]) resolve(m[1])
    })
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)))
  })
  return {
    url,
    child,
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
      data.cleanup()
    },
  }
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(resultsDir, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}
