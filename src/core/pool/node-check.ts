/**
 * `pool.testNode`: one look at a node with the given settings, answered in plain words — the
 * same checks the pool makes before mining (reachable, password, warm-up, sync, network, a
 * template with the segwit rule), without starting anything.
 */
import type { z } from 'zod'
import type { NodeTestResult } from '../../shared/contract/pool'
import { decodePayoutAddress } from '../bitcoin/address'
import { type AddressNetwork, checkPayoutNetwork } from '../node/chain'
import type { NodeError } from '../node/errors'
import { NodeRpcClient, type NodeRpcConfig } from '../node/rpc-client'

export type NodeCheck = z.infer<typeof NodeTestResult>

const STATE_OF: Record<NodeError['code'], NodeCheck['state']> = {
  NODE_CONFIG: 'config',
  NODE_UNREACHABLE: 'unreachable',
  NODE_AUTH: 'auth',
  NODE_WARMUP: 'warmup',
  NODE_SYNCING: 'syncing',
  NODE_RPC_ERROR: 'error',
  NODE_BAD_RESPONSE: 'error',
  NODE_CANCELLED: 'error',
}

const blank = { chain: null, network: null, height: null, headers: null, templateOk: false }

function failed(e: NodeError, facts: Partial<NodeCheck> = {}): NodeCheck {
  return { ...blank, ...facts, ok: false, state: STATE_OF[e.code], message: e.message }
}

/**
 * The payout address must belong to the node's network. A `tb1…` address is valid on testnet,
 * testnet4 and signet alike, so the check decodes the address for the node's network rather than
 * comparing names. Returns null when fine, else the sentence to show.
 */
export function payoutProblem(
  address: string | null,
  configured: AddressNetwork,
  nodeNetwork: AddressNetwork,
): string | null {
  if (address === null) return null
  if (decodePayoutAddress(address, nodeNetwork).ok) return null
  return `The node runs ${nodeNetwork} but the payout address ${address} is a ${configured} address: set a ${nodeNetwork} address (and the network to ${nodeNetwork}) or connect a ${configured} node.`
}

export async function checkNode(
  config: NodeRpcConfig & { network: AddressNetwork },
  payoutAddress: string | null,
  timeoutMs = 10_000,
): Promise<NodeCheck> {
  const created = NodeRpcClient.create({ ...config, timeoutMs })
  if (!created.ok) return failed(created.error)
  const rpc = created.value
  try {
    const info = await rpc.getBlockchainInfo()
    if (!info.ok) return failed(info.error)
    const i = info.value
    const facts = { chain: i.chain, height: i.blocks, headers: i.headers }
    const net = checkPayoutNetwork(i.chain)
    if (!net.ok) return { ...blank, ...facts, ok: false, state: 'wrong-network', message: net.error.message }
    const network = net.value
    const withNet = { ...facts, network }
    const problem = payoutProblem(payoutAddress, config.network, network)
    if (problem !== null) return { ...blank, ...withNet, ok: false, state: 'wrong-network', message: problem }
    const behind = i.headers - i.blocks
    if ((network !== 'regtest' && i.initialblockdownload) || behind > 1) {
      const pct = i.verificationprogress === undefined ? '' : ` (${(i.verificationprogress * 100).toFixed(1)} %)`
      return {
        ...blank,
        ...withNet,
        ok: false,
        state: 'syncing',
        message: `The node is still syncing: block ${i.blocks} of ${i.headers}${pct}. The pool can start now and mines once it has caught up.`,
      }
    }
    const t = await rpc.getBlockTemplate()
    if (!t.ok) return failed(t.error, withNet)
    const where = rpc.endpoint.display
    // Same address format on both (testnet vs signet): mining works, but the setting should say so.
    const note =
      config.network === network ? '' : ` Note: the pool setting says ${config.network}; set the network to ${network}.`
    return {
      ...withNet,
      ok: true,
      state: 'ok',
      templateOk: true,
      message: `Connected to the ${network} node at ${where}: tip at height ${i.blocks}, a template for block ${t.value.height} with ${t.value.transactions.length} transactions.${note}`,
    }
  } finally {
    rpc.close()
  }
}
