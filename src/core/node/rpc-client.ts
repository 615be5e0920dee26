import http from 'node:http'
import type { z } from 'zod'
import type { Result } from '../../shared/errors'
import type { AddressNetwork } from './chain'
import { type RpcCredentials, readCookieFile } from './cookie'
import { type NodeEndpoint, parseNodeEndpoint } from './endpoint'
import {
  describeTransportError,
  type NodeError,
  nodeError,
  RPC_INVALID_ADDRESS_OR_KEY,
  rpcErrorToNodeError,
  timeoutError,
} from './errors'
import {
  type BlockchainInfo,
  type BlockHeaderInfo,
  type BlockTemplate,
  bestBlockHashSchema,
  blockchainInfoSchema,
  blockHeaderInfoSchema,
  blockTemplateSchema,
  interpretSubmitResult,
  type MiningInfo,
  miningInfoSchema,
  type SubmitOutcome,
} from './messages'

export interface NodeRpcConfig {
  /** `http://host:port`, `host:port` or `host`; a missing port takes `network`'s default RPC port. */
  url: string
  /** Only used for the default port. Default 'mainnet'. */
  network?: AddressNetwork
  /** rpcuser/rpcpassword (or an rpcauth user). Takes precedence over credentials in the URL and the cookie. */
  user?: string
  password?: string
  /** Path of the node's `.cookie` file (or its data directory); used when no user/password is set. */
  cookieFile?: string
  /** Per-call timeout unless a call says otherwise. Default 10 s. */
  timeoutMs?: number
  /** Largest answer accepted; a 4 MWU block template is ~9 MB of JSON. Default 64 MiB. */
  maxResponseBytes?: number
}

export interface CallOptions {
  timeoutMs?: number
  signal?: AbortSignal
  /**
   * Use a dedicated connection instead of the keep-alive pool: for a long-poll that may be held
   * for minutes, so it never delays the short calls queued behind it.
   */
  dedicatedConnection?: boolean
}

export type RpcResult<T> = Result<T, NodeError>

/** Where a block we found stands, from the node's point of view. */
export type BlockConfirmation =
  | { state: 'in-chain'; height: number; confirmations: number }
  /** Known but not on the active chain: another block at that height won. */
  | { state: 'stale'; height: number }
  | { state: 'unknown' }

const DEFAULT_TIMEOUT_MS = 10_000
const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
/** submitblock validates the whole block before answering; give it longer than a status call. */
const SUBMIT_TIMEOUT_MS = 60_000
const TEMPLATE_TIMEOUT_MS = 30_000

type AuthSource = 'config' | 'url' | 'cookie' | 'none'

interface HttpAnswer {
  status: number
  body: Buffer
}

/**
 * Bitcoin Core-compatible JSON-RPC over HTTP (JSON-RPC 1.0 envelope, Basic auth), with every
 * failure returned as a NodeError value. One instance per configured node; `close()` releases its
 * keep-alive sockets.
 */
export class NodeRpcClient {
  readonly endpoint: NodeEndpoint
  private readonly agent: http.Agent
  private readonly timeoutMs: number
  private readonly maxResponseBytes: number
  private readonly authSource: AuthSource
  private cookie: RpcCredentials | undefined
  private nextId = 1
  private closed = false

  private constructor(
    endpoint: NodeEndpoint,
    private readonly config: NodeRpcConfig,
  ) {
    this.endpoint = endpoint
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.maxResponseBytes = config.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
    this.authSource =
      config.user !== undefined
        ? 'config'
        : endpoint.user !== undefined
          ? 'url'
          : config.cookieFile !== undefined
            ? 'cookie'
            : 'none'
    // Bitcoin Core serves RPC with a few worker threads (-rpcthreads); a small pool is plenty.
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  }

  /** Validates the settings; a bad URL is a NODE_CONFIG error, not an exception. */
  static create(config: NodeRpcConfig): RpcResult<NodeRpcClient> {
    const endpoint = parseNodeEndpoint(config.url, config.network)
    if (!endpoint.ok) return endpoint
    if (config.timeoutMs !== undefined && !(config.timeoutMs > 0)) {
      return {
        ok: false,
        error: nodeError('NODE_CONFIG', 'The RPC timeout must be a positive number of milliseconds.'),
      }
    }
    if ((config.user === undefined) !== (config.password === undefined)) {
      return { ok: false, error: nodeError('NODE_CONFIG', 'Set both the RPC user and the RPC password, or neither.') }
    }
    return { ok: true, value: new NodeRpcClient(endpoint.value, config) }
  }

