import type { ConnectionGater, PeerId } from '@libp2p/interface'
import type { AllowPolicy } from './allow-policy.ts'

/**
 * Connections one peer id may hold to us at once. A daemon needs one (two
 * for a moment when both sides dial at once, plus a relayed one); the fake
 * offer flood came over 125 connections of one peer id, each with its own
 * stream limits. libp2p has no per-peer limit: this is ours.
 */
export const MAX_CONNECTIONS_PER_PEER = 4

export interface SwarmGaterInit {
  allow: AllowPolicy
  /** Open connections to `peer` now (the node's, read when a new one is upgraded). */
  connectionsTo: (peer: PeerId) => number
  maxConnectionsPerPeer?: number
}

/**
 * The node's connection gater: the allow list (and its bans) and a cap on
 * connections per peer id. (libp2p-node.ts adds the address budget.)
 */
export function swarmGater (init: SwarmGaterInit): ConnectionGater {
  const allowGater = init.allow.gater()
  const maxPerPeer = init.maxConnectionsPerPeer ?? MAX_CONNECTIONS_PER_PEER
  return {
    ...allowGater,
    // Called once the peer id is proven and before the connection counts as open.
    denyInboundUpgradedConnection: (peer: PeerId) => !init.allow.allows(peer) || init.connectionsTo(peer) >= maxPerPeer
  }
}
