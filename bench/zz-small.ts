import { runProxyBench } from './proxy'
console.table(await runProxyBench({ clients: 1000, manyClients: 5000, throughputS: 10, latencyS: 2, ratePerS: 300 }))
