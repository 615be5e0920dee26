/**
 * Fleet health (issue 7): history, alert rules, channels and Prometheus metrics. Plain Node; every
 * clock is injected. See README.md in this folder for the semantics and the wiring.
 */

export { AlertCenter, type AlertListQuery, type AlertRecord } from './channels/alert-center'
export {
  type ChannelConfig,
  ChannelRepo,
  channelConfigSchema,
  channelSecretRef,
  createChannel,
  parseChannelConfig,
  type SecretSource,
} from './channels/config'
export { createDiscordChannel } from './channels/discord'
export { AlertDispatcher, type Delivery, type DispatcherOptions } from './channels/dispatcher'
export { createEmailChannel } from './channels/email'
export { type SmtpOptions, type SmtpSecurity, type SmtpSent, sendMail } from './channels/smtp/smtp-client'
export { buildDailySummary, type DailySummary, nextDailyRunMs, summaryFromHistory } from './channels/summary'
export { createTelegramChannel, TELEGRAM_API_BASE } from './channels/telegram'
export {
  type AlertChannel,
  type ChannelKind,
  type ChannelMessage,
  messageFromEvent,
  testMessage,
} from './channels/types'
export {
  createWebhookChannel,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  type WebhookPayload,
  webhookSignature,
} from './channels/webhook'
export { type Clock, systemClock } from './clock'
export { type CsvCell, csvCell, seriesToCsv, toCsv } from './history/csv'
export {
  type HistoryOptions,
  type HistorySample,
  HistoryStore,
  type MaintenanceReport,
  type SeriesPoint,
  type SeriesResult,
} from './history/history-store'
export { type EntityKind, type EntityRef, METRICS, type MetricBase, parseMetric, reasonKey } from './history/metrics'
export { DEFAULT_TIERS, FARM_TIERS, type TierConfig } from './history/tiers'
export { deviceObservation, deviceSamples, type ShareTally, shareSamples, sharesObservation } from './ingest'
export { authorizeMetricsRequest, type MetricsAccessConfig } from './metrics/access'
export { METRICS_CONTENT_TYPE, type MetricFamily, renderExposition } from './metrics/exposition'
export {
  type DeviceMetrics,
  type FarmSnapshot,
  farmMetrics,
  type PoolMetrics,
  renderFarmMetrics,
  type UpstreamMetrics,
} from './metrics/farm-metrics'
export { HEALTH_MIGRATIONS } from './migrations'
export { SlidingWindowLimiter } from './rate-limit'
export { DEFAULT_RULES } from './rules/defaults'
export { AlertEngine, type AlertEngineOptions } from './rules/engine'
export { comparePools, normalisePoolUrl, type PoolDrift } from './rules/pool-drift'
export { RuleRepo } from './rules/rule-repo'
export { alertRuleSchema, parseRule } from './rules/schema'
export * from './rules/types'
