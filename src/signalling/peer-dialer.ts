import type { Libp2p, PeerId } from '@libp2p/interface'
import { CODE_P2P, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { AllowPolicy } from './allow-policy.ts'

const FIRST_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000
const DIAL_TIMEOUT_MS = 5_000
/** Peers whose back-off or stored addresses the dialer keeps (the presence table's default size). */
export const DEFAULT_MAX_TRACKED_PEERS = 1024

/** The peer store keeps a peer's addresses without the `/p2p/<id>` they were announced with. */
const withoutPeerId = (addrs: Multiaddr[]): Multiaddr[] => addrs.map(a => a.decapsulateCode(CODE_P2P))

export interface PeerDialerInit {
  libp2p: Libp2p
  allow: AllowPolicy
  /** Optional dials stop once this many connections are open (swarm.overlayPeers). */
  overlayPeers: number
  /**
   * Peers it keeps a back-off or stored addresses for, each (swarm.maxPeers):
   * presence records and providers can name any number of peer ids, so the
   * oldest entry goes when a new one would pass this.
   */
  maxTrackedPeers?: number
  log: Logger
}

export interface DialOptions {
  /**
   * A peer we heard of (mDNS, the DHT, its presence), not one we need: dialled
   * only while we have fewer than `overlayPeers` connections. Otherwise its
   * addresses go to the peer store, for signalling to dial when a session
   * wants it.
   */
  optional?: boolean
}

/**
 * Dials peers found by mDNS, bootstrap, the DHT rendezvous or presence
 * records (libp2p 3 does not dial discovered peers by itself): one dial per
 * peer at a time, skipped when a connection is already open, with a growing
 * back-off after failures. Failures are expected while peers come and go and
 * are logged at debug, never thrown.
 *
 * Found peers are dialled up to `overlayPeers` connections, not all of them:
 * each connection costs both ends its gossip copies, pings and upkeep, so a
 * full mesh costs every daemon O(N) and the machine O(N²) (twenty daemons
 * on two cores did not fit). Gossipsub carries presence across the overlay.
 */
export class PeerDialer {
  readonly #libp2p: Libp2p
  readonly #allow: AllowPolicy
  readonly #log: Logger
  readonly #inFlight = new Set<string>()
  readonly #backoff = new Map<string, { untilMs: number, delayMs: number }>()
  /** The addresses last put in the peer store for a peer not dialled (see #remember). */
  readonly #remembered = new Map<string, string>()
  readonly #overlayPeers: number
  readonly #maxTracked: number
  readonly #abort = new AbortController()

  constructor (init: PeerDialerInit) {
    this.#libp2p = init.libp2p
    this.#allow = init.allow
    this.#overlayPeers = init.overlayPeers
    this.#maxTracked = init.maxTrackedPeers ?? DEFAULT_MAX_TRACKED_PEERS
    this.#log = init.log
  }

  /** Dial unless connected, already dialling, backing off, not allowed, or (optional) the overlay is full. */
  dial (peerId: PeerId, addrs: Multiaddr[] = [], via = 'discovery', opts: DialOptions = {}): void {
    const id = peerId.toString()
    if (this.#abort.signal.aborted || peerId.equals(this.#libp2p.peerId)) return
    if (!this.#allow.allows(id) || this.#inFlight.has(id)) return
    if (this.#libp2p.getConnections(peerId).length > 0) return
    // Dials in flight count: the records of a whole swarm arrive in one burst when we join.
    if (opts.optional === true && this.#libp2p.getPeers().length + this.#inFlight.size >= this.#overlayPeers) {
      this.#remember(peerId, addrs)
      return
    }
    const backoff = this.#backoff.get(id)
    if (backoff !== undefined && backoff.untilMs > Date.now()) return
    this.#inFlight.add(id)
    void this.#dial(peerId, addrs, via)
      .finally(() => { this.#inFlight.delete(id) })
  }

  async #dial (peerId: PeerId, addrs: Multiaddr[], via: string): Promise<void> {
    const id = peerId.toString()
    try {
      const bare = withoutPeerId(addrs)
      if (bare.length > 0) await this.#libp2p.peerStore.merge(peerId, { multiaddrs: bare })
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
      await this.#libp2p.dial(peerId, { signal })
      this.#backoff.delete(id)
      this.#log.debug({ peer: id, via }, 'dialled peer')
    } catch (err) {
      const delayMs = Math.min((this.#backoff.get(id)?.delayMs ?? FIRST_BACKOFF_MS / 2) * 2, MAX_BACKOFF_MS)
      setBounded(this.#backoff, id, { untilMs: Date.now() + delayMs, delayMs }, this.#maxTracked)
      if (!this.#abort.signal.aborted) this.#log.debug({ peer: id, via, err: (err as Error).message, retryInMs: delayMs }, 'dial failed')
    }
  }

  /** Keep a peer's addresses for a later dial (signalling's), writing the peer store only when they change. */
  #remember (peerId: PeerId, addrs: Multiaddr[]): void {
    if (addrs.length === 0) return
    const id = peerId.toString()
    const bare = withoutPeerId(addrs)
    const key = bare.map(a => a.toString()).sort().join(' ')
    if (this.#remembered.get(id) === key) return
    setBounded(this.#remembered, id, key, this.#maxTracked)
    // Bounded by the peers of the swarm (presence table limits), forgotten with the dialer.
    this.#libp2p.peerStore.merge(peerId, { multiaddrs: bare }).catch((err: unknown) => {
      this.#remembered.delete(id)
      this.#log.debug({ peer: id, err: (err as Error).message }, 'could not store peer addresses')
    })
  }

  /** Dial now, past any back-off (a connection we know was just lost for a local reason). */
  dialNow (peerId: PeerId, via: string): void {
    this.#backoff.delete(peerId.toString())
    this.dial(peerId, [], via)
  }

  /** Peers with a back-off or stored addresses (for tests and metrics). */
  get tracked (): { backoff: number, remembered: number } {
    return { backoff: this.#backoff.size, remembered: this.#remembered.size }
  }

  /** Abort dials in flight; later calls do nothing. */
  stop (): void {
    this.#abort.abort()
    this.#backoff.clear()
    this.#remembered.clear()
  }
}

/** Set `key` as the newest entry of `map`, dropping the oldest ones past `max`. */
function setBounded<V> (map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key)
  map.set(key, value)
  for (const oldest of map.keys()) {
    if (map.size <= max) break
    map.delete(oldest)
  }
}
