// npm run bench: every benchmark of the project, one after the other, with the machine named.
// Figures are for comparison on one machine (ratios), not absolute promises; the README quotes them.
import { cpus, loadavg, totalmem } from 'node:os'
import { runHealthBench } from './health'
import { runPoolBench } from './pool'
import { runProxyBench } from './proxy'
import { runStoreBench } from './store'

const only = process.argv.slice(2)
const want = (name: string): boolean => only.length === 0 || only.includes(name)

console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
)

if (want('store')) {
  console.log('\n== store: 200k rows in 1,000-row transactions, then a 100k-row range aggregate ==')
  console.table(runStoreBench())
}

if (want('pool')) {
  console.log(
    '\n== pool: stratum load (4 submits in flight per client, then 1 share/s per client), idle memory, job broadcast ==',
  )
  console.log(
    `load average before: ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} (the machine may be shared)`,
  )
  console.table(await runPoolBench())
}

if (want('proxy')) {
  console.log('\n== proxy: 1,000 miners through the proxy into a local StratumServer, then 5,000 connected ==')
  console.table(await runProxyBench())
}

if (want('health')) {
  console.log(
    '\n== health: 500 devices polled every 15 s + 100 shares/s for 24 simulated hours (time-compressed), then a 30-day chart ==',
  )
  console.table(runHealthBench())
}
