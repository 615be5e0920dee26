import type { z } from 'zod'
import type { MethodSpec, TopicSpec } from '../contract-kit'
import { devicesContract } from './devices'
import { healthContract } from './health'
import { poolContract } from './pool'
import { proxyContract } from './proxy'
import { serialContract } from './serial'
import { systemContract } from './system'

/**
 * The one API of Hashyard. Every host (Electron IPC, WebSocket, HTTP JSON) serves exactly this,
 * and every input is parsed with these schemas in the core before a handler sees it.
 * Each module declares its part in `src/shared/contract/<module>.ts` and spreads it in here; its
 * handlers live in `src/core/<module>/`. docs/api.md documents every name (a test checks it).
 */
export const contract = {
  ...systemContract,
  ...serialContract,
  ...devicesContract,
  ...poolContract,
  ...proxyContract,
  ...healthContract,
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
