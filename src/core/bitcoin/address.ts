/**
 * Payout address → output script, with an error message that says exactly what is wrong.
 *
 * This is where a user's typed text arrives (pool settings, a miner's `mining.authorize` user name),
 * so it never throws: every input gets a `{ok:false, code, message}` the UI can show as is.
 * Decoding uses @scure/base (bech32 / bech32m / base58) and @scure/btc-signer builds the script;
 * the checks in between exist to name the mistake (Lightning address, typo, other network,
 * undefined witness version) instead of a generic "invalid address".
 */

import { base58, bech32, bech32m } from '@scure/base'
import { OutScript } from '@scure/btc-signer'
import { sha256d } from './hash'

export type BitcoinNetwork = 'mainnet' | 'testnet' | 'testnet4' | 'signet' | 'regtest'
export type PayoutScriptType = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr'

export type AddressErrorCode =
  | 'EMPTY'
  | 'LIGHTNING_ADDRESS'
  | 'LIGHTNING_INVOICE'
  | 'LNURL'
  | 'BITCOIN_URI'
  | 'EXTENDED_KEY'
  | 'PRIVATE_KEY'
  | 'INVALID_CHARACTERS'
  | 'MIXED_CASE'
  | 'BAD_CHECKSUM'
  | 'WRONG_NETWORK'
  | 'INVALID_WITNESS_VERSION'
  | 'INVALID_WITNESS_PROGRAM'
  | 'UNKNOWN_WITNESS_VERSION'
  | 'NOT_AN_ADDRESS'

export type DecodedAddress =
  | { ok: true; script: Uint8Array; type: PayoutScriptType }
  | { ok: false; code: AddressErrorCode; message: string }

const NETWORK_LABEL: Record<BitcoinNetwork, string> = {
  mainnet: 'mainnet',
  testnet: 'testnet',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
}

/** Segwit human-readable parts (BIP173; Core chainparams `bech32_hrp`). testnet, testnet4 and signet share `tb`. */
const HRP_OF: Record<BitcoinNetwork, string> = {
  mainnet: 'bc',
  testnet: 'tb',
  testnet4: 'tb',
  signet: 'tb',
  regtest: 'bcrt',
}
const HRP_NETWORKS: Record<string, string> = {
  bc: 'mainnet',
  tb: 'testnet, testnet4 or signet',
  bcrt: 'regtest',
}

/** Base58 version bytes (Core chainparams): every test chain, regtest included, uses 111/196. */
const BASE58_P2PKH_MAIN = 0x00
const BASE58_P2SH_MAIN = 0x05
const BASE58_P2PKH_TEST = 0x6f
const BASE58_P2SH_TEST = 0xc4
const WIF_MAIN = 0x80
const WIF_TEST = 0xef

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const BASE58_RE = /^[1-9A-HJ-NP-Za-km-z]+$/

const fail = (code: AddressErrorCode, message: string): DecodedAddress => ({ ok: false, code, message })

const HOW_TO = 'A solo pool pays the block reward on-chain: enter a bitcoin address from your wallet'

function exampleFor(network: BitcoinNetwork): string {
  const hrp = HRP_OF[network]
  return network === 'mainnet' ? '(bc1q…, bc1p…, 1… or 3…)' : `(${hrp}1q…, ${hrp}1p…, m…, n… or 2…)`
}

/**
 * Decodes a payout address for `network` into the scriptPubKey the coinbase pays.
 * Accepts P2PKH, P2SH, P2WPKH, P2WSH and P2TR; surrounding whitespace is ignored.
 */
