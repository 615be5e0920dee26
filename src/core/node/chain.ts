import type { Result } from '../../shared/errors'

/** Network names as address codecs use them. */
export type AddressNetwork = 'mainnet' | 'testnet' | 'testnet4' | 'signet' | 'regtest'

/** `chain` as getblockchaininfo reports it (Bitcoin Core 28+ says "testnet4" for testnet4). */
export type NodeChain = 'main' | 'test' | 'testnet4' | 'signet' | 'regtest'

const CHAIN_TO_NETWORK: Record<NodeChain, AddressNetwork> = {
  main: 'mainnet',
  test: 'testnet',
  testnet4: 'testnet4',
  signet: 'signet',
  regtest: 'regtest',
}

/** Default RPC ports of Bitcoin Core (chainparamsbase.cpp). */
export const DEFAULT_RPC_PORT: Record<AddressNetwork, number> = {
  mainnet: 8332,
  testnet: 18332,
  testnet4: 48332,
  signet: 38332,
  regtest: 18443,
}

export interface WrongNetwork {
  code: 'NODE_WRONG_NETWORK'
  message: string
}

/**
 * Maps the node's `chain` to the address network, and, when the payout address's network is
 * given, checks that they match. Mining on one chain and paying to another network's address
 * would make every block unspendable or unbuildable, so the pool must stop, with this message.
 */
export function checkPayoutNetwork(
  chain: string,
  payoutNetwork?: AddressNetwork,
): Result<AddressNetwork, WrongNetwork> {
  if (!(chain in CHAIN_TO_NETWORK)) {
    return {
      ok: false,
      error: { code: 'NODE_WRONG_NETWORK', message: `The node reports an unknown chain "${chain}".` },
    }
  }
  const network = CHAIN_TO_NETWORK[chain as NodeChain]
  if (payoutNetwork !== undefined && payoutNetwork !== network) {
    return {
      ok: false,
      error: {
        code: 'NODE_WRONG_NETWORK',
        message: `The payout address is a ${payoutNetwork} address but the node runs ${network}: use a ${network} address or a ${payoutNetwork} node.`,
      },
    }
  }
  return { ok: true, value: network }
}
