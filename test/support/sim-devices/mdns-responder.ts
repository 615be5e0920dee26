/**
 * An mDNS responder for the discovery test. Run it ONLY inside a network namespace whose only
 * interface is loopback (src/core/discovery/mdns.test.ts creates one): it multicasts.
 *
 * It starts two simulated AxeOS devices (the v2.12.2 capture) on 127.0.0.2 and 127.0.0.3 and
 * publishes, with bonjour-service, what AxeOS ≥ 2.15 advertises (research §2.3: `_http._tcp` with
 * the `_axeos` subtype, TXT `board`/`family`/`asic`/`asic_count`/`fw_version`) — once with an
 * ordinary name and once with a hostile one (markup, terminal escapes, CR/LF, ~10 KB of TXT) —
 * plus a printer that must be ignored and an `antminer…` host name that answers nothing.
 * Each device's announcements leave from its own address (multicast interface 127.0.0.x), as
 * they would from separate machines. Prints `READY {json}` once everything is published.
 */
import Bonjour from 'bonjour-service'
import { startAxeosSim } from './axeos-sim'
import { fixtureText } from './fixtures'
import { HOSTILE_HOST, HOSTILE_INSTANCE, PLAIN_INSTANCE } from './mdns-names'

async function main() {
  const info = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')
  const asic = fixtureText('bitaxe/axeos_system_asic_gamma.json')
  const plain = await startAxeosSim({ info, asic, listen: { host: '127.0.0.2', port: 0 } })
  const hostile = await startAxeosSim({
    info,
    asic,
    listen: { host: '127.0.0.3', port: 0 },
    patchInfo: { hostname: `<b>${'\u0007'.repeat(3)}bitaxe</b>`, macAddr: '10:F5:12:33:BB:F1' },
  })
  // multicast-dns options; bonjour-service types its constructor argument as a ServiceConfig.
  const on = (address: string) =>
    new Bonjour({ interface: address, bind: '0.0.0.0' } as unknown as ConstructorParameters<typeof Bonjour>[0])
  const a = on('127.0.0.2')
  const b = on('127.0.0.3')
  const txt = { board: '601', family: 'Gamma', asic: 'BM1370', asic_count: '1', fw_version: 'v2.15.0' }
  const flood: Record<string, string> = {}
  for (let i = 0; i < 40; i++) flood[`k${i}`] = `\u001b]0;x\u0007${'X'.repeat(240)}`
  const services = [
    a.publish({
      name: PLAIN_INSTANCE,
      type: 'http',
      port: plain.port,
      host: 'bitaxe.local',
      subtypes: ['axeos'],
      txt,
      probe: false,
      disableIPv6: true,
    }),
    a.publish({ name: 'Office Printer', type: 'http', port: 631, host: 'printer.local', probe: false }),
    a.publish({ name: 'Garage', type: 'http', port: 9, host: 'antminer-s19.local', probe: false }),
    b.publish({
      name: HOSTILE_INSTANCE,
      type: 'http',
      port: hostile.port,
      host: HOSTILE_HOST,
      subtypes: ['axeos'],
      txt: { ...txt, ...flood },
      probe: false,
      disableIPv6: true,
    }),
  ]
  await Promise.all(services.map((s) => (s.published ? Promise.resolve() : new Promise((r) => s.once('up', r)))))
  process.stdout.write(`READY ${JSON.stringify({ plain: plain.port, hostile: hostile.port })}\n`)
  const shutdown = () => {
    a.destroy()
    b.destroy()
    void Promise.all([plain.close(), hostile.close()]).then(() => process.exit(0))
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`)
  process.exit(1)
})
