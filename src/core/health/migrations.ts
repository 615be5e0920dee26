import type { Migration } from '../store/migrations'

/**
 * Tables of the fleet-health module (issue 7), numbered 200–299 so they never collide with the
 * app's own list; the lead appends them to `MIGRATIONS`.
 *
 * - `health_series` names each (entity, metric) once, so the large table stores a small integer.
 * - `health_agg` holds every downsampling tier in one table keyed by the tier's bucket width:
 *   per bucket the count, sum, min, max and last value (with the last value's offset into the
 *   bucket, so out-of-order writes still keep the latest). These five merge exactly, which is what
 *   keeps averages, sums and maxima right across tiers. WITHOUT ROWID: the primary key is the
 *   clustering key, so one series' buckets of one tier sit together and a chart query is a range
 *   scan. Rows are kept small because there are millions: NUMERIC affinity stores whole numbers
 *   (share counts, difficulty sums, most temperatures) as 1–6 byte integers instead of 8-byte
 *   floats, and a bucket holding one sample (the usual case in the finest tier) stores min, max
 *   and last as NULL (0 bytes), meaning "equal to the sum".
 * - `health_tier_state` remembers how far the size cap trimmed a tier, so queries over older
 *   windows go to a coarser tier instead of showing a hole.
 * - `health_alerts` is the in-app alert centre: one row per incident (fired → recovered), plus
 *   instant events (block found, new device).
 * - `health_rules` and `health_channels` keep the owner's edits; secrets live in `secrets`.
 * - `health_meta` holds small flags (rules seeded once, so a deleted default stays deleted).
 */
export const HEALTH_MIGRATIONS: Migration[] = [
  {
    version: 200,
    name: 'health-history',
    up: `
      CREATE TABLE health_series (
        id INTEGER PRIMARY KEY, entity_kind TEXT NOT NULL, entity_id TEXT NOT NULL, metric TEXT NOT NULL,
        UNIQUE (entity_kind, entity_id, metric)
      );
      CREATE TABLE health_agg (
        tier_ms INTEGER NOT NULL, series_id INTEGER NOT NULL, bucket_ms INTEGER NOT NULL,
        n INTEGER NOT NULL, total NUMERIC NOT NULL, lo NUMERIC, hi NUMERIC,
        last NUMERIC, last_off_ms INTEGER NOT NULL,
        PRIMARY KEY (tier_ms, series_id, bucket_ms)
      ) WITHOUT ROWID;
      CREATE TABLE health_tier_state (tier_ms INTEGER PRIMARY KEY, trimmed_before_ms INTEGER NOT NULL);
    `,
  },
  {
    version: 201,
    name: 'health-alerts',
    up: `
      CREATE TABLE health_alerts (
        id TEXT PRIMARY KEY, rule_id TEXT NOT NULL, rule_type TEXT NOT NULL, severity TEXT NOT NULL,
        subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL, subject_name TEXT NOT NULL, title TEXT NOT NULL, message TEXT NOT NULL,
        data_json TEXT, instant INTEGER NOT NULL, fired_at_ms INTEGER NOT NULL, recovered_at_ms INTEGER,
        recovery_message TEXT, acked_at_ms INTEGER
      );
      CREATE INDEX health_alerts_fired ON health_alerts (fired_at_ms);
      CREATE INDEX health_alerts_open ON health_alerts (rule_id, subject_kind, subject_id) WHERE recovered_at_ms IS NULL AND instant = 0;
      CREATE TABLE health_rules (id TEXT PRIMARY KEY, rule_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL);
      CREATE TABLE health_channels (id TEXT PRIMARY KEY, config_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL);
      CREATE TABLE health_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
  },
]
