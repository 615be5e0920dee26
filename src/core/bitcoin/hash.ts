import { hash } from 'node:crypto'

/** SHA-256 of `data` (one shot, no intermediate hasher object). */
export function sha256(data: Uint8Array): Buffer {
  return hash('sha256', data, 'buffer')
}

/** Bitcoin's double SHA-256. The result is in internal byte order (what goes into headers and merkle trees). */
export function sha256d(data: Uint8Array): Buffer {
  return hash('sha256', hash('sha256', data, 'buffer'), 'buffer')
}

/** Hex of a hash in display order (the byte-reversed form explorers and RPC show). */
export function toDisplayHex(hashInternal: Uint8Array): string {
  return Buffer.from(hashInternal).reverse().toString('hex')
}

/** Internal-order bytes of a display-order hex hash (RPC `previousblockhash`, `txid`, …). */
export function fromDisplayHex(displayHex: string): Buffer {
  return Buffer.from(displayHex, 'hex').reverse()
}
