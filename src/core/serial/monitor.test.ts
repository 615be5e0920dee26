import { afterEach, describe, expect, it } from 'vitest'
import { EspRomFlasher } from './esp-rom/flasher'
import type { MinerLogEvent } from './log-parser'
import { type MonitorFrame, SerialMonitors } from './monitor'
import { SecretRedactor } from './redact'
import { serialReasonOf } from './serial-error'
import { SimulatedBench, simulatedBitaxe } from './testing/simulated-bench'

const PATH = '/dev/ttyACM0'
const bench = new SimulatedBench()
const monitors: SerialMonitors[] = []

afterEach(async () => {
  for (const m of monitors.splice(0)) await m.closeAll()
  bench.reset()
})

function monitor(opts: Partial<ConstructorParameters<typeof SerialMonitors>[0]> = {}) {
  const m = new SerialMonitors({ open: bench.opener, ...opts })
  monitors.push(m)
  return m
}

/** Resolves with the first frame of `path` matching `want`, looking at held frames first. */
function frameWhere(m: SerialMonitors, want: (f: MonitorFrame) => boolean): Promise<MonitorFrame> {
  return new Promise((resolve) => {
    m.watch(PATH, 0, (f) => {
      if (!want(f)) return false
      resolve(f)
      return true
    })
  })
}
const eventOf = (f: MonitorFrame): MinerLogEvent | undefined => (f.kind === 'line' ? f.event : undefined)