  /** Releases pooled sockets. Calls after close fail with NODE_CANCELLED. */
  close(): void {
    this.closed = true
    this.agent.destroy()
  }

  /** Raw JSON-RPC call: the `result` member, or a NodeError. */
  async call(method: string, params: unknown[] = [], options: CallOptions = {}): Promise<RpcResult<unknown>> {
    if (this.closed) return { ok: false, error: nodeError('NODE_CANCELLED', 'The node connection was closed.') }
    const credentials = await this.credentials(false)
    const first = await this.attempt(method, params, options, credentials)
    if (first.ok || first.error.code !== 'NODE_AUTH' || this.authSource !== 'cookie') return first
    if (first.error.details?.httpStatus !== 401) return first
    // The node writes a fresh cookie each time it starts: read it again once before giving up.
    const before = this.cookie
    const reread = await this.credentials(true)
    if (reread.ok && reread.value !== undefined && reread.value.password !== before?.password) {
      return this.attempt(method, params, options, reread)
    }
    return first
  }

  /**
   * `getblocktemplate {"rules":["segwit"]}` (plus "signet" on signet, which Core requires). With a
   * `longpollid` the node holds the answer until its tip changes (or, after a minute, its mempool
   * did), so pass a long timeout and `dedicatedConnection`.
   */
  async getBlockTemplate(
    request: { longpollid?: string; rules?: string[] } = {},
    options: CallOptions = {},
  ): Promise<RpcResult<BlockTemplate>> {
    const params: Record<string, unknown> = { rules: request.rules ?? ['segwit'] }
    if (request.longpollid !== undefined) params.longpollid = request.longpollid
    const r = await this.call('getblocktemplate', [params], { timeoutMs: TEMPLATE_TIMEOUT_MS, ...options })
    return r.ok ? this.parse('getblocktemplate', blockTemplateSchema, r.value) : r
  }

  /**
   * submitblock with the whole block in hex. The outcome says accepted / duplicate / inconclusive /
   * rejected (with the BIP22 reason). Transport errors are returned as-is: the caller must have
   * persisted the block first and may resubmit, since a resubmission answers "duplicate".
   */
  async submitBlock(blockHex: string, options: CallOptions = {}): Promise<RpcResult<SubmitOutcome>> {
    const r = await this.call('submitblock', [blockHex], { timeoutMs: SUBMIT_TIMEOUT_MS, ...options })
    if (!r.ok) return r
    const outcome = interpretSubmitResult(r.value)
    if (outcome === undefined) return this.badShape('submitblock', 'expected null or a reason string')
    return { ok: true, value: outcome }
  }

  async getBlockchainInfo(options: CallOptions = {}): Promise<RpcResult<BlockchainInfo>> {
    const r = await this.call('getblockchaininfo', [], options)
    return r.ok ? this.parse('getblockchaininfo', blockchainInfoSchema, r.value) : r
  }

  async getMiningInfo(options: CallOptions = {}): Promise<RpcResult<MiningInfo>> {
    const r = await this.call('getmininginfo', [], options)
    return r.ok ? this.parse('getmininginfo', miningInfoSchema, r.value) : r
  }

  /** Tip hash, display order. */
  async getBestBlockHash(options: CallOptions = {}): Promise<RpcResult<string>> {
    const r = await this.call('getbestblockhash', [], options)
    return r.ok ? this.parse('getbestblockhash', bestBlockHashSchema, r.value) : r
  }

  /** Hash of the active chain's block at `height`, or null if the chain is shorter. */
  async getBlockHash(height: number, options: CallOptions = {}): Promise<RpcResult<string | null>> {
    const r = await this.call('getblockhash', [height], options)
    // Core answers -8 "Block height out of range".
    if (!r.ok && r.error.details?.rpcCode === -8) return { ok: true, value: null }
    return r.ok ? this.parse('getblockhash', bestBlockHashSchema, r.value) : r
  }

  /**
   * Header facts for confirming a found block: `confirmations` ≥ 1 means on the active chain,
   * -1 means known but stale. null when the node does not know the hash.
   */
  async getBlockHeader(hash: string, options: CallOptions = {}): Promise<RpcResult<BlockHeaderInfo | null>> {
    const r = await this.call('getblockheader', [hash, true], options)
    if (!r.ok && r.error.details?.rpcCode === RPC_INVALID_ADDRESS_OR_KEY) return { ok: true, value: null }
    return r.ok ? this.parse('getblockheader', blockHeaderInfoSchema, r.value) : r
  }

