import type { z } from 'zod'

/**
 * The building blocks of the API contract. A method is one request → one response; a topic is a
 * stream of frames. `latest` topics carry state (a subscriber may miss frames and only the newest
 * matters: the server coalesces); `ordered` topics carry events (every frame matters: numbered,
 * replayable from a ring, and a client that falls behind is told to resync).
 */
export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  kind: 'method'
  input: I
  output: O
  summary: string
}

export interface TopicSpec<P extends z.ZodType = z.ZodType, F extends z.ZodType = z.ZodType> {
  kind: 'topic'
  params: P
  frame: F
  delivery: 'latest' | 'ordered'
  summary: string
}

export const method = <I extends z.ZodType, O extends z.ZodType>(
  input: I,
  output: O,
  summary: string,
): MethodSpec<I, O> => ({ kind: 'method', input, output, summary })

export const topic = <P extends z.ZodType, F extends z.ZodType>(
  params: P,
  frame: F,
  delivery: 'latest' | 'ordered',
  summary: string,
): TopicSpec<P, F> => ({ kind: 'topic', params, frame, delivery, summary })

/** Names are `noun.verb` for methods and `noun.stream` for topics; the contract test enforces it. */
export const METHOD_NAME = /^[a-z][a-zA-Z]*(\.[a-z][a-zA-Z]*)+$/
export const TOPIC_NAME = /^[a-z][a-zA-Z]*(\.[a-z][a-zA-Z]*)*\.stream$/
