import type { ConnectionGater, PeerId } from '@libp2p/interface'

/** Which peers may talk to this node: everyone when the list is empty. Changes live on config reload. */
export class AllowList {
  #allowed: Set<string>

  constructor (peerIds: string[]) {
    this.#allowed = new Set(peerIds)
  }

  get restricted (): boolean {
    return this.#allowed.size > 0
  }

  allows (peerId: PeerId | string): boolean {
    return this.#allowed.size === 0 || this.#allowed.has(peerId.toString())
  }

  /** Replace the list (config reload); the gater and every check read it live. */
  set (peerIds: string[]): void {
    this.#allowed = new Set(peerIds)
  }

  /**
   * A libp2p connection gater refusing dials to and connections from peers
   * not on the list; it reads the list live, so it is there even while the
   * list is empty (a reload may restrict it).
   */
  gater (): ConnectionGater {
    const deny = (peerId: PeerId): boolean => !this.allows(peerId)
    return {
      denyDialPeer: deny,
      denyInboundEncryptedConnection: deny,
      denyOutboundEncryptedConnection: deny
    }
  }
}