describe('SerialMonitors', () => {
  it('streams the boot log as clean lines and recognises the IP and Wi-Fi lines', async () => {
    bench.plug(PATH, simulatedBitaxe())
    const m = monitor()
    expect(await m.open(PATH)).toEqual({ ok: true, value: { path: PATH, baudRate: 115200 } })
    const ssid = await frameWhere(m, (f) => eventOf(f)?.kind === 'wifi-connected')
    expect(ssid).toMatchObject({ kind: 'line', text: 'I (3563) connect: Connected to SSID: FarmNet 2.4' })
    const lines = m.lines(PATH)
    expect(lines[0]).toMatchObject({ kind: 'state', state: 'open' })
    const texts = lines.flatMap((f) => (f.kind === 'line' ? [f.text] : []))
    expect(texts).toContain('ESP-ROM:esp32s3-20210327')
    expect(texts).toContain('I (3562) connect: IPv4 Address: 192.168.1.77')
    // ANSI colour codes are gone from what the UI will show.
    expect(texts.some((t) => t.includes('\u001b'))).toBe(false)
    expect(lines.map(eventOf).filter(Boolean)).toEqual([
      { kind: 'wifi-connecting' },
      { kind: 'wifi-acquiring-ip' },
      { kind: 'ip', ip: '192.168.1.77', source: 'esp-netif' },
      { kind: 'ip', ip: '192.168.1.77', source: 'esp-miner' },
      { kind: 'wifi-connected', ssid: 'FarmNet 2.4' },
    ])
    expect(m.lastIp(PATH)).toBe('192.168.1.77')
    expect(m.state(PATH)).toBe('open')
  })

  it('keeps a bounded ring per port and tells a late subscriber when history is gone', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const m = monitor({ ringLines: 5 })
    await m.open(PATH)
    await frameWhere(m, (f) => eventOf(f)?.kind === 'wifi-connected')
    for (let i = 0; i < 20; i++) rom.firmwareSays(`I (9${i}) app: line ${i}`)
    const last = await frameWhere(m, (f) => f.kind === 'line' && f.text.endsWith('line 19'))
    expect(m.lines(PATH)).toHaveLength(5)
    expect(m.lines(PATH).at(-1)).toEqual(last)
    expect(m.replay(0)).toBe('gone')
    expect(m.replay(last.seq - 2)).toHaveLength(2)
    expect(m.replay(undefined)).toEqual(m.lines(PATH))
  })

  it('cuts an endless line instead of growing without bound', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const m = monitor({ maxLineChars: 64 })
    await m.open(PATH)
    rom.firmwareSays(`junk ${'A'.repeat(5000)}`)
    const f = await frameWhere(m, (x) => x.kind === 'line' && x.text.startsWith('junk'))
    expect(f.kind === 'line' && f.text.length).toBe(64)
  })

  it('masks known passwords in what the device prints', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const redactor = new SecretRedactor()
    redactor.add('correct horse battery')
    const m = monitor({ redact: (t) => redactor.redact(t) })
    await m.open(PATH)
    rom.firmwareSays('W (5000) wifi: sta password correct horse battery rejected')
    const f = await frameWhere(m, (x) => x.kind === 'line' && x.text.includes('rejected'))
    expect(f).toMatchObject({ text: 'W (5000) wifi: sta password *** rejected' })
  })

  it('lends the port to the flasher, shows only ROM text meanwhile, and sees the reboot log after', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const m = monitor()
    await m.open(PATH)
    await frameWhere(m, (f) => eventOf(f)?.kind === 'wifi-connected')
    const lent = m.borrow(PATH, 'Reading settings.')
    if (!lent.ok) throw new Error(lent.error.message)
    expect(m.state(PATH)).toBe('busy')
    expect(m.borrow(PATH, 'again').ok).toBe(false)
    const closeWhileBusy = await m.close(PATH)
    expect(!closeWhileBusy.ok && serialReasonOf(closeWhileBusy.error)).toBe('PORT_IN_USE_BY_HASHYARD')
    const mark = m.lastSeq

    const flasher = new EspRomFlasher(lent.value.port, { resetStrategy: 'usb-jtag', resetStepMs: 1 })
    expect((await flasher.connect()).ok).toBe(true)
    expect((await flasher.readPartitionTable()).ok).toBe(true)
    expect((await flasher.hardReset()).ok).toBe(true)
    flasher.dispose()
    const ip = await new Promise<MonitorFrame>((resolve) =>
      m.watch(PATH, mark, (f) => {
        if (eventOf(f)?.kind !== 'ip') return false
        resolve(f)
        return true
      }),
    )
    expect(eventOf(ip)).toEqual({ kind: 'ip', ip: '192.168.1.77', source: 'esp-netif' })
    lent.value.giveBack()
    expect(m.state(PATH)).toBe('open')

    const during = m.replay(mark)
    if (during === 'gone') throw new Error('ring too small')
    const texts = during.flatMap((f) => (f.kind === 'line' ? [f.text] : []))
    expect(texts).toContain('waiting for download')
    // SLIP replies never leak into the log as junk lines.
    expect(texts.every((t) => /^[\x20-\x7e]*$/.test(t))).toBe(true)
    expect(during.filter((f) => f.kind === 'state').map((f) => f.kind === 'state' && f.state)).toEqual(['monitoring'])
  })

  it('resets the device with DTR/RTS and shows its boot log again', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const m = monitor()
    await m.open(PATH)
    await frameWhere(m, (f) => eventOf(f)?.kind === 'wifi-connected')
    const mark = m.lastSeq
    expect(await m.reset(PATH, 'usb-jtag', async () => {}, 1)).toEqual({ ok: true, value: null })
    const again = await new Promise<MonitorFrame>((resolve) =>
      m.watch(PATH, mark, (f) => {
        if (eventOf(f)?.kind !== 'wifi-connected') return false
        resolve(f)
        return true
      }),
    )
    expect(again.seq).toBeGreaterThan(mark)
    expect(rom.currentMode).toBe('firmware')
  })

  it('reports an unplug as its own state and can open the port again afterwards', async () => {
    const rom = simulatedBitaxe()
    bench.plug(PATH, rom)
    const m = monitor()
    await m.open(PATH)
    bench.unplug(PATH)
    const gone = await frameWhere(m, (f) => f.kind === 'state' && f.state === 'unplugged')
    expect(gone).toMatchObject({ message: expect.stringMatching(/went away/) })
    expect(m.state(PATH)).toBe('closed')
    const reopen = await m.open(PATH)
    expect(!reopen.ok && serialReasonOf(reopen.error)).toBe('PORT_NOT_FOUND')
    bench.plug(PATH, rom)
    expect((await m.open(PATH)).ok).toBe(true)
    expect(await m.close(PATH)).toEqual({ ok: true, value: { wasOpen: true } })
    expect(m.lines(PATH).at(-1)).toMatchObject({ kind: 'state', state: 'closed' })
    expect(await m.close(PATH)).toEqual({ ok: true, value: { wasOpen: false } })
  })

  it('opens a port once when asked twice at the same time', async () => {
    bench.plug(PATH, simulatedBitaxe())
    const m = monitor()
    const [a, b] = await Promise.all([m.open(PATH), m.open(PATH)])
    expect(a.ok && b.ok).toBe(true)
    expect(m.lines(PATH).filter((f) => f.kind === 'state' && f.state === 'open')).toHaveLength(1)
  })
})
