// `npm run serve -- [options]`: builds the app when the sources are newer than the last build,
// then runs the headless server (out/main/server.js) with the same options.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const built = [join(root, 'out/main/server.js'), join(root, 'out/renderer/index.html')]

function newestMtime(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p))
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

const wantsHelp = process.argv.includes('--help') || process.argv.includes('-h')
const stale =
  !built.every(existsSync) || newestMtime(join(root, 'src')) > Math.min(...built.map((f) => statSync(f).mtimeMs))
if (stale && !wantsHelp) {
  process.stdout.write('Building Hashyard (sources changed since the last build)…\n')
  const r = spawnSync(process.execPath, [join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
if (!existsSync(built[0])) {
  process.stderr.write('The build did not produce out/main/server.js; run `npm run build` and read its errors.\n')
  process.exit(1)
}
await import(join(root, 'out/main/server.js'))
