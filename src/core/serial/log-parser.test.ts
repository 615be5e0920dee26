import { describe, expect, it } from 'vitest'
import { MinerLogScanner, parseMinerLogLine } from './log-parser'

describe('parseMinerLogLine', () => {
  it.each([
    ['I (3562) connect: IPv4 Address: 192.168.1.77', { kind: 'ip', ip: '192.168.1.77', source: 'esp-miner' }],
    [
      'I (3561) esp_netif_handlers: sta ip: 10.0.0.42, mask: 255.255.255.0, gw: 10.0.0.1',
      { kind: 'ip', ip: '10.0.0.42', source: 'esp-netif' },
    ],
    [
      '\u001b[0;32mI (3563) connect: Connected to SSID: FarmNet 2.4\u001b[0m',
      { kind: 'wifi-connected', ssid: 'FarmNet 2.4' },
    ],
    ['I (1310) connect: Connecting...', { kind: 'wifi-connecting' }],
    ['I (2544) connect: Acquiring IP...', { kind: 'wifi-acquiring-ip' }],
    [
      "I (9000) connect: Could not connect to 'Barn' [rssi -71]: reason 201",
      { kind: 'wifi-failed', ssid: 'Barn', reason: 201 },
    ],
    ['I (33000) connect: Timeout waiting for IP address. Disconnecting...', { kind: 'wifi-ip-timeout' }],
    ['I (1203) connect: No WiFi SSID provided, running in AP-only mode', { kind: 'wifi-no-ssid' }],
    ['I (1250) connect: Configuration Access Point enabled', { kind: 'ap-mode' }],
  ])('recognises %s', (line, event) => {
    expect(parseMinerLogLine(line)).toEqual(event)
  })

  it.each([
    'I (100) esp_netif_handlers: ap ip: 192.168.4.1, mask: 255.255.255.0, gw: 192.168.4.1',
    'I (100) connect: IPv4 Address: 999.1.1.1',
    'I (100) stratum_task: Connecting to 192.168.1.20:3333',
    'garbage \u0000\u00ff',
  ])('ignores %s', (line) => {
    expect(parseMinerLogLine(line)).toBeUndefined()
  })
})

describe('MinerLogScanner', () => {
  it('splits a byte stream into lines across chunks and reports events', () => {
    const s = new MinerLogScanner()
    expect(s.push('I (1) connect: IPv4 Add')).toEqual({ lines: [], events: [] })
    const r = s.push(Buffer.from('ress: 192.168.1.9\r\nI (2) other: x\r\n'))
    expect(r.lines).toEqual(['I (1) connect: IPv4 Address: 192.168.1.9', 'I (2) other: x'])
    expect(r.events).toEqual([{ kind: 'ip', ip: '192.168.1.9', source: 'esp-miner' }])
  })

  it('bounds a line that never ends', () => {
    const s = new MinerLogScanner(16)
    s.push('x'.repeat(1000))
    const r = s.push('\n')
    expect(r.lines[0]?.length).toBeLessThanOrEqual(16)
  })
})

describe('MinerLogScanner limits', () => {
  it('cuts an over-long line to its head, even when it arrives in many chunks', () => {
    const s = new MinerLogScanner(16)
    expect(s.push('I (1) tag: ').lines).toEqual([])
    for (let i = 0; i < 100; i++) expect(s.push('AAAAAAAAAA').lines).toEqual([])
    expect(s.push('\r\nnext\n').lines).toEqual(['I (1) tag: AAAAA', 'next'])
  })
})
