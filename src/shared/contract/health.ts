import { z } from 'zod'
import { method, topic } from '../contract-kit'

/**
 * Fleet health (issue 7): history charts and CSV, the alert centre, alert rules, alert channels,
 * the opt-in Prometheus `/metrics` listener and the daily summary. Handlers: src/core/health/module.ts.
 *
 * Security constraints:
 * - Channel secrets (webhook signing secret, Telegram bot token, Discord webhook URL, SMTP
 *   password) and the metrics bearer token are write-only: they go to the SecretStore and no
 *   method returns them (channels report `hasSecret` flags). The one exception is the metrics
 *   token, returned exactly once by the `metrics.setSettings` call that generated it, so the owner
 *   can paste it into Prometheus.
 * - Alert titles, messages and subject names contain text devices and pools sent (hostnames,
 *   pool URLs, worker names): untrusted; the UI renders them as text only, never as HTML.
 *
 * OS notifications: the renderer shows a desktop notification (Electron's `Notification` on the
 * desktop, the browser's Notification API in headless mode) for each `alerts.stream` frame with
 * `notify: true`, using the alert's title and message as plain text. The core never shows them
 * itself, so a headless server with no browser open sends nothing to the OS.
 */

const Empty = z.object({}).strict()
const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'id: 1-64 of letters, digits, _ . : -')
const TimeMs = z.number().int().min(0).max(8.64e15)

// ---------------------------------------------------------------------------------------------
// History

export const HistoryEntity = z
  .object({ kind: z.enum(['device', 'pool', 'upstream']), id: z.string().min(1).max(200) })
  .strict()

/** Metric names of src/core/health/history/metrics.ts, optionally `:<reason>` for rejects. */
const MetricName = z.string().regex(/^[a-z_]{1,40}(:[a-z0-9][a-z0-9_.-]{0,47})?$/, 'a metric name such as temp_max_c')

const SeriesQuery = z
  .object({
    entity: HistoryEntity,
    metric: MetricName,
    fromMs: TimeMs,
    toMs: TimeMs,
    /** Wanted width of a point; the answer says what was delivered (a whole multiple of a tier). */
    resolutionMs: z
      .number()
      .int()
      .min(1000)
      .max(366 * 86_400_000),
  })
  .strict()

export const SeriesPoint = z.object({
  tsMs: z.number(),
  count: z.number(),
  sum: z.number(),
  min: z.number(),
  max: z.number(),
  last: z.number(),
  avg: z.number(),
  /** Gauges: the average; counters: the sum. */
  value: z.number(),
})

export const SeriesResult = z.object({
  entity: z.object({ kind: z.enum(['device', 'pool', 'upstream']), id: z.string() }),
  metric: z.string(),
  kind: z.enum(['gauge', 'counter']),
  unit: z.string(),
  tierMs: z.number(),
  resolutionMs: z.number(),
  fromMs: z.number(),
  toMs: z.number(),
  /** Ascending; a missing bucket is a gap, not a zero. */
  points: z.array(SeriesPoint),
})
export type SeriesResult = z.infer<typeof SeriesResult>

export const HistoryTier = z
  .object({
    widthMs: z.number().int().min(1000),
    retentionMs: z.number().int().min(1000),
  })
  .strict()

// ---------------------------------------------------------------------------------------------
// Alerts

export const Severity = z.enum(['info', 'warning', 'critical'])
const SubjectKind = z.enum(['device', 'upstream', 'proxy', 'node', 'address', 'farm'])
export const RuleType = z.enum([
  'device-offline',
  'no-accepted-share',
  'hashrate-low',
  'temp-high',
  'reject-rate-high',
  'stale-rate-high',
  'pool-drift',
  'proxy-failover',
  'upstream-down',
  'node-unreachable',
  'template-stale',
  'unknown-device',
  'block-found',
])
const DEVICE_RULES: readonly string[] = [
  'device-offline',
  'no-accepted-share',
  'hashrate-low',
  'temp-high',
  'reject-rate-high',
  'stale-rate-high',
  'pool-drift',
]

