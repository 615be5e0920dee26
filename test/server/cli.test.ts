import { type ChildProcess, spawn } from 'node:child_process'
import { request } from 'node:http'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { tempDir } from '../support/temp-dir'

const root = join(__dirname, '../..')
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
})

/** Runs the headless entry from source (tsx) and waits for its "serving" line. */
function serve(args: string[]): Promise<{ child: ChildProcess; out: string[]; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/server/main.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  const out: string[] = []
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      out.push(d.toString())
      const m = /serving (http:\/\/[^/\s]+)\//.exec(out.join(''))
      if (m?.[1]) resolve({ child, out, url: m[1] })
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (d: Buffer) => out.push(d.toString()))
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out.join('')}`)))
  })
}

function status(url: string, headers: Record<string, string> = {}): Promise<number> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const r = request(
      { host: '127.0.0.1', port: u.port, path: '/api/system.status', method: 'POST', headers },
      (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      },
    )
    r.on('error', reject)
    r.end('{}')
  })
}

describe('npm run serve (headless entry)', () => {
  it('on a non-loopback bind, generates a token, shows it once, and refuses requests without it', async () => {
    const t = tempDir()
    // Bound on all interfaces, but every request in this test goes to 127.0.0.1.
    const a = await serve(['--host', '0.0.0.0', '--port', '0', '--data-dir', t.dir])
    const text = a.out.join('')
    const token = /shown once[^\n]*\n\s+(\S+)/.exec(text)?.[1]
    expect(token).toBeDefined()
    expect(await status(a.url)).toBe(401)
    expect(await status(a.url, { Authorization: `Bearer ${token}` })).toBe(200)
    a.child.kill('SIGTERM')
    await new Promise((r) => a.child.once('exit', r))
    // Second run: the same token, not printed again.
    const b = await serve(['--host', '0.0.0.0', '--port', '0', '--data-dir', t.dir])
    expect(b.out.join('')).not.toContain(token)
    expect(await status(b.url, { Authorization: `Bearer ${token}` })).toBe(200)
    t.cleanup()
  })

  it('stops cleanly on SIGTERM and SIGINT', async () => {
    const t = tempDir()
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const a = await serve(['--port', '0', '--data-dir', t.dir])
      expect(await status(a.url)).toBe(200)
      a.child.kill(sig)
      const code = await new Promise((r) => a.child.once('exit', r))
      expect(code).toBe(0)
      expect(a.out.join('')).toContain(`stopping (${sig})`)
    }
    t.cleanup()
  })

  it('explains a bad option and a busy port instead of crashing', async () => {
    await expect(serve(['--port', 'eighty'])).rejects.toThrow(/exited 2: --port needs a number/)
    const t = tempDir()
    const a = await serve(['--port', '0', '--data-dir', t.dir])
    const port = new URL(a.url).port
    const t2 = tempDir()
    await expect(serve(['--port', port, '--data-dir', t2.dir])).rejects.toThrow(/already in use/)
    t.cleanup()
    t2.cleanup()
  })
})