export function decodePayoutAddress(text: string, network: BitcoinNetwork): DecodedAddress {
  if (typeof text !== 'string') return fail('NOT_AN_ADDRESS', 'The payout address must be text.')
  const input = text.trim()
  if (input === '') return fail('EMPTY', `No payout address given. ${HOW_TO} ${exampleFor(network)}.`)

  const lower = input.toLowerCase()
  const lightning = classifyLightning(lower)
  if (lightning) return lightning
  if (lower.startsWith('bitcoin:')) {
    const addr = input.slice('bitcoin:'.length).split('?')[0] ?? ''
    return fail(
      'BITCOIN_URI',
      `This is a payment link (bitcoin: URI), not a bare address. Enter only the address part${addr ? ` ("${addr}")` : ''}.`,
    )
  }
  if (/\s/.test(input)) return fail('INVALID_CHARACTERS', 'A bitcoin address has no spaces or line breaks inside it.')
  if (/^[xyztuvYZUV](pub|prv)/.test(input)) {
    return fail(
      'EXTENDED_KEY',
      'This is an extended key (xpub/zpub/…), not an address. Copy a single receive address from your wallet instead.',
    )
  }

  const sep = lower.lastIndexOf('1')
  const hrp = sep > 0 ? lower.slice(0, sep) : ''
  if (hrp in HRP_NETWORKS) return decodeSegwit(input, lower, hrp, network)
  return decodeBase58(input, network)
}

function classifyLightning(lower: string): DecodedAddress | null {
  const s = lower.startsWith('lightning:') ? lower.slice('lightning:'.length) : lower
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(s)) {
    return fail(
      'LIGHTNING_ADDRESS',
      `"${s}" looks like a Lightning address (user@domain), which is not a bitcoin address. ${HOW_TO}.`,
    )
  }
  if (s.includes('@')) return fail('NOT_AN_ADDRESS', `A bitcoin address never contains "@". ${HOW_TO}.`)
  if (s.startsWith('lnurl')) {
    return fail('LNURL', `This is an LNURL (a Lightning link), not a bitcoin address. ${HOW_TO}.`)
  }
  // BOLT11 prefixes: lnbc (mainnet), lntb (testnet), lntbs (signet), lnbcrt (regtest).
  if (/^ln(bc|tb|tbs|bcrt|sb)[0-9a-z]*1/.test(s)) {
    return fail('LIGHTNING_INVOICE', `This is a Lightning invoice, not a bitcoin address. ${HOW_TO}.`)
  }
  return null
}

function decodeSegwit(input: string, lower: string, hrp: string, network: BitcoinNetwork): DecodedAddress {
  if (input !== lower && input !== input.toUpperCase()) {
    return fail('MIXED_CASE', 'This address mixes upper- and lower-case letters, which bech32 forbids. Copy it again.')
  }
  const dataPart = lower.slice(hrp.length + 1)
  const bad = [...dataPart].find((c) => !BECH32_CHARSET.includes(c))
  if (bad !== undefined) {
    return fail(
      'INVALID_CHARACTERS',
      `"${bad}" cannot appear in a ${hrp}1… address (bech32 never uses 1, b, i or o after the prefix): probably a typo.`,
    )
  }
  if (lower.length > 90) return fail('NOT_AN_ADDRESS', 'Too long for a bitcoin address (at most 90 characters).')
  const asBech32 = bech32.decodeUnsafe(lower, 90)
  const asBech32m = asBech32 ? undefined : bech32m.decodeUnsafe(lower, 90)
  const decoded = asBech32 ?? asBech32m
  if (!decoded) {
    return fail(
      'BAD_CHECKSUM',
      'The checksum does not match: a character is mistyped, missing or swapped. Copy the address again from your wallet.',
    )
  }
  const expectedHrp = HRP_OF[network]
  if (hrp !== expectedHrp) {
    return fail(
      'WRONG_NETWORK',
      `This is a ${HRP_NETWORKS[hrp]} address, but the pool runs on ${NETWORK_LABEL[network]}. Use a ${NETWORK_LABEL[network]} address ${exampleFor(network)}.`,
    )
  }
  const [version, ...programWords] = decoded.words
  if (version === undefined) return fail('INVALID_WITNESS_PROGRAM', 'This address has no data after its prefix.')
  if (version > 16) return fail('INVALID_WITNESS_VERSION', `Witness version ${version} does not exist (0..16).`)
  // BIP350: version 0 uses the bech32 checksum, versions 1..16 bech32m.
  if ((version === 0) !== (asBech32 !== undefined)) {
    return fail(
      'BAD_CHECKSUM',
      `The checksum is of the wrong kind for a version-${version} address (BIP350): the address is corrupted or was made by broken software.`,
    )
  }
  const program = bech32.fromWordsUnsafe(programWords)
  if (!program || program.length < 2 || program.length > 40) {
    return fail('INVALID_WITNESS_PROGRAM', 'The address decodes to an invalid witness program: it is corrupted.')
  }
  if (version === 0) {
    if (program.length === 20)
      return { ok: true, type: 'p2wpkh', script: OutScript.encode({ type: 'wpkh', hash: program }) }
    if (program.length === 32)
      return { ok: true, type: 'p2wsh', script: OutScript.encode({ type: 'wsh', hash: program }) }
    return fail(
      'INVALID_WITNESS_PROGRAM',
      `A version-0 address carries 20 or 32 bytes, this one ${program.length}: it is corrupted.`,
    )
  }
  if (version === 1 && program.length === 32) {
    return { ok: true, type: 'p2tr', script: OutScript.encode({ type: 'tr', pubkey: program }) }
  }
  return fail(
    'UNKNOWN_WITNESS_VERSION',
    `This is a witness version ${version} address with a ${program.length}-byte program, which no soft fork defines yet: anyone could take coins paid to it. Use a ${HRP_OF[network]}1q… or ${HRP_OF[network]}1p… address.`,
  )
}

