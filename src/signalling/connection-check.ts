import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Logger } from 'pino'
import { localHosts } from './local-hosts.ts'

/** A connection that does not answer a ping within this after our addresses changed is taken for dead. */
export const CHECK_PING_TIMEOUT_MS = 1_500

export interface ConnectionCheckInit {
  libp2p: Libp2p<{ ping: Ping }>
  /** Dial a peer again (through the swarm's dialer: back-off, allow list). */
  redial: (peer: PeerId) => void
  /** Told of the hosts that went away (and the hosts there are now), once per look that finds some. */
  onLost: (hosts: string[], now: Set<string>) => void
  /** Told of new hosts (and the hosts there are now), once per look that finds some. */
  onAdded?: (hosts: string[], now: Set<string>) => void
  log: Logger
  /** This machine's addresses now (the interfaces; a parameter for tests). */
  hosts?: () => Set<string>
}

/**
 * We lost an address (an interface was renumbered or went down):
 * TCP connections bound to an address we no longer have are dead, but TCP
 * would take minutes to say so. Ping each connected peer once; hang up on
 * those that do not answer and dial them again at once, so signalling (and
 * the sessions re-made over it) does not wait for presence to expire.
 * The one place our own addresses are watched: the swarm passes a loss on
 * as its `path:lost` event (and a new address as `path:added`).
 */
export class ConnectionCheck {
  readonly #init: ConnectionCheckInit
  readonly #abort = new AbortController()
  readonly #hostsNow: () => Set<string>
  #hosts: Set<string> | undefined
  #checking = false

  constructor (init: ConnectionCheckInit) {
    this.#init = init
    this.#hostsNow = init.hosts ?? localHosts
  }

  /** Our addresses at the last look. */
  hosts (): Set<string> {
    return this.#hosts ?? this.#hostsNow()
  }

  /** Compare our addresses with the last look; on a loss, check every connection. */
  look (): void {
    const now = this.#hostsNow()
    // Only an address that went away can leave a connection dead; a new one (an interface up) cannot.
    const before = this.#hosts
    const lost = before === undefined ? [] : [...before].filter(h => !now.has(h))
    const added = before === undefined ? [] : [...now].filter(h => !before.has(h))
    this.#hosts = now
    if (lost.length > 0) {
      this.#init.log.info({ lost, addresses: [...now] }, 'we lost an address: checking every connection')
      this.#init.onLost(lost, now)
      if (!this.#checking) void this.#checkAll()
    }
    if (added.length > 0) {
      this.#init.log.debug({ added, addresses: [...now] }, 'we have a new address')
      this.#init.onAdded?.(added, now)
    }
  }

  /**
   * Whether the connection to `peer` answers (true when there is none: a
   * dial makes a new one). One that does not is hung up on and dialled again.
   */
  async verify (peer: PeerId): Promise<boolean> {
    const { libp2p, log, redial } = this.#init
    if (libp2p.getConnections(peer).length === 0) return true
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(CHECK_PING_TIMEOUT_MS)])
      await libp2p.services.ping.ping(peer, { signal })
      return true
    } catch (err) {
      if (this.#abort.signal.aborted) return false
      log.info({ peer: peer.toString(), err: (err as Error).message }, 'connection dead after an address change: dialling again')
      await libp2p.hangUp(peer).catch(() => {})
      redial(peer)
      return false
    }
  }

  stop (): void {
    this.#abort.abort()
  }

  async #checkAll (): Promise<void> {
    this.#checking = true
    try {
      await Promise.all(this.#init.libp2p.getPeers().map(async peer => await this.verify(peer)))
    } finally {
      this.#checking = false
    }
  }
}
