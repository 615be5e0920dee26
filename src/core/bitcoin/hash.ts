import { createHash, hash } from 'node:crypto'

/** SHA-256 of `data` (one shot, no intermediate hasher object). */
export function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer')
}

/** Bitcoin's double SHA-256. The result is in internal byte order (what goes into headers and merkle trees). */
export function sha256d(data: Uint8Array): Buffer {
  return hash('sha256', hash('sha256', data, 'buffer'), 'buffer')
}

/**
 * SHA-256d of several byte strings laid end to end, without concatenating them first.
 * The share path hashes `coinb1 ‖ en1 ‖ en2 ‖ coinb2` this way so it never copies the coinbase.
 */
export function sha256dParts(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return hash('sha256', h.digest(), 'buffer')
}

/** Hex of a hash in display order (the byte-reversed form explorers and RPC show). */
export function toDisplayHex(hashInternal: Uint8Array): string {
  return Buffer.from(hashInternal).reverse().toString('hex')
}

/** Internal-order bytes of a display-order hex hash (RPC `previousblockhash`, `txid`, …). */
export function fromDisplayHex(displayHex: string): Buffer {
  return Buffer.from(displayHex, 'hex').reverse()
}
