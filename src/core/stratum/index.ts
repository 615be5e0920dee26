/** The embedded Stratum V1 pool server: what the app core wires up. */
export type { DecodedItem, RpcId, RpcMessage, RpcRequest, StratumCodecError, StratumCodecErrorCode } from './codec'
export { DEFAULT_MAX_LINE_BYTES, LineDecoder } from './codec'
export type { RejectReason } from './messages'
export { rejectCode, rejectMessage, StratumErrorCode } from './messages'
export type {
  AuthorizeEvent,
  ConnectionInfo,
  Extranonce1Allocator,
  ServerStats,
  StratumLimits,
  StratumServerOptions,
  StratumTlsOptions,
} from './server'
export { CounterExtranonce1Allocator, DEFAULT_LIMITS, StratumServer } from './server'
export type { BlockFinder, PayoutMode, SessionStats, ShareEvent, StormPolicy } from './session'
export { DEFAULT_STORM_POLICY } from './session'
export type { VardiffConfig } from './vardiff'
export { DEFAULT_START_BY_USER_AGENT, DEFAULT_VARDIFF, vardiffConfig } from './vardiff'
export type { WorkFeedOptions, WorkSource } from './work-feed'
export { WorkFeed, withJobId } from './work-feed'
