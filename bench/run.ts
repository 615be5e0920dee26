// npm run bench: every benchmark of the project, one after the other, with the machine named.
// Figures are for comparison on one machine (ratios), not absolute promises; the README quotes them.
import { cpus, totalmem } from 'node:os'
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