  /**
   * Confirms a found block after submitblock (whose "inconclusive" or lost reply says little):
   * on the active chain, stale, or unknown to the node.
   */
  async confirmBlock(hash: string, options: CallOptions = {}): Promise<RpcResult<BlockConfirmation>> {
    const r = await this.getBlockHeader(hash, options)
    if (!r.ok) return r
    const header = r.value
    if (header === null) return { ok: true, value: { state: 'unknown' } }
    if (header.confirmations < 1) return { ok: true, value: { state: 'stale', height: header.height } }
    return { ok: true, value: { state: 'in-chain', height: header.height, confirmations: header.confirmations } }
  }

  /** The block's raw hex (verbosity 0), or null when the node does not know the hash. */
  async getBlockHex(hash: string, options: CallOptions = {}): Promise<RpcResult<string | null>> {
    const r = await this.call('getblock', [hash, 0], options)
    if (!r.ok && r.error.details?.rpcCode === RPC_INVALID_ADDRESS_OR_KEY) return { ok: true, value: null }
    if (!r.ok) return r
    if (typeof r.value !== 'string' || !/^(?:[0-9a-fA-F]{2})+$/.test(r.value)) {
      return this.badShape('getblock', 'expected the block as hex')
    }
    return { ok: true, value: r.value }
  }

  private parse<S extends z.ZodType>(method: string, schema: S, value: unknown): RpcResult<z.infer<S>> {
    const parsed = schema.safeParse(value)
    if (parsed.success) return { ok: true, value: parsed.data }
    const issue = parsed.error.issues[0]
    const where = issue === undefined ? '' : ` at ${issue.path.join('.') || 'result'}: ${issue.message}`
    return this.badShape(method, where.trim())
  }

  private badShape(method: string, why: string): { ok: false; error: NodeError } {
    return {
      ok: false,
      error: nodeError(
        'NODE_BAD_RESPONSE',
        `The node's answer to ${method} does not have the expected shape (${why}): is it a Bitcoin Core-compatible node?`,
        { method },
      ),
    }
  }

  /** Credentials to send; `undefined` value = send none. A cookie problem is kept for the 401 message. */
  private async credentials(reread: boolean): Promise<RpcResult<RpcCredentials | undefined>> {
    switch (this.authSource) {
      case 'config':
        return { ok: true, value: { user: this.config.user ?? '', password: this.config.password ?? '' } }
      case 'url':
        return { ok: true, value: { user: this.endpoint.user ?? '', password: this.endpoint.password ?? '' } }
      case 'none':
        return { ok: true, value: undefined }
      case 'cookie': {
        if (this.cookie !== undefined && !reread) return { ok: true, value: this.cookie }
        const r = await readCookieFile(this.config.cookieFile ?? '')
        if (r.ok) this.cookie = r.value
        return r
      }
    }
  }

  private async attempt(
    method: string,
    params: unknown[],
    options: CallOptions,
    credentials: RpcResult<RpcCredentials | undefined>,
  ): Promise<RpcResult<unknown>> {
    const id = this.nextId++
    const body = JSON.stringify({ jsonrpc: '1.0', id, method, params })
    const auth = credentials.ok ? credentials.value : undefined
    let answer = await this.post(method, body, auth, options, false)
    if (!answer.ok && answer.error.details?.reason === 'reset' && answer.error.details.errno === 'REUSED_SOCKET') {
      // A pooled keep-alive socket was closed by the node just as we reused it: retry once on a new one.
      answer = await this.post(method, body, auth, options, true)
    }
    if (!answer.ok) {
      if (answer.error.details?.errno === 'REUSED_SOCKET') {
        return { ok: false, error: describeTransportError(this.endpoint.display, { code: 'ECONNRESET' }, method) }
      }
      return answer
    }
    return this.interpret(method, id, answer.value, credentials)
  }