function decodeBase58(input: string, network: BitcoinNetwork): DecodedAddress {
  if (!BASE58_RE.test(input)) {
    const bad = [...input].find((c) => !/[1-9A-HJ-NP-Za-km-z]/.test(c))
    return fail(
      'NOT_AN_ADDRESS',
      bad !== undefined && /^[13mn2]/.test(input)
        ? `"${bad}" cannot appear in a bitcoin address (base58 never uses 0, O, I or l): probably a typo.`
        : `This is not a bitcoin address. ${HOW_TO} ${exampleFor(network)}.`,
    )
  }
  let bytes: Uint8Array
  try {
    bytes = base58.decode(input)
  } catch {
    return fail('NOT_AN_ADDRESS', `This is not a bitcoin address. ${HOW_TO} ${exampleFor(network)}.`)
  }
  const checksumOk =
    bytes.length > 4 &&
    Buffer.from(sha256d(bytes.subarray(0, bytes.length - 4)).subarray(0, 4)).equals(bytes.subarray(bytes.length - 4))
  const version = bytes[0]
  if ((version === WIF_MAIN || version === WIF_TEST) && (bytes.length === 37 || bytes.length === 38)) {
    return fail(
      'PRIVATE_KEY',
      'This looks like a private key. Never paste a private key anywhere; enter a receive address from your wallet.',
    )
  }
  if (bytes.length !== 25) {
    return fail('NOT_AN_ADDRESS', `This is not a bitcoin address (wrong length). ${HOW_TO} ${exampleFor(network)}.`)
  }
  if (!checksumOk) {
    return fail(
      'BAD_CHECKSUM',
      'The checksum does not match: a character is mistyped, missing or swapped. Copy the address again from your wallet.',
    )
  }
  const hash = bytes.subarray(1, 21)
  const isMain = version === BASE58_P2PKH_MAIN || version === BASE58_P2SH_MAIN
  const isTest = version === BASE58_P2PKH_TEST || version === BASE58_P2SH_TEST
  if (!isMain && !isTest) {
    return fail('NOT_AN_ADDRESS', `This is not a bitcoin address (it may belong to another coin). ${HOW_TO}.`)
  }
  if (isMain !== (network === 'mainnet')) {
    return fail(
      'WRONG_NETWORK',
      `This is a ${isMain ? 'mainnet' : 'testnet, testnet4, signet or regtest'} address, but the pool runs on ${NETWORK_LABEL[network]}. Use a ${NETWORK_LABEL[network]} address ${exampleFor(network)}.`,
    )
  }
  if (version === BASE58_P2PKH_MAIN || version === BASE58_P2PKH_TEST) {
    return { ok: true, type: 'p2pkh', script: OutScript.encode({ type: 'pkh', hash }) }
  }
  return { ok: true, type: 'p2sh', script: OutScript.encode({ type: 'sh', hash }) }
}
