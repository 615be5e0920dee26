/**
 * A simulated cgminer-style API on a real TCP socket (127.0.0.1, ephemeral port). It answers
 * report commands with captured bodies and implements the pool commands with cgminer's own
 * semantics (api.c / cgminer.c, research §3.5): addpool appends, removepool moves the last pool
 * into the hole, switchpool makes a pool top priority, privileged commands are refused with
 * code 45 unless `privileged` is set. A write changes the state, so a later `pools` shows it.
 */
import net from 'node:net'

export interface SimPool {
  url: string
  user: string
  pass: string
  enabled: boolean
  /** 0 = highest. Pool numbers (array index) and priorities are separate, as in cgminer. */
  priority: number
  /** Fields copied from the captured POOLS entry, so replies keep the firmware's field set. */
  extra: Record<string, unknown>
}

export interface CgminerSimOptions {
  /** Captured replies by command (raw text, served byte for byte). */
  replies: Record<string, string>
  /** Captured `pools` reply to seed the pool state; `pools` is then generated from the state. */
  poolsFixture?: string
  /** Allow privileged commands (addpool, removepool, switchpool, …). Default false (stock Antminer). */
  privileged?: boolean
  /** Append the trailing NUL cgminer sends (default true). */
  nul?: boolean
  /** Lets a test corrupt a reply the way a real firmware does (e.g. `}{` without a comma). */
  transform?: (command: string, text: string) => string
  /** Behave like forks that cannot join commands: `a+b` is an invalid command. */
  noJoin?: boolean
  /** Refuse removing the pool being mined on (cgminer E 67 when it cannot switch away). */
  refuseActiveRemoval?: boolean
  /** Accept connections but never answer (a hung daemon). */
  hang?: boolean
  /** `Description` in generated STATUS blocks. */
  description?: string
  /** Where to listen; default 127.0.0.1 on an ephemeral port. Loopback addresses only. */
  listen?: { host: string; port: number }
  /** Sees every raw request first; a string return is sent as the reply (NUL appended per `nul`), 'close' closes silently. */
  raw?: (raw: string, sim: CgminerSim) => string | 'close' | undefined
  /** Handler for commands the sim does not know natively (vendor extensions). */
  custom?: (command: string, parameter: string | undefined, sim: CgminerSim) => unknown | undefined
}

export interface CgminerSim {
  port: number
  pools: SimPool[]
  /** Every request received, parsed, in order. */
  requests: { command: string; parameter?: string; raw: string }[]
  restarts: number
  /** Replace the pool list from outside (a web CGI write on the same simulated device). */
  setPools(list: { url: string; user: string; pass: string }[]): void
  status(sev: 'S' | 'I' | 'E', code: number, msg: string): Record<string, unknown>
  close(): Promise<void>
}

const PRIVILEGED = new Set([
  'addpool',
  'removepool',
  'switchpool',
  'enablepool',
  'disablepool',
  'poolpriority',
  'save',
  'restart',
  'quit',
  'privileged',
])

/** cgminer's own parameter splitting: `,` separates, `\,` and `\\` are escapes. */
export function splitParams(p: string): string[] {
  const out: string[] = []
  let cur = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '\\' && i + 1 < p.length) {
      cur += p[i + 1]
      i++
    } else if (c === ',') {
      out.push(cur)
      cur = ''
    } else cur += c
  }
  out.push(cur)
  return out
}

