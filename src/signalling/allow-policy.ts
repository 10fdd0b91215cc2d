import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { TypedEmitter } from '../util/typed-emitter.ts'

export interface AllowPolicyEvents {
  /** The list was replaced (config reload): whoever holds something of a peer no longer allowed lets it go. */
  changed: []
}

export interface AllowPolicyInit {
  /** rtc.trusted: the trusted profile (no encryption) may be used at all, with listed peers. */
  trusted?: boolean
}

/**
 * Which peers may talk to this node (swarm.allow; everyone when it is empty),
 * the peers shut out for a while, and with whom the trusted profile may be
 * used. The one owner of these facts: the connection gater, the signal and
 * trusted-channel services, the swarm and the sessions all read this object
 * live, and a reload changes it here only (`set`, then a `changed` event).
 */
export class AllowPolicy extends TypedEmitter<AllowPolicyEvents> {
  #allowed: Set<string>
  readonly #trusted: boolean
  /** Peers shut out for a while (graylisted for flooding), with the time their ban ends. */
  readonly #banned = new Map<string, number>()

  constructor (peerIds: string[], init: AllowPolicyInit = {}) {
    super()
    this.#allowed = new Set(peerIds)
    this.#trusted = init.trusted ?? false
  }

  get restricted (): boolean {
    return this.#allowed.size > 0
  }

  allows (peerId: PeerId | string): boolean {
    const id = peerId.toString()
    return (this.#allowed.size === 0 || this.#allowed.has(id)) && !this.banned(id)
  }

  /**
   * Why the trusted profile may not be used with a peer, or undefined when it
   * may: it needs rtc.trusted AND the peer listed by id in swarm.allow (an
   * empty list, "everyone in the swarm", is not enough).
   */
  trustedRefusal (peerId: string): string | undefined {
    if (!this.#trusted) return 'rtc.trusted is not true on this daemon'
    if (!this.#allowed.has(peerId)) return `peer ${peerId} is not listed in swarm.allow`
    return undefined
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

  /** Replace the list (config reload); every check reads it live, and holders hear `changed`. */
  set (peerIds: string[]): void {
    this.#allowed = new Set(peerIds)
    this.emit('changed')
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
