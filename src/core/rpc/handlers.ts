import type { MethodName, MethodOutput, MethodParams, TopicFrame, TopicName, TopicParams } from '../../shared/contract'

/** Who is calling. Handlers use it for host-specific answers; it is never taken from the message. */
export interface CallContext {
  transport: 'ipc' | 'ws' | 'http' | 'memory'
  remote?: string
}

export type MethodHandler<M extends MethodName> = (
  params: MethodParams<M>,
  ctx: CallContext,
) => MethodOutput<M> | Promise<MethodOutput<M>>

/** Each module exports a partial map (`satisfies HandlerMap`); `entry.ts` merges them and checks completeness. */
export type HandlerMap = { [M in MethodName]?: MethodHandler<M> }
export type CompleteHandlerMap = { [M in MethodName]: MethodHandler<M> }

/**
 * A topic's data source. `latest`: the server asks for a snapshot when a subscriber is due a frame,
 * at most every `coalesceMs` after a change. `ordered`: every frame is delivered, with replay.
 */
export type TopicSource<T extends TopicName> =
  | {
      delivery: 'latest'
      snapshot(params: TopicParams<T>): TopicFrame<T> | undefined
      onChange(cb: () => void): () => void
    }
  | {
      delivery: 'ordered'
      /** Frames after `sinceSeq`, or 'gone' when the ring no longer holds them all. */
      replay(params: TopicParams<T>): TopicFrame<T>[] | 'gone'
      onFrame(cb: (frame: TopicFrame<T>) => void): () => void
    }

export type TopicMap = { [T in TopicName]?: TopicSource<T> }