export async function startCgminerSim(opts: CgminerSimOptions): Promise<CgminerSim> {
  const description = opts.description ?? 'cgminer 1.0.0'
  const when = () => Math.floor(Date.now() / 1000)
  const pools: SimPool[] = []
  if (opts.poolsFixture) {
    const parsed = JSON.parse(opts.poolsFixture) as { POOLS?: Record<string, unknown>[] }
    for (const p of parsed.POOLS ?? []) {
      pools.push({
        url: String(p.URL ?? ''),
        user: String(p.User ?? ''),
        pass: '',
        enabled: p.Status !== 'Disabled',
        priority: typeof p.Priority === 'number' ? p.Priority : pools.length,
        extra: p,
      })
    }
  }
  let dirty = false
  const sockets = new Set<net.Socket>()
  const sim: CgminerSim = {
    port: 0,
    pools,
    requests: [],
    restarts: 0,
    setPools: (list) => {
      dirty = true
      pools.splice(0, pools.length, ...list.map((p, i) => ({ ...p, enabled: true, priority: i, extra: {} })))
    },
    status: (sev, code, msg) => ({
      STATUS: [{ STATUS: sev, When: when(), Code: code, Msg: msg, Description: description }],
      id: 1,
    }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }

  /** Renumbers priorities 0..n-1 keeping their order (cgminer keeps them dense). */
  const densePriorities = () => {
    const order = [...pools].sort((a, b) => a.priority - b.priority)
    order.forEach((p, i) => {
      p.priority = i
    })
  }
  const activeIndex = (): number => {
    let best = -1
    pools.forEach((p, i) => {
      if (p.enabled && (best < 0 || p.priority < (pools[best]?.priority ?? Number.POSITIVE_INFINITY))) best = i
    })
    return best
  }

  const poolsReply = (): Record<string, unknown> => {
    const active = activeIndex()
    const list = pools.map((p, i) => ({
      ...p.extra,
      POOL: i,
      URL: p.url,
      User: p.user,
      Status: p.enabled ? 'Alive' : 'Disabled',
      Priority: p.priority,
      'Stratum Active': i === active,
    }))
    return { STATUS: sim.status('S', 7, `${pools.length} Pool(s)`).STATUS, POOLS: list, id: 1 }
  }

  const poolArg = (p: string | undefined): number | Record<string, unknown> => {
    if (p === undefined || p === '') return sim.status('E', 25, 'Missing pool id parameter')
    const n = Number(p)
    if (!Number.isInteger(n) || n < 0 || n >= pools.length)
      return sim.status('E', 26, `Invalid pool id ${p} - range is 0 - ${pools.length - 1}`)
    return n
  }

  /** One command → a reply object or raw text. */
  const answer = (command: string, parameter: string | undefined): unknown => {
    if (PRIVILEGED.has(command) && !opts.privileged) return sim.status('E', 45, `Access denied to '${command}' command`)
    if (['addpool', 'removepool', 'switchpool', 'poolpriority', 'disablepool', 'enablepool'].includes(command))
      dirty = true
    const custom = opts.custom?.(command, parameter, sim)
    if (custom !== undefined) return custom
    switch (command) {
      case 'pools':
        // Until a write changes the pools, the capture is served byte for byte.
        if (opts.poolsFixture) return dirty ? poolsReply() : opts.poolsFixture
        break
      case 'privileged':
        return sim.status('S', 46, 'Privileged access OK')
      case 'addpool': {
        const parts = splitParams(parameter ?? '')
        if (parts.length < 3 || !parts[0]) return sim.status('E', 53, `Invalid addpool details '${parameter ?? ''}'`)
        pools.push({
          url: parts[0] ?? '',
          user: parts[1] ?? '',
          pass: parts[2] ?? '',
          enabled: true,
          priority: pools.length,
          extra: {},
        })
        densePriorities()
        return sim.status('S', 55, `Added pool ${pools.length - 1}: '${parts[0]}'`)
      }
      case 'removepool': {
        const n = poolArg(parameter)
        if (typeof n !== 'number') return n
        if (pools.length === 1) return sim.status('E', 66, `Cannot remove last pool ${n}:'${pools[n]?.url}'`)
        const url = pools[n]?.url
        if (n === activeIndex() && opts.refuseActiveRemoval)
          return sim.status('E', 67, `Cannot remove active pool ${n}:'${url}'`)
        // cgminer.c:remove_pool moves the last pool into the freed slot.
        const last = pools.pop()
        if (last && n < pools.length) pools[n] = last
        densePriorities()
        return sim.status('S', 68, `Removed pool ${n}:'${url}'`)
      }
      case 'switchpool': {
        const n = poolArg(parameter)
        if (typeof n !== 'number') return n
        const p = pools[n]
        if (p) {
          p.enabled = true
          p.priority = -1
          densePriorities()
        }
        return sim.status('S', 27, `Switching to pool ${n}:'${p?.url}'`)
      }
      case 'poolpriority': {
        const ids = splitParams(parameter ?? '').map(Number)
        const seen = new Set<number>()
        for (const id of ids) {
          if (!Number.isInteger(id) || id < 0 || id >= pools.length)
            return sim.status('E', 26, `Invalid pool id ${id} - range is 0 - ${pools.length - 1}`)
          if (seen.has(id)) return sim.status('E', 74, `Duplicate pool specified ${id}`)
          seen.add(id)
        }
        const rest = pools.filter((_, i) => !seen.has(i)).sort((a, b) => a.priority - b.priority)
        ids.forEach((id, k) => {
          const p = pools[id]
          if (p) p.priority = k
        })
        rest.forEach((p, k) => {
          p.priority = ids.length + k
        })
        return sim.status('S', 73, 'Changed pool priorities')
      }
      case 'disablepool': {
        const n = poolArg(parameter)
        if (typeof n !== 'number') return n
        const p = pools[n]
        if (p && !p.enabled) return sim.status('I', 50, `Pool ${n}:'${p.url}' already disabled`)
        if (pools.filter((q) => q.enabled).length <= 1)
          return sim.status('E', 51, `Cannot disable last active pool ${n}:'${p?.url}'`)
        if (p) p.enabled = false
        return sim.status('S', 48, `Disabling pool ${n}:'${p?.url}'`)
      }
      case 'save':
        return sim.status('S', 44, 'Configuration saved')
      case 'restart':
        sim.restarts++
        return { STATUS: 'RESTART', id: 1 }
    }
    const text = opts.replies[command]
    if (text !== undefined) return text
    return sim.status('E', 14, 'Invalid command')
  }

  const render = (command: string, value: unknown): string => {
    const text = typeof value === 'string' ? value : JSON.stringify(value)
    return opts.transform ? opts.transform(command, text) : text
  }

  const handle = (sock: net.Socket, raw: string) => {
    const rawReply = opts.raw?.(raw, sim)
    if (rawReply === 'close') {
      sock.end()
      return
    }
    if (rawReply !== undefined) {
      sock.end(opts.nul === false ? rawReply : `${rawReply}\u0000`)
      return
    }
    let command = ''
    let parameter: string | undefined
    try {
      const req = JSON.parse(raw) as { command?: unknown; parameter?: unknown }
      command = typeof req.command === 'string' ? req.command : ''
      if (typeof req.parameter === 'string' || typeof req.parameter === 'number') parameter = String(req.parameter)
    } catch {
      sock.end(`${JSON.stringify(sim.status('E', 23, 'Invalid JSON'))}\u0000`)
      return
    }
    sim.requests.push(parameter === undefined ? { command, raw } : { command, parameter, raw })
    let body: string
    if (command.includes('+') && opts.noJoin) {
      body = render(command, sim.status('E', 14, 'Invalid command'))
    } else if (command.includes('+')) {
      // Multi-command: each part wrapped in a one-element array (api.c head_join/tail_join).
      const parts = [...new Set(command.split('+'))]
      const joined = parts.map((c) => {
        const v = PRIVILEGED.has(c) ? sim.status('E', 45, `Access denied to '${c}' command`) : answer(c, undefined)
        return `"${c}":[${render(c, v)}]`
      })
      body = `{${joined.join(',')},"id":1}`
    } else {
      body = render(command, answer(command, parameter))
    }
    sock.end(opts.nul === false ? body : `${body}\u0000`)
  }

  const server = net.createServer((sock) => {
    sockets.add(sock)
    sock.on('close', () => sockets.delete(sock))
    sock.on('error', () => sock.destroy())
    if (opts.hang) return
    let buf = ''
    let done = false
    sock.on('data', (d: Buffer) => {
      if (done) return
      buf += d.toString('utf8')
      try {
        JSON.parse(buf)
      } catch {
        return // wait for the rest of the request (or the client's end)
      }
      done = true
      handle(sock, buf)
    })
    sock.on('end', () => {
      if (!done) {
        done = true
        handle(sock, buf)
      }
    })
  })
  const listen = opts.listen ?? { host: '127.0.0.1', port: 0 }
  if (!listen.host.startsWith('127.')) throw new Error('simulated devices listen on loopback only')
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, resolve)
  })
  const addr = server.address()
  sim.port = typeof addr === 'object' && addr ? addr.port : 0
  return sim
}
