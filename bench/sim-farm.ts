/**
 * Child process for bench/scan.ts: starts simulated devices on loopback so their work does not
 * count against the event loop being measured. Receives a plan over IPC, answers with the ports.
 * Devices: AxeOS (HTTP) and LUXminer (cgminer RPC) replaying the captures in test/fixtures/devices.
 */
import { startAxeosSim } from '../test/support/sim-devices/axeos-sim'
import { startCgminerSim } from '../test/support/sim-devices/cgminer-sim'
import { fixtureText } from '../test/support/sim-devices/fixtures'

interface Plan {
  devices: { host: string; kind: 'axeos' | 'lux'; port: number }[]
}

const info = fixtureText('bitaxe/axeos_system_info_v2.12.2_gamma601.json')
const asic = fixtureText('bitaxe/axeos_system_asic_gamma.json')
const lux = {
  version: fixtureText('luxos/rpc_version_s19kpro_2025.4.8.json'),
  summary: fixtureText('luxos/rpc_summary_s19kpro_2025.4.8.json'),
  stats: fixtureText('luxos/rpc_stats_s19kpro_2025.4.8.json'),
}
const pools = fixtureText('luxos/rpc_pools_s19kpro_2025.4.8.json')

process.on('message', async (plan: Plan) => {
  const ports: number[] = []
  let i = 0
  for (const d of plan.devices) {
    i++
    // A distinct MAC per simulated Bitaxe, so the device table keeps them apart.
    const mac =
      `10:F5:12:${((i >> 16) & 255).toString(16).padStart(2, '0')}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`.toUpperCase()
    if (d.kind === 'axeos') {
      const s = await startAxeosSim({ info, asic, listen: { host: d.host, port: d.port }, patchInfo: { macAddr: mac } })
      ports.push(s.port)
    } else {
      const s = await startCgminerSim({ replies: lux, poolsFixture: pools, listen: { host: d.host, port: d.port } })
      ports.push(s.port)
    }
  }
  process.send?.({ ready: true, ports })
})
