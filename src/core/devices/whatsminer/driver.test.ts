import { createDecipheriv, createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { fixtureText } from '../../../../test/support/sim-devices/fixtures'
import { startWhatsminerSim, type WhatsminerSim } from '../../../../test/support/sim-devices/whatsminer-sim'
import { reasonOf } from '../device-error'
import { identifyDevice } from '../registry'
import {
  aesEcbDecrypt,
  decodeV3Frame,
  encodeV2Encrypted,
  encodeV3Frame,
  parseV2TokenReply,
  v2AesKey,
  v2Token,
  v3WriteRequest,
} from './codec'
import { createWhatsminerDriver, detectWhatsminer } from './driver'
import { md5crypt, md5cryptHash } from './md5crypt'

const sims: WhatsminerSim[] = []
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()))
})
async function sim(o: Parameters<typeof startWhatsminerSim>[0]) {
  const s = await startWhatsminerSim(o)
  sims.push(s)
  return s
}

describe('md5crypt', () => {
  it('matches OpenSSL `passwd -1` and the passlib documentation vector', () => {
    // passlib md5_crypt docs; the others printed by `openssl passwd -1 -salt <salt> <password>`.
    expect(md5crypt('password', '3azHgidD')).toBe('$1$3azHgidD$SrJPt7B.9rekpmwJwtON31')
    expect(md5crypt('admin', 'BQ5hoXV9')).toBe('$1$BQ5hoXV9$RxmaDUO33TS7O26yeMHZ81')
    expect(md5crypt('', 'abc')).toBe('$1$abc$Or2rbeUYTvt12aiVzMuS/.')
    expect(md5crypt('a much longer password than sixteen bytes', '12345678')).toBe('$1$12345678$yLppq.aqtfjKiej5RWDLq/')
    expect(md5cryptHash('admin', 'BQ5hoXV9$ignored')).toBe('RxmaDUO33TS7O26yeMHZ81')
  })
})

describe('Whatsminer v2 codec', () => {
  it('derives the token and encrypts a command that decrypts to the exact JSON', () => {
    const t = v2Token('admin', { time: '1761064196', salt: 'BQ5hoXV9', newsalt: 'nEw5aLt7' })
    expect(t.key).toBe('RxmaDUO33TS7O26yeMHZ81')
    expect(t.sign).toBe(md5cryptHash('RxmaDUO33TS7O26yeMHZ81' + '1761064196', 'nEw5aLt7'))
    const wire = JSON.parse(encodeV2Encrypted({ cmd: 'update_pools', pool1: 'stratum+tcp://p:3333' }, t).toString())
    expect(wire.enc).toBe(1)
    // Decrypt with Node directly: key = SHA-256 of the md5crypt hash, AES-256-ECB, NUL padding.
    const key = createHash('sha256').update('RxmaDUO33TS7O26yeMHZ81').digest()
    const d = createDecipheriv('aes-256-ecb', key, null)
    d.setAutoPadding(false)
    const plain = Buffer.concat([d.update(Buffer.from(wire.data, 'base64')), d.final()])
    expect(plain.length % 16).toBe(0)
    expect(plain.toString('utf8').replace(/\0+$/, '')).toBe(
      `{"cmd":"update_pools","pool1":"stratum+tcp://p:3333","token":"${t.sign}"}`,
    )
    expect(v2AesKey(t)).toEqual(key)
  })

  it('reports get_token refusals as values', () => {
    const busy = parseV2TokenReply({ STATUS: 'E', Code: 136, Msg: 'over max connect' })
    expect(busy.ok).toBe(false)
    if (!busy.ok) expect(reasonOf(busy.error)).toBe('ACCESS_DENIED')
    expect(parseV2TokenReply({ Msg: { time: '1' } }).ok).toBe(false)
    expect(aesEcbDecrypt(Buffer.alloc(32), 'not-base64-of-a-block').ok).toBe(false)
  })
})

