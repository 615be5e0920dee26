import { address as bjsAddress, networks } from 'bitcoinjs-lib'
import { describe, expect, it } from 'vitest'
import { type BitcoinNetwork, decodePayoutAddress } from './address'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

function expectOk(text: string, network: BitcoinNetwork, type: string, scriptHex: string) {
  const r = decodePayoutAddress(text, network)
  if (!r.ok) throw new Error(`expected ${text} to decode on ${network}, got ${r.code}: ${r.message}`)
  expect(r.type).toBe(type)
  expect(hex(r.script)).toBe(scriptHex)
}

function expectFail(text: string, network: BitcoinNetwork, code: string, messagePart?: RegExp) {
  const r = decodePayoutAddress(text, network)
  if (r.ok) throw new Error(`expected ${text} to fail on ${network}`)
  expect(r.code).toBe(code)
  if (messagePart) expect(r.message).toMatch(messagePart)
  return r
}

describe('decodePayoutAddress: valid addresses (BIP173/BIP350 vectors and well-known addresses)', () => {
  it('decodes a mainnet P2WPKH (BIP350 vector, upper case)', () => {
    expectOk(
      'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4',
      'mainnet',
      'p2wpkh',
      '0014751e76e8199196d454941c45d1b3a323f1433bd6',
    )
  })
  it('decodes a mainnet P2TR (BIP350 vector)', () => {
    expectOk(
      'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0',
      'mainnet',
      'p2tr',
      '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    )
  })
  it('decodes testnet P2WSH and P2TR (BIP350 vectors) on testnet, testnet4 and signet', () => {
    for (const net of ['testnet', 'testnet4', 'signet'] as const) {
      expectOk(
        'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
        net,
        'p2wsh',
        '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
      )
      expectOk(
        'tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy',
        net,
        'p2wsh',
        '0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433',
      )
      expectOk(
        'tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c',
        net,
        'p2tr',
        '5120000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433',
      )
    }
  })
  it('decodes mainnet base58 P2PKH (genesis coinbase address) and P2SH', () => {
    expectOk(
      '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa',
      'mainnet',
      'p2pkh',
      '76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac',
    )
    expectOk('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'mainnet', 'p2sh', 'a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87')
  })
  it('decodes test-chain base58 addresses on every test chain, regtest included (Core shares prefixes 111/196)', () => {
    for (const net of ['testnet', 'testnet4', 'signet', 'regtest'] as const) {
      expectOk('mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt', net, 'p2pkh', '76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac')
      expectOk('2N9hLwkSqr1cPQAPxbrGVUjxyjD11G2e1he', net, 'p2sh', 'a914b472a266d0bd89c13706a4132ccfb16f7c3b9fcb87')
    }
  })
  it('decodes regtest bech32 and bech32m addresses', () => {
    expectOk(
      'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
      'regtest',
      'p2wpkh',
      '0014751e76e8199196d454941c45d1b3a323f1433bd6',
    )
    expectOk(
      'bcrt1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qzf4jry',
      'regtest',
      'p2wsh',
      '00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262',
    )
    expectOk(
      'bcrt1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqc8gma6',
      'regtest',
      'p2tr',
      '512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    )
  })
  it('ignores surrounding whitespace', () => {
    expectOk(
      '  bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4\n',
      'mainnet',
      'p2wpkh',
      '0014751e76e8199196d454941c45d1b3a323f1433bd6',
    )
  })
  it('agrees with bitcoinjs-lib on every non-taproot address above', () => {
    const cases: [string, BitcoinNetwork, (typeof networks)['bitcoin']][] = [
      ['bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'mainnet', networks.bitcoin],
      ['1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'mainnet', networks.bitcoin],
      ['3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy', 'mainnet', networks.bitcoin],
      ['tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'testnet', networks.testnet],
      ['mpXwg4jMtRhuSpVq4xS3HFHmCmWp9NyGKt', 'testnet', networks.testnet],
      ['2N9hLwkSqr1cPQAPxbrGVUjxyjD11G2e1he', 'regtest', networks.regtest],
      ['bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080', 'regtest', networks.regtest],
    ]
    for (const [text, net, bjsNet] of cases) {
      const r = decodePayoutAddress(text, net)
      expect(r.ok).toBe(true)
      if (r.ok) expect(hex(r.script)).toBe(hex(bjsAddress.toOutputScript(text, bjsNet)))
    }
  })
})

describe('decodePayoutAddress: what the user did wrong', () => {
  it('rejects empty and whitespace-only input', () => {
    expectFail('', 'mainnet', 'EMPTY', /No payout address/)
    expectFail('   \t\n', 'mainnet', 'EMPTY')
  })
  it('says a Lightning address is not a bitcoin address', () => {
    expectFail('satoshi@getalby.com', 'mainnet', 'LIGHTNING_ADDRESS', /Lightning address.*not a bitcoin address/)
    expectFail('lightning:Satoshi@walletofsatoshi.com', 'mainnet', 'LIGHTNING_ADDRESS')
  })
  it('says an LNURL or a BOLT11 invoice is Lightning', () => {
    expectFail(
      'LNURL1DP68GURN8GHJ7UM9WFMXJCM99E3K7MF0V9CXJ0M385EKVCENXC6R2C35XVUKXEFCV5MKVV34X5EKZD3EV56NYD3HXQURZEPEXEJXXEPNXSCRVWFNV9NXZCN9XQ6XYEFHVGCXXCMYXYMNSERXFQ5FNS',
      'mainnet',
      'LNURL',
      /Lightning/,
    )
    expectFail('lnbc10u1pwzj3gxpp5', 'mainnet', 'LIGHTNING_INVOICE', /Lightning invoice/)
    expectFail('lntb2500n1pwxyz', 'testnet', 'LIGHTNING_INVOICE')
  })
  it('detects a one-character typo through the bech32 checksum (BIP173 vector with its last char changed)', () => {
    expectFail('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5', 'mainnet', 'BAD_CHECKSUM', /checksum does not match/)
  })
  it('detects a typo in a base58 address through its checksum', () => {
    expectFail('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb', 'mainnet', 'BAD_CHECKSUM', /checksum/)
  })
  it('names characters base58 and bech32 never use', () => {
    expectFail('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0', 'mainnet', 'NOT_AN_ADDRESS', /"0" cannot appear/)
    // BIP350 invalid vector: 'o' in the data part
    expectFail('bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4', 'mainnet', 'INVALID_CHARACTERS', /"o"/)
  })
  it('rejects mixed case (BIP350 vector)', () => {
    expectFail('tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq47Zagq', 'testnet', 'MIXED_CASE')
  })
  it('says which network a valid address belongs to', () => {
    expectFail(
      'tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7',
      'mainnet',
      'WRONG_NETWORK',
      /testnet, testnet4 or signet address.*runs on mainnet/,
    )
    expectFail(
      'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4',
      'regtest',
      'WRONG_NETWORK',
      /mainnet address.*runs on regtest/,
    )
    expectFail(
      'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080',
      'signet',
      'WRONG_NETWORK',
      /regtest address.*runs on signet/,
    )
    expectFail('tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7', 'regtest', 'WRONG_NETWORK', /testnet/)
    expectFail('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'testnet4', 'WRONG_NETWORK', /mainnet address.*runs on testnet4/)
    expectFail(
      '2N9hLwkSqr1cPQAPxbrGVUjxyjD11G2e1he',
      'mainnet',
      'WRONG_NETWORK',
      /testnet, testnet4, signet or regtest/,
    )
  })
  it('refuses witness versions no soft fork defines (BIP350 valid vectors v2, v16, and a 40-byte v1)', () => {
    expectFail('bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs', 'mainnet', 'UNKNOWN_WITNESS_VERSION', /witness version 2/)
    expectFail('BC1SW50QGDZ25J', 'mainnet', 'UNKNOWN_WITNESS_VERSION', /witness version 16/)
    expectFail(
      'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y',
      'mainnet',
      'UNKNOWN_WITNESS_VERSION',
      /40-byte program/,
    )
  })
  it('rejects the wrong checksum variant for the witness version (BIP350 invalid vectors)', () => {
    expectFail('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd', 'mainnet', 'BAD_CHECKSUM', /BIP350/)
    expectFail('tb1z0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqglt7rf', 'testnet', 'BAD_CHECKSUM')
    expectFail('BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL', 'mainnet', 'BAD_CHECKSUM')
    expectFail('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh', 'mainnet', 'BAD_CHECKSUM')
    expectFail('tb1q0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq24jc47', 'testnet', 'BAD_CHECKSUM')
  })
  it('rejects the remaining BIP350 invalid vectors with a specific reason', () => {
    expectFail('BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R', 'mainnet', 'INVALID_WITNESS_VERSION')
    expectFail('bc1pw5dgrnzv', 'mainnet', 'INVALID_WITNESS_PROGRAM')
    expectFail(
      'bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav',
      'mainnet',
      'INVALID_WITNESS_PROGRAM',
    )
    expectFail('BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P', 'mainnet', 'INVALID_WITNESS_PROGRAM', /20 or 32 bytes/)
    expectFail('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf', 'mainnet', 'INVALID_WITNESS_PROGRAM')
    expectFail('tb1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vpggkg4j', 'testnet', 'INVALID_WITNESS_PROGRAM')
    expectFail('bc1gmk9yu', 'mainnet', 'INVALID_WITNESS_PROGRAM', /no data/)
  })
  it('rejects an address of an unknown bech32 prefix (BIP350 "tc1" vector) as not an address', () => {
    expect(decodePayoutAddress('tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut', 'mainnet').ok).toBe(
      false,
    )
  })
  it('explains bitcoin: URIs, extended keys and private keys', () => {
    expectFail(
      'bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4?amount=0.1',
      'mainnet',
      'BITCOIN_URI',
      /bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4/,
    )
    expectFail(
      'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8',
      'mainnet',
      'EXTENDED_KEY',
    )
    // WIF of private key 1 (compressed), a well-known test key: never to be pasted as a payout address.
    expectFail('KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn', 'mainnet', 'PRIVATE_KEY')
  })
  it('rejects text with inner spaces and random words without throwing', () => {
    expectFail('bc1qw508d6qejxtdg4y5r3 zarvary0c5xw7kv8f3t4', 'mainnet', 'INVALID_CHARACTERS')
    expectFail('hello world', 'mainnet', 'INVALID_CHARACTERS')
    expect(decodePayoutAddress('my-wallet', 'mainnet').ok).toBe(false)
    expect(decodePayoutAddress('1', 'mainnet').ok).toBe(false)
    expect(decodePayoutAddress('bc1', 'mainnet').ok).toBe(false)
    expect(decodePayoutAddress(`bc1q${'q'.repeat(200)}`, 'mainnet').ok).toBe(false)
    expect(decodePayoutAddress(undefined as unknown as string, 'mainnet').ok).toBe(false)
  })
})