export const AlertRecord = z.object({
  id: z.string(),
  ruleId: z.string(),
  ruleType: z.union([RuleType, z.literal('test')]),
  severity: Severity,
  /** `name` is cleaned device/network text: render as text only. */
  subject: z.object({ kind: SubjectKind, id: z.string(), name: z.string() }),
  title: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  /** Instant events (block found, new device, test) have no recovery. */
  instant: z.boolean(),
  firedAtMs: z.number(),
  recoveredAtMs: z.number().nullable(),
  recoveryMessage: z.string().nullable(),
  ackedAtMs: z.number().nullable(),
})
export type AlertRecord = z.infer<typeof AlertRecord>

export const AlertCounts = z.object({
  tsMs: z.number(),
  /** Incidents fired and not recovered. */
  open: z.number().int(),
  unacknowledged: z.number().int(),
  /** Open incidents by severity (what a badge colours by). */
  openBySeverity: z.object({ info: z.number().int(), warning: z.number().int(), critical: z.number().int() }),
})
export type AlertCounts = z.infer<typeof AlertCounts>

export const AlertFrame = z.object({
  seq: z.number().int(),
  tsMs: z.number(),
  /** What happened: an incident fired, recovered or was closed silently (rule removed); an instant event; a test; an acknowledge. */
  change: z.enum(['fired', 'recovered', 'closed', 'event', 'test', 'acknowledged', 'acknowledged-all']),
  /** The record as it now stands; null for `acknowledged-all`. */
  alert: AlertRecord.nullable(),
  /**
   * Show an OS notification for this frame. False for closes, acknowledges, and alerts over the
   * per-device rate limit (the alert centre still lists those).
   */
  notify: z.boolean(),
})
export type AlertFrame = z.infer<typeof AlertFrame>

const forMs = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400_000)
const pct = z.number().gt(0).max(100)
const rateRule = {
  abovePct: pct,
  windowMs: z.number().int().min(60_000).max(86_400_000),
  minShares: z.number().int().min(1).max(1e6),
}

const RuleScope = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('farm') }).strict(),
  z.object({ kind: z.literal('device'), deviceId: z.string().min(1).max(200) }).strict(),
  z.object({ kind: z.literal('tag'), tag: z.string().min(1).max(64) }).strict(),
])

/** The rule variants with the id given as `id` (required when stored, optional when saved). */
function ruleUnion<I extends z.ZodType>(id: I) {
  const common = {
    id,
    enabled: z.boolean(),
    scope: RuleScope,
    severity: Severity,
    /** Channel ids to notify; null or absent: every enabled channel. The alert centre always records. */
    channels: z.array(Id).max(32).nullable().optional(),
  }
  return z
    .discriminatedUnion('type', [
      z.object({ ...common, type: z.literal('device-offline'), forMs }).strict(),
      z.object({ ...common, type: z.literal('no-accepted-share'), forMs: forMs.min(60_000) }).strict(),
      z
        .object({
          ...common,
          type: z.literal('hashrate-low'),
          belowPct: z.number().gt(0).lt(100),
          baseline: z.enum(['own-24h', 'nameplate']),
          forMs,
        })
        .strict(),
      z.object({ ...common, type: z.literal('temp-high'), aboveC: z.number().min(0).max(150), forMs }).strict(),
      z.object({ ...common, type: z.literal('reject-rate-high'), ...rateRule }).strict(),
      z.object({ ...common, type: z.literal('stale-rate-high'), ...rateRule }).strict(),
      z.object({ ...common, type: z.literal('pool-drift'), forMs }).strict(),
      z.object({ ...common, type: z.literal('proxy-failover'), forMs }).strict(),
      z.object({ ...common, type: z.literal('upstream-down'), forMs }).strict(),
      z.object({ ...common, type: z.literal('node-unreachable'), forMs }).strict(),
      z
        .object({
          ...common,
          type: z.literal('template-stale'),
          maxAgeMs: z.number().int().min(10_000).max(86_400_000),
          forMs,
        })
        .strict(),
      z.object({ ...common, type: z.literal('unknown-device') }).strict(),
      z.object({ ...common, type: z.literal('block-found') }).strict(),
    ])
    .refine((r) => r.scope.kind !== 'tag' || DEVICE_RULES.includes(r.type), {
      message: 'a tag scope applies to device rules only',
      path: ['scope'],
    })
}

