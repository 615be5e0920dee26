import type { Migration } from '../store/migrations'

/** The proxy's tables (versions 600–699 belong to the proxy). */
export const PROXY_MIGRATIONS: Migration[] = [
  {
    version: 600,
    name: 'proxy',
    up: `
      CREATE TABLE proxy_config (
        id INTEGER PRIMARY KEY CHECK (id = 1), value_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE proxy_minutes (
        ts_ms INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        accepted INTEGER NOT NULL, rejected INTEGER NOT NULL, stale INTEGER NOT NULL, diff_accepted REAL NOT NULL,
        upstream_accepted INTEGER NOT NULL, upstream_rejected INTEGER NOT NULL,
        PRIMARY KEY (ts_ms, kind, key)
      ) WITHOUT ROWID;
      CREATE INDEX proxy_minutes_by_key ON proxy_minutes (kind, key, ts_ms);
    `,
  },
]
