/**
 * Stratum V1 inbound codec: a line framer plus JSON-RPC envelope decoder, pure and transport-free
 * (the node-postgres `pg-protocol` shape). Feed it bytes exactly as the socket delivered them —
 * split or coalesced anyhow — and it emits one typed item per line, either a decoded message or a
 * typed error with a stable code. It never touches a socket and never buffers more than
 * `maxLineBytes` (an over-long line is reported once and then skipped up to its newline).
 *
 * Security: everything here is attacker-controlled input from the LAN. No input can throw out of
 * `push`; the only state is the partial line, bounded by `maxLineBytes`.
 */
import { isUtf8 } from 'node:buffer'

/** Stable error codes, in the style of `ws` (`WS_ERR_…`): safe to match on in code and tests. */
export type StratumCodecErrorCode =
  /** A line (or the unterminated tail) exceeded `maxLineBytes`. */
  | 'STRATUM_LINE_TOO_LONG'
  /** The line is not valid UTF-8 (binary garbage, a truncated multibyte sequence). */
  | 'STRATUM_BAD_UTF8'
  /** The line is not JSON. */
  | 'STRATUM_BAD_JSON'
  /** The line is JSON but not an object (`[1,2]`, `"x"`, `42`, `null`). */
  | 'STRATUM_NOT_AN_OBJECT'
  /** An object with neither a usable `method` nor a `result`/`error` (so neither request nor response). */
  | 'STRATUM_BAD_METHOD'
  /** `id` is an object, array, boolean or an over-long string: nothing we could echo safely. */
  | 'STRATUM_BAD_ID'
  /** `params` is present but not an array. */
  | 'STRATUM_BAD_PARAMS'
  /** The first bytes of the stream are a TLS ClientHello: the miner speaks stratum+ssl to a plain port. */
  | 'STRATUM_TLS_ON_PLAIN_PORT'

export type RpcId = number | string | null

/** A request or notification from the miner (`id: null` = notification, never answered). */
export interface RpcRequest {
  kind: 'request'
  id: RpcId
  method: string
  params: unknown[]
}

/** A reply from the miner to something we asked (`mining.ping`, `client.get_version`). */
export interface RpcResponse {
  kind: 'response'
  id: RpcId
  result: unknown
  error: unknown
}

export type RpcMessage = RpcRequest | RpcResponse

export interface StratumCodecError {
  kind: 'error'
  code: StratumCodecErrorCode
  message: string
  /** Present when the envelope was readable enough to answer this id with an error reply. */
  id?: RpcId
  /** Length in bytes of the offending line (for over-long lines: bytes seen when the limit tripped). */
  lineBytes: number
}

export type DecodedItem = RpcMessage | StratumCodecError

export interface LineDecoderOptions {
  /** Longest accepted line in bytes, excluding the line terminator. Default 16 KiB (issue 8 §9). */
  maxLineBytes?: number
  /** Longest string `id` echoed back. Default 64. */
  maxIdChars?: number
  /** Longest `method` name. Default 64. */
  maxMethodChars?: number
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024

const LF = 0x0a
const CR = 0x0d

export class LineDecoder {
  readonly maxLineBytes: number
  private readonly maxIdChars: number
  private readonly maxMethodChars: number
  /** Bytes of an unterminated line carried over from earlier chunks (always ≤ maxLineBytes). */
  private pending: Buffer | null = null
  /** True while skipping the rest of an over-long line up to its newline. */
  private discarding = false
  private sawFirstByte = false

  constructor(opts: LineDecoderOptions = {}) {
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES
    this.maxIdChars = opts.maxIdChars ?? 64
    this.maxMethodChars = opts.maxMethodChars ?? 64
  }

  /** Bytes currently held for an unterminated line. */
  get bufferedBytes(): number {
    return this.pending === null ? 0 : this.pending.length
  }

  /** Drops any partial line (e.g. when the server resets a connection's state). */
  reset(): void {
    this.pending = null
    this.discarding = false
  }

  /**
   * Consumes one chunk and calls `emit` once per complete line, in order. Empty and
   * whitespace-only lines are skipped silently (some firmware sends bare `\n` keepalives).
   */
  push(chunk: Buffer, emit: (item: DecodedItem) => void): void {
    if (chunk.length === 0) return
    if (!this.sawFirstByte) {
      this.sawFirstByte = true
      // TLS record header: content type 22 (handshake), major version 3.
      if (chunk[0] === 0x16 && (chunk.length < 2 || chunk[1] === 0x03)) {
        this.discarding = true
        emit({
          kind: 'error',
          code: 'STRATUM_TLS_ON_PLAIN_PORT',
          message: 'received a TLS handshake on the plain stratum port (the miner is set to stratum+ssl)',
          lineBytes: chunk.length,
        })
        return
      }
    }

    let start = 0
    if (this.discarding) {
      const nl = chunk.indexOf(LF)
      if (nl < 0) return
      this.discarding = false
      start = nl + 1
    }

    const buf = chunk
    if (this.pending !== null) {
      const nl = chunk.indexOf(LF, start)
      if (nl < 0) {
        // Still no line end: only keep it if the whole line stays within the limit.
        const total = this.pending.length + chunk.length - start
        if (total > this.maxLineBytes) {
          this.tooLong(total, emit)
          return
        }
        this.pending = Buffer.concat([this.pending, chunk.subarray(start)])
        return
      }
      const pending = this.pending
      this.pending = null
      const total = pending.length + nl - start
      if (total > this.maxLineBytes + 1) {
        // +1 leaves room for a trailing '\r'; line() applies the exact limit.
        emit({ ...tooLongError(this.maxLineBytes), lineBytes: total })
      } else {
        // Join only the straddling line, never the whole chunk.
        const joined = Buffer.concat([pending, chunk.subarray(start, nl)])
        this.line(joined, 0, joined.length, emit)
      }
      start = nl + 1
    }

    for (;;) {
      const nl = buf.indexOf(LF, start)
      if (nl < 0) break
      this.line(buf, start, nl, emit)
      start = nl + 1
    }

    const rest = buf.length - start
    if (rest === 0) return
    if (rest > this.maxLineBytes) {
      this.tooLong(rest, emit)
      return
    }
    // Copy so a small tail does not pin a large socket chunk in memory.
    this.pending = Buffer.from(buf.subarray(start))
  }