/**
 * An alert rule (semantics: src/core/health/README.md). Durations in ms. Scope precedence per
 * device and rule type: device > tag > farm, and a disabled device-scoped rule mutes that device.
 */
export const AlertRuleSchema = ruleUnion(Id)
export type AlertRuleInput = z.input<typeof AlertRuleSchema>
const AlertRuleDraft = ruleUnion(Id.optional())

// ---------------------------------------------------------------------------------------------
// Channels

export const ChannelSecretName = z.enum(['secret', 'botToken', 'webhookUrl', 'password'])
export type ChannelSecretName = z.infer<typeof ChannelSecretName>

function channelUnion<I extends z.ZodType>(id: I) {
  const base = {
    id,
    /** Owner's label. */
    name: z.string().min(1).max(80),
    enabled: z.boolean(),
    /** Send the daily summary on this channel (when the summary is on). */
    dailySummary: z.boolean().default(false),
  }
  return z.discriminatedUnion('kind', [
    /** JSON POST; with a `secret`, signed `X-Hashyard-Signature: sha256=<HMAC of the body>`. */
    z.object({ ...base, kind: z.literal('webhook'), url: z.string().url().max(2000) }).strict(),
    /** Needs the `botToken` secret. `apiBase` only for a self-hosted Bot API server. */
    z
      .object({
        ...base,
        kind: z.literal('telegram'),
        chatId: z.string().min(1).max(80),
        apiBase: z.string().url().max(200).optional(),
      })
      .strict(),
    /** Needs the `webhookUrl` secret (a Discord webhook URL is itself a credential). */
    z.object({ ...base, kind: z.literal('discord') }).strict(),
    /** SMTP; `password` secret when `username` is set. AUTH is never sent in the clear except to loopback. */
    z
      .object({
        ...base,
        kind: z.literal('email'),
        host: z.string().min(1).max(253),
        port: z.number().int().min(1).max(65535),
        security: z.enum(['tls', 'starttls', 'none']),
        username: z.string().max(200).optional(),
        from: z.string().max(320),
        to: z.array(z.string().max(320)).min(1).max(20),
      })
      .strict(),
  ])
}

/** A channel's settings as stored. Secrets are not part of it. */
export const ChannelConfigSchema = channelUnion(Id)
export type ChannelConfigInput = z.input<typeof ChannelConfigSchema>
const ChannelDraft = channelUnion(Id.optional())

const ChannelView = z.object({
  id: z.string(),
  kind: z.enum(['webhook', 'telegram', 'discord', 'email']),
  name: z.string(),
  enabled: z.boolean(),
  dailySummary: z.boolean(),
  url: z.string().optional(),
  chatId: z.string().optional(),
  apiBase: z.string().optional(),
  host: z.string().optional(),
  port: z.number().int().optional(),
  security: z.enum(['tls', 'starttls', 'none']).optional(),
  username: z.string().optional(),
  from: z.string().optional(),
  to: z.array(z.string()).optional(),
  /** Which secrets this kind uses and whether each is set. Values are never returned. */
  hasSecret: z.object({
    secret: z.boolean().optional(),
    botToken: z.boolean().optional(),
    webhookUrl: z.boolean().optional(),
    password: z.boolean().optional(),
  }),
})
export type ChannelView = z.infer<typeof ChannelView>

