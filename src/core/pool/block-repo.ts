/**
 * Found blocks. A block is written with its full hex BEFORE it is submitted (research §3.6): a
 * crash, a node that is down or an RPC error can then never lose it, and a later pool start
 * submits what is still pending.
 */
import type { PoolBlock } from '../../shared/contract/pool'
import type { Database } from '../store/sqlite'

export type SubmitStatus = PoolBlock['submit']['status']
export type ConfirmationState = PoolBlock['confirmation']['state']

export interface FoundBlockInput {
  foundAtMs: number
  height: number
  hashHex: string
  worker: string
  remoteAddress: string
  userAgent: string
  staleShare: boolean
  coinbaseValueSats: number
  blockHex: string
}

interface Row {
  id: number
  found_at_ms: number
  height: number
  hash: string
  worker: string
  remote_address: string
  user_agent: string
  stale_share: number
  coinbase_value_sats: number
  submit_status: SubmitStatus
  submit_reason: string | null
  submit_message: string | null
  submit_attempts: number
  submitted_at_ms: number | null
  confirmation: ConfirmationState
  confirmations: number | null
  checked_at_ms: number | null
}

const COLUMNS = `id, found_at_ms, height, hash, worker, remote_address, user_agent, stale_share, coinbase_value_sats,
  submit_status, submit_reason, submit_message, submit_attempts, submitted_at_ms, confirmation, confirmations, checked_at_ms`

function view(r: Row): PoolBlock {
  return {
    id: r.id,
    foundAtMs: r.found_at_ms,
    height: r.height,
    hashHex: r.hash,
    worker: r.worker,
    remoteAddress: r.remote_address,
    userAgent: r.user_agent,
    staleShare: r.stale_share !== 0,
    coinbaseValueSats: r.coinbase_value_sats,
    submit: {
      status: r.submit_status,
      reason: r.submit_reason,
      message: r.submit_message,
      attempts: r.submit_attempts,
      atMs: r.submitted_at_ms,
    },
    confirmation: { state: r.confirmation, confirmations: r.confirmations, checkedAtMs: r.checked_at_ms },
  }
}

export class BlockRepo {
  constructor(private readonly db: Database) {}

  /** Records a found block (pending submit). Returns its id; an already-known hash returns the existing id. */
  insertFound(b: FoundBlockInput): number {
    const existing = this.db.prepare('SELECT id FROM pool_blocks WHERE hash = ?').get(b.hashHex) as
      | { id: number }
      | undefined
    if (existing) return existing.id
    const r = this.db
      .prepare(
        `INSERT INTO pool_blocks (found_at_ms, height, hash, worker, remote_address, user_agent, stale_share,
          coinbase_value_sats, block_hex, submit_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
      )
      .run(
        b.foundAtMs,
        b.height,
        b.hashHex,
        b.worker,
        b.remoteAddress,
        b.userAgent,
        b.staleShare ? 1 : 0,
        b.coinbaseValueSats,
        b.blockHex,
      )
    return Number(r.lastInsertRowid)
  }

  setSubmit(id: number, status: SubmitStatus, reason: string | null, message: string | null, atMs: number): void {
    this.db
      .prepare(
        `UPDATE pool_blocks SET submit_status = ?, submit_reason = ?, submit_message = ?,
          submit_attempts = submit_attempts + 1, submitted_at_ms = ? WHERE id = ?`,
      )
      .run(status, reason, message, atMs, id)
  }

  setConfirmation(id: number, state: ConfirmationState, confirmations: number | null, atMs: number): void {
    this.db
      .prepare('UPDATE pool_blocks SET confirmation = ?, confirmations = ?, checked_at_ms = ? WHERE id = ?')
      .run(state, confirmations, atMs, id)
  }

  get(id: number): PoolBlock | undefined {
    const r = this.db.prepare(`SELECT ${COLUMNS} FROM pool_blocks WHERE id = ?`).get(id) as Row | undefined
    return r ? view(r) : undefined
  }

  list(limit: number): PoolBlock[] {
    const rows = this.db.prepare(`SELECT ${COLUMNS} FROM pool_blocks ORDER BY id DESC LIMIT ?`).all(limit) as Row[]
    return rows.map(view)
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM pool_blocks').get() as { n: number }).n
  }

  blockHex(id: number): string | undefined {
    const r = this.db.prepare('SELECT block_hex FROM pool_blocks WHERE id = ?').get(id) as
      | { block_hex: string }
      | undefined
    return r?.block_hex
  }

  /** Blocks whose submit never got an answer from the node (pending or error), found since `sinceMs`. */
  unsubmitted(sinceMs: number): PoolBlock[] {
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS} FROM pool_blocks WHERE submit_status IN ('pending', 'error') AND found_at_ms >= ? ORDER BY id`,
      )
      .all(sinceMs) as Row[]
    return rows.map(view)
  }

  /** Submitted blocks whose place in the chain is worth checking again (fewer than `maxConfirmations`). */
  toConfirm(sinceMs: number, maxConfirmations: number, limit: number): PoolBlock[] {
    const rows = this.db
      .prepare(
        `SELECT ${COLUMNS} FROM pool_blocks WHERE submit_status IN ('accepted', 'duplicate', 'inconclusive')
          AND found_at_ms >= ? AND (confirmations IS NULL OR confirmations < ?) ORDER BY id DESC LIMIT ?`,
      )
      .all(sinceMs, maxConfirmations, limit) as Row[]
    return rows.map(view)
  }
}
