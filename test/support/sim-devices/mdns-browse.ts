/**
 * The browsing side of the mDNS discovery test: the real core with the devices module, driven
 * through the API (`mdns.start`, `mdns.status`, `devices.list`). Run it ONLY inside the test's
 * network namespace: it multicasts. Waits until `expected` services reached a final state (or
 * its own safety deadline), then prints `RESULT {status, devices, logs}` and exits.
 */

import { createDevicesModule } from '../../../src/core/devices/module'
import { startCore } from '../../../src/core/entry'
import { memoryLogger } from '../../../src/core/logger'
import { memoryTransportPair } from '../../../src/shared/protocol'
import { RpcClient } from '../../../src/shared/rpc-client'
import { tempDir } from '../temp-dir'

async function main() {
  const expected = Number(process.argv[2] ?? '1')
  const deadlineMs = Date.now() + Number(process.argv[3] ?? '20000')
  const t = tempDir('hashyard-mdns-')
  const logger = memoryLogger()
  const core = await startCore({
    dataDir: t.dir,
    host: 'test',
    logger,
    validateOutputs: true,
    modules: [
      createDevicesModule({
        poll: { enabled: false },
        mdns: { requeryMs: 300, identifyTimeoutMs: 2000 },
        deviceTimeoutMs: 2000,
      }),
    ],
  })
  const [server, clientSide] = memoryTransportPair()
  core.rpc.attach(server, { transport: 'memory' })
  const client = new RpcClient(clientSide)
  const started = await client.call('mdns.start', {})
  let status = started
  const final = (s: typeof status) => s.hits.filter((h) => h.state === 'identified' || h.state === 'unidentified')
  while (final(status).length < expected && Date.now() < deadlineMs) {
    await new Promise((r) => setTimeout(r, 100))
    status = await client.call('mdns.status', {})
  }
  const devices = (await client.call('devices.list', {})).devices
  const stopped = await client.call('mdns.stop', {})
  client.close()
  await core.close('test end')
  t.cleanup()
  process.stdout.write(
    `RESULT ${JSON.stringify({ startedRunning: started.running, status, stopped: stopped.running, devices, logs: logger.records })}\n`,
  )
  process.exit(0)
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`)
  process.exit(1)
})
