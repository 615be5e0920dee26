import { z } from 'zod'
import { method, topic } from '../contract-kit'
import { SettingKeySchema } from '../domain/settings'
import { AppEvent, SystemSample, SystemStatus } from '../domain/system'

const Empty = z.object({}).strict()

/** The foundation's methods and topics: the core itself, settings and the event log. */
export const systemContract = {
  'system.status': method(
    Empty,
    SystemStatus,
    'Version, uptime, data folder, listening ports, store and secret protection.',
  ),
  'system.ping': method(
    z.object({ echo: z.string().max(256).optional() }).strict(),
    z.object({ tsMs: z.number(), echo: z.string().optional() }),
    'Round trip check; echoes a short string.',
  ),
  'settings.get': method(Empty, z.record(z.string(), z.unknown()), 'All settings with their current values.'),
  'settings.set': method(
    z.object({ key: SettingKeySchema, value: z.unknown() }).strict(),
    z.object({ key: SettingKeySchema, value: z.unknown() }),
    'Changes one setting (validated per key; written atomically).',
  ),
  'events.list': method(
    z
      .object({
        sinceSeq: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(1000).optional(),
      })
      .strict(),
    z.object({ events: z.array(AppEvent), lastSeq: z.number().int() }),
    'Recent entries of the event log, oldest first.',
  ),
  'telemetry.system': method(
    z.object({ sinceMs: z.number().optional(), limit: z.number().int().min(1).max(10_000).optional() }).strict(),
    z.object({ samples: z.array(SystemSample) }),
    "History of the core's own health samples from the store.",
  ),
  'app.openExternal': method(
    z.object({ url: z.string().max(2048) }).strict(),
    z.object({ opened: z.boolean() }),
    'Opens an http(s) link in the OS browser (desktop only; headless answers NOT_SUPPORTED and the UI uses a plain link).',
  ),

  'system.stream': topic(
    Empty,
    SystemSample,
    'latest',
    "The core's live health, coalesced to at most 4 frames a second.",
  ),
  'events.stream': topic(
    z.object({ sinceSeq: z.number().int().min(0).optional() }).strict(),
    AppEvent,
    'ordered',
    'Every new event-log entry in order; replays from sinceSeq when the ring still holds it.',
  ),
} as const
