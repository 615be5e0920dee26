/**
 * CRC-32 as NVS uses it. ESP-IDF calls `esp_rom_crc32_le(0xffffffff, …)` and Espressif's
 * generator calls Python's `zlib.crc32(data, 0xFFFFFFFF)`; both come out as the reflected
 * polynomial 0xEDB88320 with a zero start register and a final inversion. That is NOT the
 * plain zlib CRC (start 0xFFFFFFFF): the reference images only verify with this variant.
 */
const TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** Continues a CRC over `data`; `crc` is a previous result (the ESP-IDF seed 0xFFFFFFFF by default). */
export function nvsCrc32(data: Uint8Array, crc = 0xffffffff): number {
  let c = ~crc >>> 0
  for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8)
  return ~c >>> 0
}

/** The CRC of a 32-byte NVS entry: bytes 0..3 and 8..31, skipping the CRC field itself. */
export function nvsEntryCrc(entry: Uint8Array): number {
  return nvsCrc32(entry.subarray(8, 32), nvsCrc32(entry.subarray(0, 4)))
}