/** Per secret: a string sets it, null removes it, absent keeps it. */
const SecretValue = z.string().min(1).max(2000).nullable().optional()

// ---------------------------------------------------------------------------------------------
// Settings

export const MetricsSettings = z.object({
  enabled: z.boolean(),
  host: z.string(),
  port: z.number().int(),
  /** A bearer token is set (required whenever `host` is not a loopback address). */
  hasToken: z.boolean(),
  /** Whether the listener is up, and why not when it should be. */
  listening: z.boolean(),
  error: z.string().nullable(),
  /** Where Prometheus scrapes, e.g. `http://127.0.0.1:9464/metrics`. */
  url: z.string().nullable(),
})
export type MetricsSettings = z.infer<typeof MetricsSettings>

export const SummarySettings = z.object({
  enabled: z.boolean(),
  /** Local time of day the summary goes out. */
  hour: z.number().int(),
  minute: z.number().int(),
  lastSentAtMs: z.number().nullable(),
  nextRunAtMs: z.number().nullable(),
  /** Channels with `dailySummary` on: where it goes. */
  channelIds: z.array(z.string()),
})
export type SummarySettings = z.infer<typeof SummarySettings>

export const HistorySettings = z.object({
  /** Finest first; each width a whole multiple of the previous. */
  tiers: z.array(z.object({ widthMs: z.number(), retentionMs: z.number() })),
  maxStoreBytes: z.number().nullable(),
  usedBytes: z.number(),
  /** The tiers the running store uses (new tiers apply after a restart). */
  activeTiers: z.array(z.object({ widthMs: z.number(), retentionMs: z.number() })),
  restartRequired: z.boolean(),
})

