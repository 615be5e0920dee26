/// <reference lib="dom" />
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { tempDir } from '../support/temp-dir'

export const root = join(__dirname, '../..')
export const resultsDir = join(root, 'test-results')
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/**
 * Starts the BUILT headless server (npm test builds first) on a free loopback port. `env` is added
 * to this process's environment (e.g. `HASHYARD_SIMULATE_SERIAL: '1'`).
 */
export async function startServer(
  extraArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const server = join(root, 'out/main/server.js')
  if (!existsSync(server)) throw new Error('out/main/server.js is missing: run `npm run build` first (npm test does).')
  const data = tempDir('hashyard-e2e-')
  const child = spawn(process.execPath, [server, '--port', '0', '--data-dir', data.dir, ...extraArgs], {
    cwd: root,
    env: { ...process.env, ...env },
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

/** Runs axe-core in the page and returns the serious and critical violations (WCAG 2.x A/AA). */
export async function seriousA11yViolations(page: import('playwright-core').Page): Promise<string[]> {
  const { readFileSync } = await import('node:fs')
  const source = readFileSync(join(root, 'node_modules/axe-core/axe.min.js'), 'utf8')
  await page.addScriptTag({ content: source })
  const result = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<unknown> } }).axe
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
  })) as { violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }> }
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    )
}

/**
 * Registers beforeAll/afterAll that start the built server and Chromium for a test file, and
 * returns live accessors (valid inside tests).
 */
export function withServerAndBrowser(opts: { before?: () => Promise<void>; after?: () => Promise<void> } = {}): {
  server(): Awaited<ReturnType<typeof startServer>>
  browser(): Browser
} {
  let server: Awaited<ReturnType<typeof startServer>> | undefined
  let browser: Browser | undefined
  beforeAll(async () => {
    await opts.before?.()
    server = await startServer()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await opts.after?.()
  })
  return {
    server: () => server ?? raise('server not started'),
    browser: () => browser ?? raise('browser not started'),
  }
}

function raise(msg: string): never {
  throw new Error(msg)
}
