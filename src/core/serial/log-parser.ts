/**
 * Recognises the lines of an ESP-Miner boot/runtime log that tell where the miner is on the
 * network. Every pattern names the line it comes from; lines are ESP-IDF `ESP_LOGx` output,
 * `L (ms) tag: message`, possibly wrapped in ANSI colour codes.
 */
export type MinerLogEvent =
  | { kind: 'ip'; ip: string; source: 'esp-miner' | 'esp-netif' }
  | { kind: 'wifi-connected'; ssid: string }
  | { kind: 'wifi-connecting' }
  | { kind: 'wifi-acquiring-ip' }
  | { kind: 'wifi-failed'; ssid: string; reason: number }
  | { kind: 'wifi-ip-timeout' }
  | { kind: 'wifi-no-ssid' }
  | { kind: 'ap-mode' }

const IPV4 = String.raw`((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})`

const PATTERNS: { re: RegExp; make: (m: RegExpExecArray) => MinerLogEvent }[] = [
  // ESP-Miner components/connect/connect.c: ESP_LOGI(TAG, "IPv4 Address: %s", ...) on IP_EVENT_STA_GOT_IP.
  {
    re: new RegExp(String.raw`\bconnect: IPv4 Address: ${IPV4}\b`),
    make: (m) => ({ kind: 'ip', ip: m[1] as string, source: 'esp-miner' }),
  },
  // ESP-IDF components/esp_netif/esp_netif_handlers.c: "%s ip: " IPSTR ", mask: " IPSTR ", gw: " IPSTR, with "sta".
  {
    re: new RegExp(String.raw`\besp_netif_handlers: sta ip: ${IPV4},`),
    make: (m) => ({ kind: 'ip', ip: m[1] as string, source: 'esp-netif' }),
  },
  // ESP-Miner connect.c: ESP_LOGI(TAG, "Connected to SSID: %s", ssid).
  {
    re: /\bconnect: Connected to SSID: (.*)$/,
    make: (m) => ({ kind: 'wifi-connected', ssid: (m[1] as string).trimEnd() }),
  },
  // ESP-Miner connect.c, WIFI_EVENT_STA_START: "Connecting...".
  { re: /\bconnect: Connecting\.\.\.$/, make: () => ({ kind: 'wifi-connecting' }) },
  // ESP-Miner connect.c, WIFI_EVENT_STA_CONNECTED: "Acquiring IP...".
  { re: /\bconnect: Acquiring IP\.\.\.$/, make: () => ({ kind: 'wifi-acquiring-ip' }) },
  // ESP-Miner connect.c, WIFI_EVENT_STA_DISCONNECTED: "Could not connect to '%.*s' [rssi %d]: reason %d".
  {
    re: /\bconnect: Could not connect to '(.*)' \[rssi -?\d+\]: reason (\d+)/,
    make: (m) => ({ kind: 'wifi-failed', ssid: m[1] as string, reason: Number(m[2]) }),
  },
  // ESP-Miner connect.c, ip_timeout_callback: "Timeout waiting for IP address. Disconnecting...".
  { re: /\bconnect: Timeout waiting for IP address/, make: () => ({ kind: 'wifi-ip-timeout' }) },
  // ESP-Miner connect.c, connect_init: "No WiFi SSID provided, running in AP-only mode".
  { re: /\bconnect: No WiFi SSID provided/, make: () => ({ kind: 'wifi-no-ssid' }) },
  // ESP-Miner connect.c, WIFI_EVENT_AP_START: "Configuration Access Point enabled".
  { re: /\bconnect: Configuration Access Point enabled/, make: () => ({ kind: 'ap-mode' }) },
]

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are control characters by definition.
const ANSI = /\u001b\[[0-9;]*m/g

/** The event one log line carries, if any. */
export function parseMinerLogLine(line: string): MinerLogEvent | undefined {
  const clean = line.replace(ANSI, '').replace(/\r$/, '')
  for (const p of PATTERNS) {
    const m = p.re.exec(clean)
    if (m) return p.make(m)
  }
  return undefined
}

/**
 * Splits a byte stream from the serial monitor into lines and reports events. Lines longer than
 * `maxLineChars` are cut (a miner printing binary junk must not grow memory without bound).
 */
export class MinerLogScanner {
  private partial = ''

  constructor(private readonly maxLineChars = 4096) {}

  push(chunk: Buffer | string): { lines: string[]; events: MinerLogEvent[] } {
    const text = this.partial + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'))
    const parts = text.split('\n')
    // Keep the head of an over-long line: it holds the level, timestamp and tag.
    this.partial = (parts.pop() ?? '').slice(0, this.maxLineChars)
    const lines = parts.map((l) => l.replace(/\r$/, '').slice(0, this.maxLineChars))
    const events: MinerLogEvent[] = []
    for (const l of lines) {
      const ev = parseMinerLogLine(l)
      if (ev) events.push(ev)
    }
    return { lines, events }
  }
}
