/**
 * Errors from the Bitcoin node connection, as values. Each has a stable `code` the API and UI can
 * switch on and a `message` written for the owner of the node (what is wrong and what to check),
 * never a stack trace. Secrets (RPC password, cookie contents) never appear in a message.
 */
export type NodeErrorCode =
  /** Bad settings (URL, port): fix the configuration; retrying will not help. */
  | 'NODE_CONFIG'
  /** No answer: connection refused, host not found, timed out or reset (`details.reason` says which). */
  | 'NODE_UNREACHABLE'
  /** HTTP 401/403: wrong user/password, stale or unreadable cookie, or rpcallowip/rpcwhitelist. */
  | 'NODE_AUTH'
  /** RPC error -28: the node is starting ("Loading block index…", "Verifying blocks…"). */
  | 'NODE_WARMUP'
  /** The node is in initial block download or far behind its headers (RPC -10 or getblockchaininfo). */
  | 'NODE_SYNCING'
  /** The node answered with a JSON-RPC error; `details.rpcCode`/`details.rpcMessage` carry it. */
  | 'NODE_RPC_ERROR'
  /** The answer was not JSON-RPC, or its result did not have the shape Bitcoin Core documents. */
  | 'NODE_BAD_RESPONSE'
  /** The call was cancelled by its caller (AbortSignal), e.g. when the template source stops. */
  | 'NODE_CANCELLED'

export type UnreachableReason = 'refused' | 'not-found' | 'timeout' | 'reset' | 'network' | 'other'

export interface NodeError {
  code: NodeErrorCode
  message: string
  details?: {
    reason?: UnreachableReason
    errno?: string
    httpStatus?: number
    rpcCode?: number
    rpcMessage?: string
    method?: string
  }
}

export function nodeError(code: NodeErrorCode, message: string, details?: NodeError['details']): NodeError {
  return details === undefined ? { code, message } : { code, message, details }
}

/** Bitcoin Core RPC error codes we react to (src/rpc/protocol.h). */
export const RPC_IN_WARMUP = -28
export const RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10
export const RPC_CLIENT_NOT_CONNECTED = -9
export const RPC_INVALID_ADDRESS_OR_KEY = -5
export const RPC_METHOD_NOT_FOUND = -32601

/**
 * Turns a socket/DNS error from node:http into NODE_UNREACHABLE with a sentence that says which
 * failure it was, because "refused" (node not running, wrong port) and "not found" (typo in the
 * host) call for different fixes.
 */
export function describeTransportError(endpoint: string, err: unknown, method?: string): NodeError {
  const errno = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined
  const base = { errno: errno ?? 'unknown', ...(method === undefined ? {} : { method }) }
  switch (errno) {
    case 'ECONNREFUSED':
      return nodeError(
        'NODE_UNREACHABLE',
        `Connection refused at ${endpoint}: the node is not running, RPC is off (server=1), or it listens on another port.`,
        { reason: 'refused', ...base },
      )
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return nodeError('NODE_UNREACHABLE', `The host name in ${endpoint} could not be resolved: check the spelling.`, {
        reason: 'not-found',
        ...base,
      })
    case 'ETIMEDOUT':
      return nodeError('NODE_UNREACHABLE', `Connecting to ${endpoint} timed out: check the address and firewall.`, {
        reason: 'timeout',
        ...base,
      })
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return nodeError(
        'NODE_UNREACHABLE',
        `The connection to ${endpoint} was closed before the node answered: it may be restarting, or this is not its RPC port (8332 on mainnet; 8333 is P2P).`,
        { reason: 'reset', ...base },
      )
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return nodeError(
        'NODE_UNREACHABLE',
        `No network route to ${endpoint}: is that computer on and on this network?`,
        {
          reason: 'network',
          ...base,
        },
      )
    default: {
      const detail = err instanceof Error ? err.message : String(err)
      return nodeError('NODE_UNREACHABLE', `Could not talk to the node at ${endpoint}: ${detail}`, {
        reason: 'other',
        ...base,
      })
    }
  }
}

export function timeoutError(endpoint: string, method: string, timeoutMs: number): NodeError {
  return nodeError(
    'NODE_UNREACHABLE',
    `The node at ${endpoint} did not answer ${method} within ${formatSeconds(timeoutMs)}: it may be busy or stuck.`,
    { reason: 'timeout', method },
  )
}

/**
 * Maps a JSON-RPC error object to a NodeError. Warm-up (-28) and initial download (-10) get their
 * own codes because the UI shows them as states of the node, not as failures.
 */
export function rpcErrorToNodeError(method: string, rpcCode: number, rpcMessage: string): NodeError {
  const details = { method, rpcCode, rpcMessage }
  if (rpcCode === RPC_IN_WARMUP) {
    return nodeError(
      'NODE_WARMUP',
      `The node is still starting up (${rpcMessage.trim() || 'warming up'}); mining starts when it is ready.`,
      details,
    )
  }
  if (rpcCode === RPC_CLIENT_IN_INITIAL_DOWNLOAD) {
    return nodeError(
      'NODE_SYNCING',
      'The node is still downloading the block chain (initial block download); mining starts when it has caught up.',
      details,
    )
  }
  if (rpcCode === RPC_CLIENT_NOT_CONNECTED) {
    return nodeError(
      'NODE_RPC_ERROR',
      'The node has no peers, so it cannot know the current tip; check its internet connection.',
      details,
    )
  }
  if (rpcCode === RPC_METHOD_NOT_FOUND) {
    return nodeError(
      'NODE_RPC_ERROR',
      `The node does not offer ${method}: is this a Bitcoin Core-compatible node with the mining RPCs?`,
      details,
    )
  }
  return nodeError('NODE_RPC_ERROR', `The node refused ${method}: ${rpcMessage} (code ${rpcCode}).`, details)
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000
  return Number.isInteger(s) ? `${s} s` : `${s.toFixed(1)} s`
}
