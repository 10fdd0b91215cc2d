import type { GossipsubOpts } from '@libp2p/gossipsub'

type ScoreOptions = Pick<GossipsubOpts, 'scoreParams' | 'scoreThresholds'>

/** gossipsub drops a peer's messages and control traffic below this score; edged also hangs up on it. */
export const GRAYLIST_THRESHOLD = -80

/**
 * Peer scoring for a swarm whose only topic is presence. What matters is P4,
 * invalid messages: each record our validator rejects (bad signature, wrong
 * swarm, garbage, over the publish rate) counts against the peer that sent it,
 * squared, so three put it below the graylist threshold and it is pruned.
 * The counter decays (x0.9 a second): a peer that had one bad moment recovers
 * in about a minute. IP colocation is off: robots behind one NAT, or daemons
 * on one host, share an address and are no Sybil attack in an allow-listed swarm.
 */
export function presenceScoring (topic: string): ScoreOptions {
  return {
    scoreParams: {
      IPColocationFactorWeight: 0,
      topics: {
        [topic]: {
          topicWeight: 1,
          timeInMeshWeight: 0.01,
          timeInMeshQuantum: 1000,
          timeInMeshCap: 100,
          firstMessageDeliveriesWeight: 0.5,
          firstMessageDeliveriesDecay: 0.9,
          firstMessageDeliveriesCap: 10,
          // Presence is periodic and small: no mesh delivery quota to miss.
          meshMessageDeliveriesWeight: 0,
          meshMessageDeliveriesDecay: 0.9,
          meshMessageDeliveriesCap: 1,
          meshMessageDeliveriesThreshold: 1,
          meshMessageDeliveriesWindow: 10,
          meshMessageDeliveriesActivation: 5000,
          meshFailurePenaltyWeight: 0,
          meshFailurePenaltyDecay: 0.9,
          invalidMessageDeliveriesWeight: -10,
          invalidMessageDeliveriesDecay: 0.9
        }
      }
    },
    scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: GRAYLIST_THRESHOLD }
  }
}
