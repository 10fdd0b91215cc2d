/** What the full-peer rule reads of a session slot. */
export interface FullPeerSlot {
  /** `edgectl connect`: the user asked for this peer. */
  explicit: boolean
  /** A session with this peer connected once. */
  connectedBefore?: boolean
  lastError: { code: string } | null
}

/**
 * Whether auto-connect holds back an offer to a peer whose presence says
 * every session slot is taken (`full`): the offer would only be refused, and
 * its next record, once a slot frees, brings the peer back. Not when the user
 * asked for the peer, and not when our session with it just ended without a
 * `full` refusal: its end may still count that session (a partition, healed)
 * and takes the new offer in its place.
 */
export function holdsBackFromFull (slot: FullPeerSlot, peerFull: boolean): boolean {
  if (!peerFull || slot.explicit) return false
  const mayCountUs = slot.connectedBefore === true && slot.lastError?.code !== 'full'
  return !mayCountUs
}
