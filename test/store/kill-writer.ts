// Child process for store-kill.test.ts: writes settings (acknowledged one by one on stdout) and
// telemetry (batched once per interval, acknowledged after each flush) until it is SIGKILLed.
import { memoryLogger } from '../../src/core/logger'
import { BatchWriter } from '../../src/core/store/batch-writer'
import { SettingsRepo } from '../../src/core/store/settings-repo'
import { openStore } from '../../src/core/store/store'

const dir = process.argv[2] ?? ''
const store = openStore(dir, memoryLogger())
const settings = new SettingsRepo(store.db)
const insert = store.db.prepare(
  'INSERT OR REPLACE INTO system_samples (ts_ms, uptime_s, rss_bytes, heap_used_bytes, event_loop_delay_p99_ms, connections) VALUES (?, 0, 0, 0, 0, 0)',
)
let lastPushed = 0
const writer = new BatchWriter<number>({
  intervalMs: 100,
  write: (rows) => {
    store.db.transaction(() => {
      for (const ts of rows) insert.run(ts)
    })()
    process.stdout.write(`flushed ${rows.at(-1)}\n`)
  },
})
let n = 250
setInterval(() => {
  for (let i = 0; i < 20; i++) writer.push(++lastPushed)
  settings.set('telemetry.sampleIntervalMs', ++n)
  process.stdout.write(`ack ${n}\n`)
}, 2)
process.stdout.write('ready\n')