  private interpret(
    method: string,
    id: number,
    answer: HttpAnswer,
    credentials: RpcResult<RpcCredentials | undefined>,
  ): RpcResult<unknown> {
    const where = this.endpoint.display
    if (answer.status === 401) {
      const details = { httpStatus: 401, method }
      if (!credentials.ok) return { ok: false, error: { ...credentials.error, details } }
      const message =
        this.authSource === 'cookie'
          ? `The node at ${where} refused the cookie from ${this.config.cookieFile}: it belongs to another node or data directory.`
          : this.authSource === 'none'
            ? `The node at ${where} requires credentials: set the RPC user and password, or the path of its .cookie file.`
            : `The node at ${where} refused the RPC user name or password: check rpcuser/rpcpassword (or rpcauth) in bitcoin.conf.`
      return { ok: false, error: nodeError('NODE_AUTH', message, details) }
    }
    if (answer.status === 403) {
      return {
        ok: false,
        error: nodeError(
          'NODE_AUTH',
          `The node at ${where} refused this computer or this call: check rpcallowip (and rpcwhitelist) in bitcoin.conf.`,
          { httpStatus: 403, method },
        ),
      }
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(answer.body.toString('utf8'))
    } catch {
      if (answer.status === 503) {
        return {
          ok: false,
          error: nodeError(
            'NODE_RPC_ERROR',
            `The node at ${where} is too busy to answer (its RPC work queue is full).`,
            {
              httpStatus: 503,
              method,
            },
          ),
        }
      }
      return {
        ok: false,
        error: nodeError(
          'NODE_BAD_RESPONSE',
          `The answer from ${where} is not JSON-RPC (HTTP ${answer.status}): is this the node's RPC port?`,
          { httpStatus: answer.status, method },
        ),
      }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('result' in parsed)) {
      return {
        ok: false,
        error: nodeError('NODE_BAD_RESPONSE', `The answer from ${where} is not a JSON-RPC reply.`, {
          httpStatus: answer.status,
          method,
        }),
      }
    }
    const reply = parsed as { result: unknown; error?: unknown; id?: unknown }
    if (reply.error !== null && reply.error !== undefined) {
      const e = reply.error as { code?: unknown; message?: unknown }
      if (typeof e.code === 'number' && typeof e.message === 'string') {
        return { ok: false, error: rpcErrorToNodeError(method, e.code, e.message) }
      }
      return {
        ok: false,
        error: nodeError('NODE_BAD_RESPONSE', `The node answered ${method} with a malformed error.`, { method }),
      }
    }
    if (answer.status !== 200 || reply.id !== id) {
      return {
        ok: false,
        error: nodeError(
          'NODE_BAD_RESPONSE',
          `The answer from ${where} to ${method} does not match the request (HTTP ${answer.status}).`,
          { httpStatus: answer.status, method },
        ),
      }
    }
    return { ok: true, value: reply.result }
  }

  private post(
    method: string,
    body: string,
    auth: RpcCredentials | undefined,
    options: CallOptions,
    fresh: boolean,
  ): Promise<RpcResult<HttpAnswer>> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const where = this.endpoint.display
    return new Promise((resolve) => {
      let settled = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const headers: http.OutgoingHttpHeaders = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      }
      if (auth !== undefined) {
        headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`
      }
      const useDedicated = options.dedicatedConnection === true || fresh
      const req = http.request({
        host: this.endpoint.host,
        port: this.endpoint.port,
        path: this.endpoint.path,
        method: 'POST',
        headers,
        agent: useDedicated ? false : this.agent,
      })
      const finish = (r: RpcResult<HttpAnswer>): void => {
        if (settled) return
        settled = true
        if (timer !== undefined) clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
        resolve(r)
      }
      const fail = (error: NodeError): void => {
        finish({ ok: false, error })
        req.destroy()
      }
      const onAbort = (): void => fail(nodeError('NODE_CANCELLED', `The ${method} call was cancelled.`, { method }))
      if (options.signal?.aborted === true) {
        onAbort()
        return
      }
      options.signal?.addEventListener('abort', onAbort, { once: true })
      timer = setTimeout(() => fail(timeoutError(where, method, timeoutMs)), timeoutMs)
      req.on('error', (e) => {
        const errno = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : ''
        if (!fresh && req.reusedSocket && errno === 'ECONNRESET') {
          finish({
            ok: false,
            error: nodeError('NODE_UNREACHABLE', 'reused socket reset', { reason: 'reset', errno: 'REUSED_SOCKET' }),
          })
          return
        }
        finish({ ok: false, error: describeTransportError(where, e, method) })
      })
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > this.maxResponseBytes) {
            fail(
              nodeError(
                'NODE_BAD_RESPONSE',
                `The answer from ${where} to ${method} is larger than ${this.maxResponseBytes} bytes.`,
                { method },
              ),
            )
            return
          }
          chunks.push(chunk)
        })
        res.on('end', () => finish({ ok: true, value: { status: res.statusCode ?? 0, body: Buffer.concat(chunks) } }))
        res.on('error', (e) => finish({ ok: false, error: describeTransportError(where, e, method) }))
        res.on('aborted', () =>
          finish({ ok: false, error: describeTransportError(where, { code: 'ECONNRESET' }, method) }),
        )
      })
      req.end(body)
    })
  }
}
