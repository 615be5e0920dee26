/**
 * MicroBT Whatsminer (btminer). API v3 (TCP 4433, firmware from late 2024) when it answers,
 * otherwise API v2 (TCP 4028) — MicroBT's MDK probes v3 first the same way (research §4.3).
 * Reads need no login. Writes are signed: v2 with an md5crypt token and an AES-encrypted command,
 * v3 with a SHA-256 token and (for pools) an AES-encrypted param. The API must be enabled on the
 * miner; a refusal says so. A write is never retried on a timeout; an explicit "token expired"
 * (v2 code 135) gets one fresh token, since the command was not executed.
 */

import type { AppError } from '../../../shared/errors'
import { ok, type Result } from '../../../shared/errors'
import { cgminerCommand, cgminerMulti, cgminerRaw } from '../cgminer/client'
import { checkStatus, readStatus } from '../cgminer/codec'
import { rpcTarget, validatePools } from '../cgminer/driver'
import { deviceErr } from '../device-error'
import { newNotes } from '../field-map'
import type {
  DeviceCredentials,
  DeviceEndpoint,
  DeviceIdentity,
  DeviceResult,
  DriverCapabilities,
  DriverOptions,
  MinerDriver,
  PoolTarget,
} from '../types'
import { type Target, v2Encrypted, v3Call } from './client'
import { checkV3, parseV2TokenReply, type V2Token, V3_PORT, v2Token, v3WriteRequest } from './codec'
import { v2Boards, v2Identity, v2Status, v3Identity, v3Status } from './normalise'

/** v2 admin password as shipped; v3 pyasic default account (the MDK notes `admin` is common too). */
export const WHATSMINER_V2_DEFAULT: DeviceCredentials = { username: 'admin', password: 'admin' }
export const WHATSMINER_V3_DEFAULT: DeviceCredentials = { username: 'super', password: 'super' }

/** Tokens live 30 minutes on the miner; refresh a little earlier. */
const V2_TOKEN_TTL_MS = 25 * 60 * 1000

const v3Target = (e: DeviceEndpoint): Target => ({ host: e.host, port: e.v3Port ?? V3_PORT })
const v2Target = (e: DeviceEndpoint): Target => {
  const t = rpcTarget(e)
  return { host: t.host, port: t.port ?? 4028 }
}

/** Tries v3 `get.device.info`, then v2 `summary` + `get_version`. */
export async function detectWhatsminer(
  endpoint: DeviceEndpoint,
  opts: DriverOptions = {},
): Promise<DeviceResult<DeviceIdentity>> {
  const timeoutMs = opts.timeoutMs ?? 5000
  const notes = newNotes()
  const info = await v3Call(v3Target(endpoint), { cmd: 'get.device.info' }, timeoutMs)
  if (info.ok && checkV3('get.device.info', info.value).ok) {
    const id = v3Identity(info.value, notes)
    return ok({
      vendor: 'whatsminer',
      endpoint: { ...endpoint, v3Port: endpoint.v3Port ?? V3_PORT },
      ...id,
    })
  }
  const target = v2Target(endpoint)
  const summary = await cgminerCommand(target, { command: 'summary' }, { timeoutMs })
  if (!summary.ok) return summary
  const version = await cgminerRaw(target, { command: 'get_version' }, { timeoutMs })
  const details = await cgminerCommand(target, { command: 'devdetails' }, { timeoutMs })
  const model = details.ok
    ? (((details.value.DEVDETAILS as unknown[] | undefined)?.[0] as { Model?: unknown })?.Model ?? null)
    : null
  const id = v2Identity(summary.value, version.ok ? version.value : null, notes)
  const { v3Port: _unused, ...v2Endpoint } = endpoint
  return ok({
    vendor: 'whatsminer',
    endpoint: v2Endpoint,
    model: typeof model === 'string' ? model : null,
    firmware: id.firmware,
    mac: id.mac,
    hostname: null,
    serial: null,
  })
}

