import type { Migration } from '../store/migrations'

/** The pool's tables (versions 300–399 belong to the pool). */
export const POOL_MIGRATIONS: Migration[] = [
  {
    version: 300,
    name: 'pool',
    up: `
      CREATE TABLE pool_config (
        id INTEGER PRIMARY KEY CHECK (id = 1), value_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE pool_blocks (
        id INTEGER PRIMARY KEY, found_at_ms INTEGER NOT NULL, height INTEGER NOT NULL, hash TEXT NOT NULL UNIQUE,
        worker TEXT NOT NULL, remote_address TEXT NOT NULL, user_agent TEXT NOT NULL, stale_share INTEGER NOT NULL,
        coinbase_value_sats INTEGER NOT NULL, block_hex TEXT NOT NULL,
        submit_status TEXT NOT NULL, submit_reason TEXT, submit_message TEXT,
        submit_attempts INTEGER NOT NULL DEFAULT 0, submitted_at_ms INTEGER,
        confirmation TEXT NOT NULL DEFAULT 'pending', confirmations INTEGER, checked_at_ms INTEGER
      );
      CREATE TABLE pool_workers (
        worker TEXT PRIMARY KEY, first_seen_ms INTEGER NOT NULL, last_share_ms INTEGER,
        accepted INTEGER NOT NULL, rejected INTEGER NOT NULL, stale INTEGER NOT NULL,
        diff_accepted REAL NOT NULL, diff_rejected REAL NOT NULL, best_share REAL NOT NULL, blocks INTEGER NOT NULL,
        rejected_by_reason_json TEXT NOT NULL, latency_sum_ms REAL NOT NULL, latency_count INTEGER NOT NULL,
        user_agent TEXT NOT NULL, remote_address TEXT NOT NULL
      );
      CREATE TABLE pool_worker_minutes (
        ts_ms INTEGER NOT NULL, worker TEXT NOT NULL, accepted INTEGER NOT NULL, rejected INTEGER NOT NULL,
        stale INTEGER NOT NULL, diff_accepted REAL NOT NULL, best_share REAL NOT NULL,
        PRIMARY KEY (ts_ms, worker)
      ) WITHOUT ROWID;
      CREATE INDEX pool_worker_minutes_by_worker ON pool_worker_minutes (worker, ts_ms);
    `,
  },
]
