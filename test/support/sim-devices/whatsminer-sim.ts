/**
 * A simulated Whatsminer. API v2 on a cgminer-style socket (captured `summary`, `pools`,
 * `get_version` replies), the v2 token exchange and AES-encrypted writes; API v3 on a
 * length-framed socket (captured `get.device.info` and `get.miner.status` replies) with signed,
 * encrypted `set.miner.pools`; and the web UI's 307 redirect to https that identifies the vendor.
 *
 * The crypto here is written from the research notes with Node's own AES and SHA-256, not the
 * client's helpers, so a client bug cannot hide behind the same bug in the sim. md5crypt is
 * shared: it is checked against OpenSSL vectors on its own.
 *
 * Sim-only values (no capture exists): the `get_token` salts and time, the reply codes for a
 * wrong token (45) and an expired token (135, as the MDK names it), and the v3 write reply.
 */
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto'
import net from 'node:net'
import { md5cryptHash } from '../../../src/core/devices/whatsminer/md5crypt'
import { type CgminerSim, startCgminerSim } from './cgminer-sim'
import { fixtureText } from './fixtures'
import { type HttpSim, startHttpSim } from './http-sim'

export interface WhatsminerSimOptions {
  host?: string
  /** v2 admin password. Default 'admin'. */
  password?: string
  /** v3 account and password. Default super/super. */
  v3Account?: string
  v3Password?: string
  /** Start the v3 (4433-style) server. */
  v3?: boolean
  /** Start the v2 server. Default true. */
  v2?: boolean
  /** Answer the first encrypted command with code 135 (token expired). */
  expireFirstToken?: boolean
  ports?: { http?: number; rpc?: number; v3?: number }
}

export interface WhatsminerSim {
  rpc: CgminerSim | undefined
  http: HttpSim
  v3Port: number
  /** Every decrypted v2 command and v3 write param, as the firmware would see them. */
  decrypted: unknown[]
  pools: { url: string; user: string; pass: string }[]
  reboots: number
  tokensIssued: number
  close(): Promise<void>
}

const TOKEN = { time: '1761064196', salt: 'BQ5hoXV9', newsalt: 'nEw5aLt7' }
const V3_SALT = 'uhCiDyVj' // as in the captured get.device.info

