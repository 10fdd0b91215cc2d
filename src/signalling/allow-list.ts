import type { ConnectionGater, PeerId } from '@libp2p/interface'

/** Which peers may talk to this node: everyone when the list is empty. Changes live on config reload. */
export class AllowList {
  #allowed: Set<string>
  /** Peers shut out for a while (graylisted for flooding), with the time their ban ends. */
  readonly #banned = new Map<string, number>()

  constructor (peerIds: string[]) {
    this.#allowed = new Set(peerIds)
  }

  get restricted (): boolean {
    return this.#allowed.size > 0
  }

  allows (peerId: PeerId | string): boolean {
    const id = peerId.toString()
    return (this.#allowed.size === 0 || this.#allowed.has(id)) && !this.banned(id)
  }

  /** Refuse `peerId` for `ms` even if listed (it misbehaved); the gater applies it at once. */
  ban (peerId: string, ms: number): void {
    this.#banned.set(peerId, Date.now() + ms)
  }

  banned (peerId: string): boolean {
    const until = this.#banned.get(peerId)
    if (until === undefined) return false
    if (Date.now() < until) return true
    this.#banned.delete(peerId)
    return false
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