export const healthContract = {
  'history.series': method(
    SeriesQuery,
    SeriesResult,
    'Points of one metric of a device, pool or upstream over [fromMs, toMs) at about resolutionMs per point, from the best downsampling tier.',
  ),
  'history.csv': method(
    SeriesQuery,
    z.object({ filename: z.string(), csv: z.string() }),
    'The same series as CSV text (RFC 4180, CRLF; cells that a spreadsheet would run as a formula are quoted with a leading apostrophe).',
  ),
  'history.listSeries': method(
    z.object({ entity: HistoryEntity.optional() }).strict(),
    z.object({ series: z.array(z.object({ entity: SeriesResult.shape.entity, metric: z.string() })) }),
    'Which series are stored (all, or one entity), e.g. to find the reject reasons a device has.',
  ),
  'history.getSettings': method(Empty, HistorySettings, 'Downsampling tiers, the size cap, and the store size now.'),
  'history.setSettings': method(
    z
      .object({
        tiers: z.array(HistoryTier).min(1).max(6).optional(),
        /** null: no cap. */
        maxStoreBytes: z
          .number()
          .int()
          .min(64 * 1024 ** 2)
          .nullable()
          .optional(),
      })
      .strict(),
    HistorySettings,
    'Changes the tiers (applied at the next start) and the size cap (applied at once).',
  ),

  'alerts.list': method(
    z
      .object({
        openOnly: z.boolean().optional(),
        unacknowledgedOnly: z.boolean().optional(),
        limit: z.number().int().min(1).max(1000).optional(),
        /** Paging: alerts fired strictly before this. */
        beforeMs: TimeMs.optional(),
      })
      .strict(),
    z.object({ alerts: z.array(AlertRecord), counts: AlertCounts }),
    'The alert centre, newest first: incidents (fired, recovered) and instant events.',
  ),
  'alerts.acknowledge': method(
    z.object({ id: z.string().min(1).max(100) }).strict(),
    AlertRecord,
    'Marks one alert as seen.',
  ),
  'alerts.acknowledgeAll': method(Empty, z.object({ acknowledged: z.number().int() }), 'Marks every alert as seen.'),

  'alertRules.list': method(
    Empty,
    z.object({ rules: z.array(AlertRuleSchema) }),
    'Every alert rule, defaults included.',
  ),
  'alertRules.save': method(
    z.object({ rule: AlertRuleDraft }).strict(),
    z.object({ rule: AlertRuleSchema }),
    'Creates (no id: one is made) or replaces a rule; applies at once.',
  ),
  'alertRules.delete': method(
    z.object({ id: Id }).strict(),
    z.object({ deleted: z.boolean() }),
    'Deletes a rule (a deleted default stays deleted until alertRules.reset); its open alerts are closed.',
  ),
  'alertRules.reset': method(
    Empty,
    z.object({ rules: z.array(AlertRuleSchema) }),
    'Replaces every rule with the defaults.',
  ),

  'alertChannels.list': method(
    Empty,
    z.object({ channels: z.array(ChannelView) }),
    'Webhook, Telegram, Discord and e-mail channels, with which secrets are set (never their values).',
  ),
  'alertChannels.save': method(
    z
      .object({
        channel: ChannelDraft,
        /** Write-only. */
        secrets: z
          .object({ secret: SecretValue, botToken: SecretValue, webhookUrl: SecretValue, password: SecretValue })
          .strict()
          .optional(),
      })
      .strict(),
    z.object({ channel: ChannelView }),
    'Creates (no id: one is made) or replaces a channel; secrets are stored in the secret store.',
  ),
  'alertChannels.delete': method(
    z.object({ id: Id }).strict(),
    z.object({ deleted: z.boolean() }),
    'Deletes a channel and its secrets.',
  ),
  'alertChannels.test': method(
    z.object({ id: Id }).strict(),
    z.object({ ok: z.boolean(), message: z.string() }),
    '"Send test": sends a test message now; says in plain words that it arrived, or what the receiver answered.',
  ),

  'metrics.getSettings': method(Empty, MetricsSettings, 'The Prometheus /metrics listener (off by default).'),
  'metrics.setSettings': method(
    z
      .object({
        enabled: z.boolean().optional(),
        /** Default 127.0.0.1. Any other address requires the bearer token (made on demand). */
        host: z
          .string()
          .min(1)
          .max(64)
          .regex(/^[0-9a-fA-F.:]+$/, 'an IP address')
          .optional(),
        /** Default 9464. */
        port: z.number().int().min(1).max(65535).optional(),
        /** Make a new bearer token (the old one stops working). */
        regenerateToken: z.boolean().optional(),
      })
      .strict(),
    z.object({
      settings: MetricsSettings,
      /** Only when this call made a token: shown once, then only `hasToken`. */
      token: z.string().optional(),
    }),
    'Turns /metrics on or off, or moves it; binding off loopback makes a bearer token and returns it once.',
  ),

  'healthSummary.getSettings': method(Empty, SummarySettings, 'The optional daily summary.'),
  'healthSummary.setSettings': method(
    z
      .object({
        enabled: z.boolean().optional(),
        hour: z.number().int().min(0).max(23).optional(),
        minute: z.number().int().min(0).max(59).optional(),
      })
      .strict(),
    SummarySettings,
    'Turns the daily summary on or off and sets its time; channels opt in with `dailySummary`.',
  ),
  'healthSummary.preview': method(
    Empty,
    z.object({ title: z.string(), text: z.string() }),
    'The summary of the last 24 hours as it would be sent now (nothing is sent).',
  ),

  'alerts.stream': topic(
    z.object({ sinceSeq: z.number().int().min(0).optional() }).strict(),
    AlertFrame,
    'ordered',
    'Alerts as they happen: fired, recovered, instant events, closes, acknowledges. Frames with notify: true become OS notifications in the renderer.',
  ),
  'alertCounts.stream': topic(
    Empty,
    AlertCounts,
    'latest',
    'Open and unacknowledged alert counts (the badge), coalesced.',
  ),
} as const