describe('Whatsminer v3 codec', () => {
  it('frames with a 4-byte little-endian length and decodes split input', () => {
    const f = encodeV3Frame({ cmd: 'get.device.info' })
    expect(f.readUInt32LE(0)).toBe(f.length - 4)
    expect(decodeV3Frame(f.subarray(0, 3))).toEqual({ done: false })
    expect(decodeV3Frame(f.subarray(0, 10))).toEqual({ done: false })
    const whole = decodeV3Frame(Buffer.concat([f, Buffer.from([1, 2])]))
    expect(whole).toMatchObject({ done: true, json: { cmd: 'get.device.info' } })
    const huge = Buffer.alloc(4)
    huge.writeUInt32LE(0xffffffff)
    expect(decodeV3Frame(huge)).toMatchObject({ done: true, error: { details: { reason: 'TOO_LARGE' } } })
  })

  it('signs a write and encrypts set.miner.pools with the digest as the key', () => {
    const req = v3WriteRequest(
      'set.miner.pools',
      [{ pool: 'stratum+tcp://p:3333', worker: 'a.w', passwd: 'x' }],
      { account: 'super', password: 'super', salt: 'uhCiDyVj', ts: 1773869570 },
      true,
    )
    const digest = createHash('sha256').update('set.miner.poolssuperuhCiDyVj1773869570').digest()
    expect(req).toMatchObject({ cmd: 'set.miner.pools', ts: 1773869570, account: 'super' })
    expect(req.token).toBe(digest.toString('base64').slice(0, 8))
    const d = createDecipheriv('aes-256-ecb', digest, null)
    const text = Buffer.concat([d.update(Buffer.from(String(req.param), 'base64')), d.final()]).toString()
    expect(JSON.parse(text)).toEqual([{ pool: 'stratum+tcp://p:3333', worker: 'a.w', passwd: 'x' }])
  })
})

