import { z } from 'zod'
import { type MethodSpec, method, type TopicSpec, topic } from './contract-kit'
import { SettingKeySchema } from './domain/settings'
import { AppEvent, SystemSample, SystemStatus } from './domain/system'

const Empty = z.object({}).strict()

/**
 * The one API of Hashyard. Every host (Electron IPC, WebSocket, HTTP JSON) serves exactly this,
 * and every input is parsed with these schemas in the core before a handler sees it.
 * Add a module's methods here, implement them in `src/core/<module>/handlers.ts`, and document
 * them in docs/api.md (the contract test fails when a method has no handler or no doc entry).
 */
export const contract = {
  'system.status': method(Empty, SystemStatus, 'Version, uptime, data folder, listening ports, store and secret protection.'),
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

  'system.stream': topic(Empty, SystemSample, 'latest', "The core's live health, coalesced to at most 4 frames a second."),
  'events.stream': topic(
    z.object({ sinceSeq: z.number().int().min(0).optional() }).strict(),
    AppEvent,
    'ordered',
    'Every new event-log entry in order; replays from sinceSeq when the ring still holds it.',
  ),
} as const satisfies Record<string, MethodSpec | TopicSpec>

export type Contract = typeof contract
type Keys = keyof Contract
export type MethodName = { [K in Keys]: Contract[K] extends MethodSpec ? K : never }[Keys]
export type TopicName = { [K in Keys]: Contract[K] extends TopicSpec ? K : never }[Keys]

type InOf<S> = S extends MethodSpec<infer I, z.ZodType> ? z.input<I> : never
type OutOf<S> = S extends MethodSpec<z.ZodType, infer O> ? z.output<O> : never
type ParsedInOf<S> = S extends MethodSpec<infer I, z.ZodType> ? z.output<I> : never
type ParamsOf<S> = S extends TopicSpec<infer P, z.ZodType> ? z.input<P> : never
type FrameOf<S> = S extends TopicSpec<z.ZodType, infer F> ? z.output<F> : never

/** What a caller passes (before defaults). */
export type MethodInput<M extends MethodName> = InOf<Contract[M]>
/** What a handler receives (after parsing). */
export type MethodParams<M extends MethodName> = ParsedInOf<Contract[M]>
export type MethodOutput<M extends MethodName> = OutOf<Contract[M]>
export type TopicParams<T extends TopicName> = ParamsOf<Contract[T]>
export type TopicFrame<T extends TopicName> = FrameOf<Contract[T]>

export const methodNames = (): MethodName[] =>
  (Object.keys(contract) as Keys[]).filter((k): k is MethodName => contract[k].kind === 'method')
export const topicNames = (): TopicName[] =>
  (Object.keys(contract) as Keys[]).filter((k): k is TopicName => contract[k].kind === 'topic')

export function isMethodName(name: string): name is MethodName {
  return Object.hasOwn(contract, name) && contract[name as Keys].kind === 'method'
}
export function isTopicName(name: string): name is TopicName {
  return Object.hasOwn(contract, name) && contract[name as Keys].kind === 'topic'
}
