// Micro-benchmark of the share hash path (computeShare) on a real mainnet block's job.
// Run: npx tsx bench/share-hash.ts
import { buildJobFromParts } from '../src/core/pool/job'
import { computeShare } from '../src/core/pool/share'
import { readBlockHex } from '../src/core/pool/testing/fixtures'
import { templateFromBlock } from '../src/core/pool/testing/template-from-block'

const r = templateFromBlock(readBlockHex('mainnet-482683'))
const job = buildJobFromParts(r.template, r.parts, { jobId: '1' })
const en1 = Buffer.alloc(4, 1)
const en2 = Buffer.alloc(4)
const N = 100_000
for (let round = 0; round < 3; round++) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < N; i++) {
    en2.writeUInt32LE(i)
    computeShare(job, en1, en2, job.ntime, i, job.version)
  }
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / N
  console.log(`computeShare: ${us.toFixed(2)} µs/share (merkle branch ${job.merkleBranch.length} steps)`)
}
