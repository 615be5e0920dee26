/**
 * The pool's settings: stored as one JSON row (pool_config), validated on the way in
 * (`applyPatch`, precise messages) and on the way out (a damaged row falls back to defaults per
 * field). The node's RPC password is not here: it lives in the SecretStore under
 * `POOL_PASSWORD_REF`, and the API only ever says `hasPassword`.
 */
import { z } from 'zod'
import type { PoolSettingsPatch } from '../../shared/contract/pool'
import { type AppError, appError, type Result } from '../../shared/errors'
import { decodePayoutAddress } from '../bitcoin/address'
import { parseNodeEndpoint } from '../node/endpoint'
import type { Database } from '../store/sqlite'
import { DEFAULT_VARDIFF } from '../stratum'

export const POOL_PASSWORD_REF = 'pool.node.password'

const NetworkSchema = z.enum(['mainnet', 'testnet', 'testnet4', 'signet', 'regtest'])

const StoredSchema = z.object({
  enabled: z.boolean().catch(false),
  node: z
    .object({
      url: z.string().catch(''),
      user: z.string().nullable().catch(null),
      cookieFile: z.string().nullable().catch(null),
    })
    .catch({ url: '', user: null, cookieFile: null }),
  network: NetworkSchema.catch('mainnet'),
  payoutAddress: z.string().nullable().catch(null),
  coinbaseTag: z.string().max(64).catch('/Hashyard/'),
  host: z.string().min(1).catch('0.0.0.0'),
  port: z.number().int().min(1).max(65_535).catch(3333),
  tls: z
    .object({
      enabled: z.boolean().catch(false),
      port: z.number().int().min(1).max(65_535).catch(4333),
    })
    .catch({ enabled: false, port: 4333 }),
  extranonce2Size: z.number().int().min(2).max(8).catch(4),
  vardiff: z
    .object({
      targetShareIntervalS: z.number().positive().catch(DEFAULT_VARDIFF.targetShareIntervalS),
      minDifficulty: z.number().positive().catch(DEFAULT_VARDIFF.minDifficulty),
      maxDifficulty: z.number().positive().catch(DEFAULT_VARDIFF.maxDifficulty),
      startDifficulty: z.number().positive().catch(DEFAULT_VARDIFF.startDifficulty),
    })
    .catch({
      targetShareIntervalS: DEFAULT_VARDIFF.targetShareIntervalS,
      minDifficulty: DEFAULT_VARDIFF.minDifficulty,
      maxDifficulty: DEFAULT_VARDIFF.maxDifficulty,
      startDifficulty: DEFAULT_VARDIFF.startDifficulty,
    }),
  allowMinerPayout: z.boolean().catch(false),
  templateRefreshS: z.number().min(5).max(600).catch(30),
})

export type PoolConfig = z.infer<typeof StoredSchema>

export function defaultPoolConfig(): PoolConfig {
  return StoredSchema.parse({})
}

export function isConfigured(c: PoolConfig): boolean {
  return c.node.url !== '' && c.payoutAddress !== null
}

export class PoolConfigRepo {
  constructor(private readonly db: Database) {}

  load(): PoolConfig {
    const row = this.db.prepare('SELECT value_json FROM pool_config WHERE id = 1').get() as
      | { value_json: string }
      | undefined
    if (!row) return defaultPoolConfig()
    let raw: unknown
    try {
      raw = JSON.parse(row.value_json)
    } catch {
      // A damaged row: the defaults stand (the pool is then "not configured" and says so).
      raw = {}
    }
    return StoredSchema.parse(typeof raw === 'object' && raw !== null ? raw : {})
  }

  save(c: PoolConfig): void {
    this.db
      .prepare(
        'INSERT INTO pool_config (id, value_json, updated_at_ms) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET value_json = excluded.value_json, updated_at_ms = excluded.updated_at_ms',
      )
      .run(JSON.stringify(c), Date.now())
  }
}

export interface PatchOutcome {
  config: PoolConfig
  /** undefined = keep the stored password; null = remove it; string = store it. */
  password: string | null | undefined
  changed: {
    node: boolean
    payout: boolean
    listener: boolean
    refresh: boolean
  }
}

const invalid = (message: string, field: string, code?: string): Result<never, AppError> => ({
  ok: false,
  error: appError('INVALID_PARAMS', message, code === undefined ? { field } : { field, code }),
})

