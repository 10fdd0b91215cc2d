import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AddressBudget } from './address-budget.ts'
import type { AllowList } from './allow-list.ts'

/**
 * Connections one peer id may hold to us at once. A daemon needs one (two
 * for a moment when both sides dial at once, plus a relayed one); the fake
 * offer flood came over 125 connections of one peer id, each with its own
 * stream limits. libp2p has no per-peer limit: this is ours.
 */
export const MAX_CONNECTIONS_PER_PEER = 4

export interface SwarmGaterInit {
  allow: AllowList
  /** Open connections to `peer` now (the node's, read when a new one is upgraded). */
  connectionsTo: (peer: PeerId) => number
  addresses?: AddressBudget
  maxConnectionsPerPeer?: number
}

/**
 * The node's connection gater: the allow list (and its bans), a cap on
 * connections per peer id, and a cap on the addresses the peer store keeps
 * per peer (see AddressBudget). libp2p calls `filterMultiaddrForPeer` unbound:
 * every member is an arrow function.
 */
export function swarmGater (init: SwarmGaterInit): ConnectionGater {
  const allowGater = init.allow.gater()
  const addresses = init.addresses ?? new AddressBudget()
  const maxPerPeer = init.maxConnectionsPerPeer ?? MAX_CONNECTIONS_PER_PEER
  return {
    ...allowGater,
    // Called once the peer id is proven and before the connection counts as open.
    denyInboundUpgradedConnection: (peer: PeerId) => !init.allow.allows(peer) || init.connectionsTo(peer) >= maxPerPeer,
    filterMultiaddrForPeer: (peer: PeerId, addr: Multiaddr) => addresses.allows(peer.toString(), addr)
  }
}
