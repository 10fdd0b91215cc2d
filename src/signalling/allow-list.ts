import type { ConnectionGater, PeerId } from '@libp2p/interface'

/** Which peers may talk to this node: everyone when the list is empty. */
export class AllowList {
  readonly #allowed: Set<string>

  constructor (peerIds: string[]) {
    this.#allowed = new Set(peerIds)
  }

  get restricted (): boolean {
    return this.#allowed.size > 0
  }

  allows (peerId: PeerId | string): boolean {
    return this.#allowed.size === 0 || this.#allowed.has(peerId.toString())
  }

  /** A libp2p connection gater refusing dials to and connections from peers not on the list. */
  gater (): ConnectionGater | undefined {
    if (!this.restricted) return undefined
    const deny = (peerId: PeerId): boolean => !this.allows(peerId)
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny
    }
  }
}
