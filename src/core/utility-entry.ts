import { runUtilityHost } from './host/utility-host'
import type { ParentPortLike } from './host/utility-protocol'
import { createLogger, stderrSink } from './logger'

/**
 * Entry of the core inside Electron's utility process. `process.parentPort` exists only there;
 * started any other way it explains itself and exits.
 */
const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort
if (!parentPort) {
  process.stderr.write('out/main/core.js runs inside the desktop app. For headless use: npm run serve\n')
  process.exit(2)
}
void runUtilityHost(parentPort, createLogger(stderrSink, 'core'))