  private tooLong(seenBytes: number, emit: (item: DecodedItem) => void): void {
    this.pending = null
    this.discarding = true
    emit({ ...tooLongError(this.maxLineBytes), lineBytes: seenBytes })
  }

  /** Decodes buf[start, end) — the bytes before a `\n`. */
  private line(buf: Buffer, start: number, end: number, emit: (item: DecodedItem) => void): void {
    if (end > start && buf[end - 1] === CR) end--
    const len = end - start
    if (len > this.maxLineBytes) {
      emit({ ...tooLongError(this.maxLineBytes), lineBytes: len })
      return
    }
    // Skip blank lines without allocating.
    let i = start
    while (i < end && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === CR)) i++
    if (i === end) return

    const bytes = buf.subarray(start, end)
    if (!isUtf8(bytes)) {
      emit({ kind: 'error', code: 'STRATUM_BAD_UTF8', message: 'line is not valid UTF-8', lineBytes: len })
      return
    }
    if (buf[i] !== 0x7b /* { */) {
      // Cheap reject before JSON.parse: every stratum message is an object (DATUM does the same).
      const code = buf[i] === 0x5b || buf[i] === 0x22 || isJsonScalarStart(buf[i]!) ? notObjectOrBadJson(bytes) : null
      emit(
        code === 'STRATUM_NOT_AN_OBJECT'
          ? { kind: 'error', code, message: 'message is not a JSON object', lineBytes: len }
          : { kind: 'error', code: 'STRATUM_BAD_JSON', message: 'line is not JSON', lineBytes: len },
      )
      return
    }
    let value: unknown
    try {
      value = JSON.parse(bytes.toString('utf8'))
    } catch {
      emit({ kind: 'error', code: 'STRATUM_BAD_JSON', message: 'line is not JSON', lineBytes: len })
      return
    }
    emit(this.envelope(value, len))
  }

  private envelope(value: unknown, len: number): DecodedItem {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { kind: 'error', code: 'STRATUM_NOT_AN_OBJECT', message: 'message is not a JSON object', lineBytes: len }
    }
    const o = value as Record<string, unknown>
    const rawId = o.id
    let id: RpcId
    if (rawId === undefined || rawId === null) id = null
    else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = rawId
    else if (typeof rawId === 'string' && rawId.length <= this.maxIdChars) id = rawId
    else {
      return {
        kind: 'error',
        code: 'STRATUM_BAD_ID',
        message: 'id must be a number, a short string or null',
        lineBytes: len,
      }
    }

    const method = o.method
    if (method === undefined || method === null) {
      if ('result' in o || 'error' in o) return { kind: 'response', id, result: o.result, error: o.error ?? null }
      return { kind: 'error', code: 'STRATUM_BAD_METHOD', message: 'message has no method', id, lineBytes: len }
    }
    if (typeof method !== 'string' || method.length === 0 || method.length > this.maxMethodChars) {
      return {
        kind: 'error',
        code: 'STRATUM_BAD_METHOD',
        message: 'method must be a short non-empty string',
        id,
        lineBytes: len,
      }
    }
    const params = o.params
    if (params === undefined || params === null) return { kind: 'request', id, method, params: [] }
    if (!Array.isArray(params)) {
      return { kind: 'error', code: 'STRATUM_BAD_PARAMS', message: 'params must be an array', id, lineBytes: len }
    }
    return { kind: 'request', id, method, params }
  }
}

function tooLongError(maxLineBytes: number): StratumCodecError {
  return {
    kind: 'error',
    code: 'STRATUM_LINE_TOO_LONG',
    message: `line longer than ${maxLineBytes} bytes`,
    lineBytes: maxLineBytes + 1,
  }
}

function isJsonScalarStart(b: number): boolean {
  // digits, '-', 't'rue, 'f'alse, 'n'ull
  return (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x74 || b === 0x66 || b === 0x6e
}

/** Distinguishes valid non-object JSON (`[1]`, `42`) from garbage, for a precise error code. */
function notObjectOrBadJson(bytes: Buffer): StratumCodecErrorCode {
  try {
    JSON.parse(bytes.toString('utf8'))
    return 'STRATUM_NOT_AN_OBJECT'
  } catch {
    return 'STRATUM_BAD_JSON'
  }
}