export async function startWhatsminerSim(opts: WhatsminerSimOptions = {}): Promise<WhatsminerSim> {
  const host = opts.host ?? '127.0.0.1'
  if (!host.startsWith('127.')) throw new Error('simulated devices listen on loopback only')
  const password = opts.password ?? 'admin'
  const key = md5cryptHash(password, TOKEN.salt)
  const sign = md5cryptHash(key + TOKEN.time, TOKEN.newsalt)
  const aes = createHash('sha256').update(key).digest()
  let expireNext = opts.expireFirstToken ?? false
  const when = () => Math.floor(Date.now() / 1000)

  const sim: WhatsminerSim = {
    rpc: undefined,
    http: undefined as unknown as HttpSim,
    v3Port: 0,
    decrypted: [],
    pools: [],
    reboots: 0,
    tokensIssued: 0,
    close: async () => {
      await Promise.all([sim.rpc?.close(), sim.http.close(), closeV3()])
    },
  }

  const encryptReply = (obj: unknown): string => {
    const c = createCipheriv('aes-256-ecb', aes, null)
    const enc = Buffer.concat([c.update(JSON.stringify(obj), 'utf8'), c.final()]).toString('base64')
    return JSON.stringify({ enc })
  }
  const status = (sev: string, code: number, msg: string) => ({
    STATUS: sev,
    When: when(),
    Code: code,
    Msg: msg,
    Description: '',
  })

  if (opts.v2 !== false) {
    const poolsCapture = JSON.parse(fixtureText('whatsminer/v2api_pools_20210322.json')) as {
      POOLS: { URL: string; User: string }[]
    }
    sim.pools = poolsCapture.POOLS.map((p) => ({ url: p.URL, user: p.User, pass: '' }))
    sim.rpc = await startCgminerSim({
      replies: {
        summary: fixtureText('whatsminer/v2api_summary_20210322.json'),
        get_version: fixtureText('whatsminer/v2api_get_version_20210322.json'),
        status: fixtureText('whatsminer/v2api_status_20220919.json'),
      },
      poolsFixture: fixtureText('whatsminer/v2api_pools_20210322.json'),
      description: 'whatsminer v1.4.0',
      listen: { host, port: opts.ports?.rpc ?? 0 },
      raw: (raw) => {
        let req: Record<string, unknown>
        try {
          req = JSON.parse(raw) as Record<string, unknown>
        } catch {
          return undefined
        }
        if (req.cmd === 'get_token' || req.command === 'get_token') {
          sim.tokensIssued++
          return JSON.stringify({ ...status('S', 134, ''), Msg: TOKEN })
        }
        if (req.enc !== 1 || typeof req.data !== 'string') return undefined
        let plain: Record<string, unknown>
        try {
          const d = createDecipheriv('aes-256-ecb', aes, null)
          d.setAutoPadding(false)
          const bytes = Buffer.concat([d.update(Buffer.from(req.data, 'base64')), d.final()])
          plain = JSON.parse(bytes.toString('utf8').replace(/\0+$/, '')) as Record<string, unknown>
        } catch {
          return JSON.stringify(status('E', 23, 'json error'))
        }
        sim.decrypted.push(plain)
        if (plain.token !== sign) return JSON.stringify(status('E', 45, 'permission denied'))
        if (expireNext) {
          expireNext = false
          return JSON.stringify(status('E', 135, 'token expired'))
        }
        if (plain.cmd === 'reboot') {
          sim.reboots++
          return 'close'
        }
        if (plain.cmd === 'update_pools') {
          const list: { url: string; user: string; pass: string }[] = []
          for (let i = 1; i <= 3; i++) {
            const url = String(plain[`pool${i}`] ?? '')
            if (url !== '')
              list.push({ url, user: String(plain[`worker${i}`] ?? ''), pass: String(plain[`passwd${i}`] ?? '') })
          }
          sim.pools = list
          sim.rpc?.setPools(list)
          return encryptReply(status('S', 131, 'API command OK'))
        }
        if (plain.cmd === 'set_led') return encryptReply(status('S', 131, 'API command OK'))
        return encryptReply(status('E', 14, 'invalid cmd'))
      },
    })
  }

  // ---- v3 ----
  let closeV3: () => Promise<void> = async () => {}
  if (opts.v3) {
    const account = opts.v3Account ?? 'super'
    const v3Password = opts.v3Password ?? 'super'
    const info = JSON.parse(fixtureText('whatsminer/v3api_get_device_info_m60s.json')) as Record<string, unknown>
    const poolsReply = JSON.parse(fixtureText('whatsminer/v3api_get_miner_status_pools.json')) as {
      msg: { pools: Record<string, unknown>[] }
    }
    if (opts.v2 === false)
      sim.pools = poolsReply.msg.pools.map((p) => ({ url: String(p.url), user: String(p.account), pass: '' }))
    const frame = (obj: unknown) => {
      const body = Buffer.from(JSON.stringify(obj))
      const head = Buffer.alloc(4)
      head.writeUInt32LE(body.length)
      return Buffer.concat([head, body])
    }
    const answer = (req: Record<string, unknown>): unknown => {
      const cmd = String(req.cmd ?? '')
      const reply = (code: number, msg: unknown) => ({ code, when: when(), msg, desc: cmd })
      if (cmd === 'get.device.info') return req.param === 'salt' ? reply(0, { salt: V3_SALT }) : info
      if (cmd === 'get.miner.status') {
        if (req.param === 'summary') return JSON.parse(fixtureText('whatsminer/v3api_get_miner_status_summary.json'))
        if (req.param === 'edevs') return JSON.parse(fixtureText('whatsminer/v3api_get_miner_status_edevs.json'))
        if (req.param === 'pools')
          return reply(0, {
            pools: sim.pools.map((p, i) => ({
              ...(poolsReply.msg.pools[i] ?? {}),
              url: p.url,
              account: p.user,
              'pool-priority': i,
              'stratum-active': i === 0,
              status: 'alive',
            })),
          })
        return reply(-1, 'bad param')
      }
      if (cmd.startsWith('set.')) {
        const ts = Number(req.ts)
        const digest = createHash('sha256').update(`${cmd}${v3Password}${V3_SALT}${ts}`).digest()
        if (req.account !== account || req.token !== digest.toString('base64').slice(0, 8))
          return reply(-4, 'no permission')
        if (cmd === 'set.system.reboot') {
          sim.reboots++
          return reply(0, 'ok')
        }
        if (cmd === 'set.miner.pools') {
          try {
            const d = createDecipheriv('aes-256-ecb', digest, null)
            const text = Buffer.concat([d.update(Buffer.from(String(req.param), 'base64')), d.final()]).toString('utf8')
            const list = JSON.parse(text) as { pool: string; worker: string; passwd: string }[]
            sim.decrypted.push(list)
            sim.pools = list.map((p) => ({ url: p.pool, user: p.worker, pass: p.passwd }))
            return reply(0, 'ok')
          } catch {
            return reply(-1, 'decrypt failed')
          }
        }
      }
      return reply(-2, 'invalid command')
    }
    const sockets = new Set<net.Socket>()
    const server = net.createServer((sock) => {
      sockets.add(sock)
      sock.on('close', () => sockets.delete(sock))
      sock.on('error', () => sock.destroy())
      let buf = Buffer.alloc(0)
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d])
        if (buf.length < 4) return
        const len = buf.readUInt32LE(0)
        if (buf.length < 4 + len) return
        let req: Record<string, unknown>
        try {
          req = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as Record<string, unknown>
        } catch {
          sock.end(frame({ code: -1, msg: 'json error' }))
          return
        }
        sock.end(frame(answer(req)))
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(opts.ports?.v3 ?? 0, host, resolve)
    })
    const addr = server.address()
    sim.v3Port = typeof addr === 'object' && addr ? addr.port : 0
    closeV3 = () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }

  // The web UI answers 307 to https (LuCI); research §4.3, pyasic rule 4.
  sim.http = await startHttpSim(
    () => ({ status: 307, headers: { Location: `https://${host}/`, 'Content-Type': 'text/html' }, body: '' }),
    undefined,
    { host, port: opts.ports?.http ?? 0 },
  )
  return sim
}