describe('Whatsminer driver over loopback sims replaying captures', () => {
  it('identifies v2 by the web redirect and reads the captured summary and pools', async () => {
    const s = await sim({})
    const id = await identifyDevice({ host: '127.0.0.1', httpPort: s.http.port, rpcPort: s.rpc?.port ?? 0 })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.kind).toBe('whatsminer')
    expect(id.value.identity).toMatchObject({
      vendor: 'whatsminer',
      mac: 'C4:08:28:00:A4:19',
      firmware: '20210322.22.REL',
    })
    expect(id.value.identity.endpoint.v3Port).toBeUndefined()
    const r = await id.value.driver.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.hashrateThs).toBeCloseTo(70.66811452)
    expect(r.value.hashrates.find((h) => h.window === '1m')?.ths).toBeCloseTo(67.43935249)
    expect(r.value.expectedHashrateThs).toBeCloseTo(68.796)
    expect(r.value.powerW).toBe(3417)
    expect(r.value.fansRpm).toEqual([6450, 6480])
    expect(r.value.uptimeS).toBe(10154)
    expect(r.value.pools[0]).toMatchObject({ index: 1, url: 'stratum+tcp://btc.example.pool:3333', active: true })
  })

  it('writes pools as an encrypted update_pools that decrypts to the right JSON, then reads them back', async () => {
    const s = await sim({ expireFirstToken: true })
    const id = await detectWhatsminer({ host: '127.0.0.1', rpcPort: s.rpc?.port ?? 0, v3Port: 1 })
    if (!id.ok) throw new Error(id.error.message)
    const d = createWhatsminerDriver(id.value, { credentials: { username: 'admin', password: 'admin' } })
    expect(d.capabilities).toMatchObject({ setPools: true, maxPools: 3 })
    const w = await d.setPools([
      { url: 'stratum+tcp://192.168.1.10:3333', user: 'bc1qacct.rack1-01', password: 'x' },
      { url: 'stratum+tcp://192.168.1.11:3333', user: 'bc1qacct.rack1-01', password: 'y' },
    ])
    if (!w.ok) throw new Error(w.error.message)
    // The first command met an expired token (135), so a fresh token was fetched once.
    expect(s.tokensIssued).toBe(2)
    const last = s.decrypted.at(-1) as Record<string, string>
    expect(Object.keys(last)).toEqual([
      'cmd',
      'pool1',
      'worker1',
      'passwd1',
      'pool2',
      'worker2',
      'passwd2',
      'pool3',
      'worker3',
      'passwd3',
      'token',
    ])
    expect(last).toMatchObject({
      cmd: 'update_pools',
      pool1: 'stratum+tcp://192.168.1.10:3333',
      worker1: 'bc1qacct.rack1-01',
      passwd1: 'x',
      pool2: 'stratum+tcp://192.168.1.11:3333',
      pool3: '',
    })
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    expect(r.value.pools.find((p) => p.active)?.url).toBe('stratum+tcp://192.168.1.10:3333')
    // Reboot closes without a reply, which is success.
    const rb = await d.reboot()
    expect(rb.ok).toBe(true)
    expect(s.reboots).toBe(1)
  })

  it('reports a wrong admin password as AUTH_FAILED without changing anything', async () => {
    const s = await sim({ password: 'changed' })
    const d = createWhatsminerDriver(
      {
        vendor: 'whatsminer',
        endpoint: { host: '127.0.0.1', rpcPort: s.rpc?.port ?? 0 },
        model: null,
        firmware: null,
        mac: null,
        hostname: null,
        serial: null,
      },
      {},
    )
    const before = JSON.stringify(s.pools)
    const w = await d.setPools([{ url: 'stratum+tcp://192.168.1.10:3333', user: 'a.b', password: 'x' }])
    expect(w.ok).toBe(false)
    if (!w.ok) expect(reasonOf(w.error)).toBe('AUTH_FAILED')
    expect(JSON.stringify(s.pools)).toBe(before)
  })

  it('prefers API v3: identity from get.device.info, status in TH/s, encrypted set.miner.pools', async () => {
    const s = await sim({ v3: true, v2: false })
    const id = await identifyDevice({
      host: '127.0.0.1',
      httpPort: s.http.port,
      rpcPort: s.http.port,
      v3Port: s.v3Port,
    })
    if (!id.ok) throw new Error(id.error.message)
    expect(id.value.identity).toMatchObject({
      vendor: 'whatsminer',
      model: 'M60S_VK40',
      mac: 'CE:02:01:00:8C:36',
      hostname: 'WhatsMiner',
      serial: 'BTM3CS40HD24083100000000000000000',
      firmware: '20251209.16.Rel2',
    })
    const d = id.value.driver
    const r = await d.read()
    if (!r.ok) throw new Error(r.error.message)
    const summary = JSON.parse(fixtureText('whatsminer/v3api_get_miner_status_summary.json')).msg.summary
    expect(r.value.hashrateThs).toBe(summary['hash-realtime'])
    expect(r.value.powerW).toBe(3156)
    expect(r.value.boards.map((b) => [b.hashrateThs, b.boardTempC, b.chipTempC, b.chips])).toEqual([
      [57.1, 41.1, 80, 75],
      [56.8, 40.1, 82, 75],
      [56.9, 41.5, 81, 75],
    ])
    expect(r.value.pools).toHaveLength(3)
    const w = await d.setPools([{ url: 'stratum+tcp://192.168.1.10:3333', user: 'bc1qacct.m60', password: 'x' }])
    if (!w.ok) throw new Error(w.error.message)
    expect(s.decrypted.at(-1)).toEqual([
      { pool: 'stratum+tcp://192.168.1.10:3333', worker: 'bc1qacct.m60', passwd: 'x' },
    ])
    const back = await d.read()
    if (!back.ok) throw new Error(back.error.message)
    expect(back.value.pools.map((p) => p.url)).toEqual(['stratum+tcp://192.168.1.10:3333'])

    const wrong = createWhatsminerDriver(id.value.identity, { credentials: { username: 'super', password: 'nope' } })
    const denied = await wrong.setPools([{ url: 'stratum+tcp://192.168.1.12:3333', user: 'x.y', password: 'x' }])
    expect(denied.ok).toBe(false)
    if (!denied.ok) expect(reasonOf(denied.error)).toBe('AUTH_FAILED')
    expect(s.pools.map((p) => p.url)).toEqual(['stratum+tcp://192.168.1.10:3333'])
  })
})