/**
 * Merges a patch over the current settings and checks the result as a whole. Messages name the
 * field and say what to do. `hasPassword` is whether a password is stored now.
 */
export function applyPatch(
  current: PoolConfig,
  patch: PoolSettingsPatch,
  hasPassword: boolean,
): Result<PatchOutcome, AppError> {
  const next: PoolConfig = structuredClone(current)
  if (patch.node) {
    if (patch.node.url !== undefined) next.node.url = patch.node.url.trim()
    if (patch.node.user !== undefined) next.node.user = patch.node.user
    if (patch.node.cookieFile !== undefined) next.node.cookieFile = patch.node.cookieFile
  }
  if (patch.network !== undefined) next.network = patch.network
  if (patch.payoutAddress !== undefined) {
    next.payoutAddress = patch.payoutAddress === null ? null : patch.payoutAddress.trim()
  }
  if (patch.coinbaseTag !== undefined) next.coinbaseTag = patch.coinbaseTag
  if (patch.host !== undefined) next.host = patch.host.trim()
  if (patch.port !== undefined) next.port = patch.port
  if (patch.tls?.enabled !== undefined) next.tls.enabled = patch.tls.enabled
  if (patch.tls?.port !== undefined) next.tls.port = patch.tls.port
  if (patch.extranonce2Size !== undefined) next.extranonce2Size = patch.extranonce2Size
  if (patch.vardiff) Object.assign(next.vardiff, stripUndefined(patch.vardiff))
  if (patch.allowMinerPayout !== undefined) next.allowMinerPayout = patch.allowMinerPayout
  if (patch.templateRefreshS !== undefined) next.templateRefreshS = patch.templateRefreshS

  if (next.node.url !== '') {
    const ep = parseNodeEndpoint(next.node.url, next.network)
    if (!ep.ok) return invalid(`Node URL: ${ep.error.message}`, 'node.url')
  }
  const password = patch.node?.password
  const willHavePassword = password === undefined ? hasPassword : password !== null
  if (next.node.user !== null && !willHavePassword) {
    return invalid(
      'Node RPC: a user needs its password (rpcpassword). Set both, or clear the user to use the cookie file.',
      'node.password',
    )
  }
  if (next.node.user === null && password !== undefined && password !== null) {
    return invalid('Node RPC: a password needs its user (rpcuser). Set both.', 'node.user')
  }
  if (next.payoutAddress !== null) {
    const d = decodePayoutAddress(next.payoutAddress, next.network)
    if (!d.ok) return invalid(d.message, 'payoutAddress', d.code)
  }
  if (!/^[0-9A-Za-z.:-]+$/.test(next.host)) {
    return invalid(
      `Listen address "${next.host}" is not an IP address or host name (0.0.0.0 = every interface).`,
      'host',
    )
  }
  if (next.tls.enabled && next.tls.port === next.port) {
    return invalid(`The TLS port must differ from the stratum port (${next.port}).`, 'tls.port')
  }
  const v = next.vardiff
  if (v.minDifficulty > v.maxDifficulty) {
    return invalid(
      `Vardiff: the minimum difficulty (${v.minDifficulty}) is above the maximum (${v.maxDifficulty}).`,
      'vardiff.minDifficulty',
    )
  }
  if (v.startDifficulty < v.minDifficulty || v.startDifficulty > v.maxDifficulty) {
    return invalid(
      `Vardiff: the start difficulty (${v.startDifficulty}) must lie between the minimum (${v.minDifficulty}) and the maximum (${v.maxDifficulty}).`,
      'vardiff.startDifficulty',
    )
  }
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)
  return {
    ok: true,
    value: {
      config: next,
      password,
      changed: {
        node: !same(current.node, next.node) || current.network !== next.network || password !== undefined,
        payout:
          current.payoutAddress !== next.payoutAddress ||
          current.coinbaseTag !== next.coinbaseTag ||
          current.network !== next.network,
        listener:
          current.host !== next.host ||
          current.port !== next.port ||
          !same(current.tls, next.tls) ||
          current.extranonce2Size !== next.extranonce2Size ||
          !same(current.vardiff, next.vardiff) ||
          current.allowMinerPayout !== next.allowMinerPayout ||
          current.network !== next.network,
        refresh: current.templateRefreshS !== next.templateRefreshS,
      },
    },
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
