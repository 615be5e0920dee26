/**
 * The few script encodings the pool needs: minimal data pushes and `CScript() << n`.
 */

export const OP_0 = 0x00
export const OP_PUSHDATA1 = 0x4c
export const OP_PUSHDATA2 = 0x4d
export const OP_1NEGATE = 0x4f
export const OP_1 = 0x51
export const OP_16 = 0x60
export const OP_RETURN = 0x6a

/** CScriptNum::serialize: minimal little-endian sign-magnitude bytes (0 → empty). */
export function encodeScriptNum(n: number): Buffer {
  if (!Number.isSafeInteger(n)) throw new RangeError(`script number must be a safe integer, got ${n}`)
  if (n === 0) return Buffer.alloc(0)
  const neg = n < 0
  let abs = Math.abs(n)
  const bytes: number[] = []
  while (abs > 0) {
    bytes.push(abs % 256)
    abs = Math.floor(abs / 256)
  }
  // The top bit of the last byte is the sign; if the magnitude already uses it, add a sign byte.
  if (bytes[bytes.length - 1]! & 0x80) bytes.push(neg ? 0x80 : 0x00)
  else if (neg) bytes[bytes.length - 1]! |= 0x80
  return Buffer.from(bytes)
}

/** A minimal push of `data` (the form Core's `CScript << std::vector` emits). */
export function pushData(data: Uint8Array): Buffer {
  const n = data.length
  let head: number[]
  if (n < OP_PUSHDATA1) head = [n]
  else if (n <= 0xff) head = [OP_PUSHDATA1, n]
  else if (n <= 0xffff) head = [OP_PUSHDATA2, n & 0xff, n >>> 8]
  else throw new RangeError('push larger than 65535 bytes')
  return Buffer.concat([Buffer.from(head), data])
}

/**
 * Exactly what Bitcoin Core's `CScript() << n` appends (`CScript::push_int64`): -1 and 1..16 as the
 * single opcodes OP_1NEGATE / OP_1..OP_16, 0 as OP_0, anything else as a push of the minimal
 * CScriptNum.
 */
export function pushInt(n: number): Buffer {
  if (n === -1 || (n >= 1 && n <= 16)) return Buffer.from([OP_1 - 1 + n])
  if (n === 0) return Buffer.from([OP_0])
  return pushData(encodeScriptNum(n))
}

/**
 * The BIP34 prefix a coinbase scriptSig must start with at `height`. Core checks
 * `scriptSig` begins with `CScript() << nHeight` byte for byte (`bad-cb-height`, validation.cpp
 * ContextualCheckBlock), so heights 1..16 are OP_1..OP_16, not `01 0N` — the form ckpool and
 * public-pool emit, which makes their first regtest blocks invalid.
 */
export function encodeBip34Height(height: number): Buffer {
  if (!Number.isInteger(height) || height < 0 || height > 0x7fffffff) {
    throw new RangeError(`block height must be an integer in [0, 2^31), got ${height}`)
  }
  return pushInt(height)
}

/** Reads the BIP34 height at the start of a coinbase scriptSig; `null` if it does not start with a number. */
export function decodeBip34Height(scriptSig: Uint8Array): number | null {
  const op = scriptSig[0]
  if (op === undefined) return null
  if (op === OP_0) return 0
  if (op >= OP_1 && op <= OP_16) return op - OP_1 + 1
  if (op < 1 || op > 5 || scriptSig.length < 1 + op) return null
  let v = 0
  for (let i = op; i >= 1; i--) v = v * 256 + scriptSig[i]!
  const top = scriptSig[op]!
  if (top & 0x80) return null // negative: never a height
  return v
}