function v2Driver(identity: DeviceIdentity, opts: DriverOptions): MinerDriver {
  const target = v2Target(identity.endpoint)
  const timeoutMs = opts.timeoutMs ?? 5000
  const creds = opts.credentials ?? WHATSMINER_V2_DEFAULT
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'toggle',
    afterPoolWrite: 'verify-then-reboot',
  }
  let cached: { token: V2Token; atMs: number } | undefined

  const token = async (fresh: boolean): Promise<Result<V2Token, AppError>> => {
    if (!fresh && cached && Date.now() - cached.atMs < V2_TOKEN_TTL_MS) return ok(cached.token)
    const reply = await cgminerRaw(target, { command: 'get_token', extra: { cmd: 'get_token' } }, { timeoutMs })
    if (!reply.ok) return reply
    const input = parseV2TokenReply(reply.value)
    if (!input.ok) return input
    const t = v2Token(creds.password, input.value)
    cached = { token: t, atMs: Date.now() }
    return ok(t)
  }

  /** One privileged command; one fresh-token retry on code 135 (expired), never on a timeout. */
  const privileged = async (command: Record<string, string>, allowEmpty = false): Promise<DeviceResult<void>> => {
    for (const fresh of [false, true]) {
      const t = await token(fresh)
      if (!t.ok) return t
      const reply = await v2Encrypted(target, command, t.value, { timeoutMs: Math.max(timeoutMs, 10_000), allowEmpty })
      if (!reply.ok) return reply
      const st = readStatus(reply.value)
      if (st.code === 135 && !fresh) continue
      if (/can't access write cmd/i.test(st.msg))
        return deviceErr('ACCESS_DENIED', 'The Whatsminer write API is disabled; enable it with WhatsMinerTool')
      // Code 23 (JSON error) to an encrypted command means the miner could not decrypt it: the
      // key comes from the admin password, so a wrong password looks exactly like this (inferred).
      if (st.code === 23)
        return deviceErr('AUTH_FAILED', 'The Whatsminer could not decrypt the command: wrong admin password?')
      if (st.code === 45 || st.code === 132 || st.code === 136)
        return deviceErr('AUTH_FAILED', `Whatsminer refused ${command.cmd}: ${st.msg || 'permission denied'}`, {
          code: st.code,
        })
      if (st.severity === 'UNKNOWN' && allowEmpty) return ok(undefined)
      const checked = checkStatus(command.cmd ?? 'command', reply.value)
      return checked.ok ? ok(undefined) : checked
    }
    return deviceErr('AUTH_FAILED', 'The Whatsminer token kept expiring')
  }

  return {
    identity,
    capabilities,
    async read() {
      const multi = await cgminerMulti(target, ['summary', 'pools', 'edevs'], { timeoutMs })
      if (!multi.ok) return multi
      const { summary, pools, edevs } = multi.value
      if (!summary?.ok) return summary ?? deviceErr('BAD_REPLY', 'No summary')
      const notes = newNotes()
      const st = v2Status(summary.value, pools?.ok ? pools.value : null, notes, Date.now())
      if (pools && !pools.ok) st.warnings.push(`pools: ${pools.error.message}`)
      // Older firmware has no `edevs`; boards are then simply not reported.
      if (edevs?.ok) st.boards = v2Boards(edevs.value, notes)
      return ok(st)
    },
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      const cmd: Record<string, string> = { cmd: 'update_pools' }
      for (let i = 0; i < 3; i++) {
        const p: PoolTarget | undefined = pools[i]
        cmd[`pool${i + 1}`] = p?.url ?? ''
        cmd[`worker${i + 1}`] = p?.user ?? ''
        cmd[`passwd${i + 1}`] = p?.password ?? ''
      }
      return privileged(cmd)
    },
    reboot: () => privileged({ cmd: 'reboot' }, true),
    locate: (on) =>
      // pyasic's set_led: a red blink pattern, or back to automatic.
      privileged(
        on
          ? { cmd: 'set_led', color: 'red', period: '60', duration: '20', start: '0' }
          : { cmd: 'set_led', param: 'auto' },
      ),
  }
}

function v3Driver(identity: DeviceIdentity, opts: DriverOptions): MinerDriver {
  const target = v3Target(identity.endpoint)
  const timeoutMs = opts.timeoutMs ?? 5000
  const creds = opts.credentials ?? WHATSMINER_V3_DEFAULT
  const capabilities: DriverCapabilities = {
    setPools: true,
    maxPools: 3,
    reboot: true,
    locate: 'none',
    afterPoolWrite: 'verify-then-reboot',
  }
  let salt: string | undefined

  const call = async (msg: Record<string, unknown>): Promise<Result<Record<string, unknown>, AppError>> => {
    const r = await v3Call(target, msg, timeoutMs)
    return r.ok ? checkV3(String(msg.cmd), r.value) : r
  }

  const write = async (cmd: string, param: unknown, encrypt: boolean): Promise<DeviceResult<void>> => {
    if (salt === undefined) {
      const s = await call({ cmd: 'get.device.info', param: 'salt' })
      if (!s.ok) return s
      const v = (s.value.msg as { salt?: unknown } | undefined)?.salt
      if (typeof v !== 'string') return deviceErr('BAD_REPLY', 'get.device.info gave no salt')
      salt = v
    }
    const req = v3WriteRequest(
      cmd,
      param,
      { account: creds.username, password: creds.password, salt, ts: Math.floor(Date.now() / 1000) },
      encrypt,
    )
    const r = await call(req)
    if (!r.ok) {
      // The salt may have changed (MDK clears it on −4); the next write fetches it again.
      salt = undefined
      return r
    }
    return ok(undefined)
  }

  return {
    identity,
    capabilities,
    async read() {
      const summary = await call({ cmd: 'get.miner.status', param: 'summary' })
      if (!summary.ok) return summary
      const pools = await call({ cmd: 'get.miner.status', param: 'pools' })
      const edevs = await call({ cmd: 'get.miner.status', param: 'edevs' })
      const notes = newNotes()
      const st = v3Status(
        summary.value,
        pools.ok ? pools.value : null,
        edevs.ok ? edevs.value : null,
        notes,
        Date.now(),
      )
      if (!pools.ok) st.warnings.push(`pools: ${pools.error.message}`)
      return ok(st)
    },
    async setPools(pools) {
      const valid = validatePools(pools, capabilities.maxPools)
      if (!valid.ok) return valid
      return write(
        'set.miner.pools',
        pools.map((p) => ({ pool: p.url, worker: p.user, passwd: p.password })),
        true,
      )
    },
    reboot: () => write('set.system.reboot', undefined, false),
    locate: async () => deviceErr('NOT_SUPPORTED', 'Locate over Whatsminer API v3 is not supported yet'),
  }
}

export function createWhatsminerDriver(identity: DeviceIdentity, opts: DriverOptions = {}): MinerDriver {
  return identity.endpoint.v3Port !== undefined ? v3Driver(identity, opts) : v2Driver(identity, opts)
}
