/**
 * Loaders for the block fixtures in test/fixtures/blocks (see its SOURCES.md). Test support only.
 */
import { readFileSync } from 'node:fs'
import type { BlockTemplate } from '../job'

const fixtureUrl = (name: string) => new URL(`../../../../test/fixtures/blocks/${name}`, import.meta.url)

/** Hex of a real mainnet block: 'mainnet-482683' (segwit) or 'mainnet-300025' (pre-segwit). */
export function readBlockHex(name: 'mainnet-482683' | 'mainnet-300025'): string {
  return readFileSync(fixtureUrl(`${name}.hex`), 'utf8').trim()
}

/** The real testnet GBT result (height 2,442,185) public-pool recorded, used by research §8.2/§8.4. */
export function publicPoolTestnetTemplate(): BlockTemplate {
  return JSON.parse(readFileSync(fixtureUrl('public-pool-testnet-template-2442185.json'), 'utf8')) as BlockTemplate
}

/**
 * The public-pool session of research §8.2, as the miner saw it: coinb1/coinb2 from the notify
 * (built by public-pool for the template above), the miner's extranonces and its submit.
 */
export const PUBLIC_POOL_SESSION = {
  jobId: '1',
  extranonce1: '57a6f098',
  extranonce2: 'c7080000',
  coinb1:
    '02000000010000000000000000000000000000000000000000000000000000000000000000ffffffff1903c943255c7075626c69632d706f6f6c5c',
  coinb2:
    'ffffffff037a90000000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc3b0f250000000000160014e6f22ca44dc800e9d049621a3b9a42c509f1c4bc0000000000000000266a24aa21a9edbd3d1d916aa0b57326a2d88ebe1b68a1d7c48585f26d8335fe6a94b62755f64c00000000',
  prevHashStratum: '171592f223740e92d223f6e68bff25279af7ac4f2246451e0000000200000000',
  merkleBranch: [
    '175335649d5e8746982969ec88f52e85ac9917106fba5468e699c8879ab974a1',
    'd5644ab3e708c54cd68dc5aedc92b8d3037449687f92ec41ed6e37673d969d4a',
    '5c9ec187517edc0698556cca5ce27e54c96acb014770599ed9df4d4937fbf2b0',
  ],
  version: '20000000',
  nbits: '192495f8',
  ntime: '64b3f3ec',
  versionMask: 0x1fffe000,
  submit: { ntime: '64b3f3ec', nonce: 'ed460d91', versionBits: '00002000' },
  expected: {
    header:
      '00200020f2921517920e7423e6f623d22725ff8b4facf79a1e45462202000000000000006b5d684a704b4abe62b2375c5326d1fc1dbb61168aff84e920ba28968bf1075fecf3b364f8952419910d46ed',
    hash: '000000000061d52983863e5c424c00d9e0981874fddf6a8493433e73928a3e4e',
    difficulty: 669.868291,
  },
} as const
