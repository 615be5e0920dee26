import { z } from 'zod'

export const ListeningPort = z.object({
  name: z.string(),
  protocol: z.enum(['http', 'ws', 'stratum', 'stratum+ssl', 'metrics']),
  host: z.string(),
  port: z.number().int(),
})
export type ListeningPort = z.infer<typeof ListeningPort>

export const SystemStatus = z.object({
  app: z.literal('hashyard'),
  version: z.string(),
  host: z.enum(['headless', 'desktop', 'test']),
  startedAtMs: z.number(),
  uptimeS: z.number(),
  dataDir: z.string(),
  nodeVersion: z.string(),
  pid: z.number().int(),
  ports: z.array(ListeningPort),
  store: z.object({ driver: z.string(), sqliteVersion: z.string(), file: z.string(), schemaVersion: z.number().int() }),
  secrets: z.object({ protection: z.enum(['os-keystore', 'file-0600', 'memory']), warning: z.string().optional() }),
})
export type SystemStatus = z.infer<typeof SystemStatus>

/** One live sample of the core's own health, pushed on `system.stream` and kept as telemetry. */
export const SystemSample = z.object({
  tsMs: z.number(),
  uptimeS: z.number(),
  rssBytes: z.number(),
  heapUsedBytes: z.number(),
  eventLoopDelayP99Ms: z.number(),
  connections: z.number().int(),
})
export type SystemSample = z.infer<typeof SystemSample>

export const LogLevel = z.enum(['debug', 'info', 'warn', 'error'])

/** An entry of the app's event log (shown in the UI's live stream; never carries secrets). */
export const AppEvent = z.object({
  seq: z.number().int(),
  tsMs: z.number(),
  level: LogLevel,
  source: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
})
export type AppEvent = z.infer<typeof AppEvent>
