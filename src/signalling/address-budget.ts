import type { Multiaddr } from '@multiformats/multiaddr'

/** Addresses the peer store keeps per peer (identify, DHT provider records, peer records). */
export const DEFAULT_MAX_ADDRESSES_PER_PEER = 32
/** Peers whose addresses are tracked; past it the least recently seen is forgotten. */
export const DEFAULT_MAX_TRACKED_PEERS = 4096
/** A peer's addresses are forgotten after this long without news, so a robot that moves can announce new ones. */
export const DEFAULT_ADDRESS_TTL_MS = 10 * 60_000

interface Seen { addrs: Set<string>, atMs: number }

/**
 * A cap on the addresses libp2p's peer store takes for one peer: it has no
 * knob of its own, and a DHT ADD_PROVIDER or an identify message can carry
 * thousands; every later merge of that peer then costs CPU in proportion (one
 * record of 20,000 addresses made each small ADD_PROVIDER cost 1.5 s). Used as
 * the connection gater's `filterMultiaddrForPeer`, which the peer store asks
 * for every address it is given. Known addresses always pass; new ones pass
 * while the peer has fewer than `maxPerPeer`.
 */
export class AddressBudget {
  readonly #max: number
  readonly #maxPeers: number
  readonly #ttlMs: number
  readonly #now: () => number
  /** Insertion order is recency order (re-inserted on every use). */
  readonly #peers = new Map<string, Seen>()

  constructor (init: { maxPerPeer?: number, maxPeers?: number, ttlMs?: number, now?: () => number } = {}) {
    this.#max = init.maxPerPeer ?? DEFAULT_MAX_ADDRESSES_PER_PEER
    this.#maxPeers = init.maxPeers ?? DEFAULT_MAX_TRACKED_PEERS
    this.#ttlMs = init.ttlMs ?? DEFAULT_ADDRESS_TTL_MS
    this.#now = init.now ?? Date.now
  }

  /** Whether the peer store may keep `addr` for `peer`. */
  allows (peer: string, addr: Multiaddr | string): boolean {
    const now = this.#now()
    let seen = this.#peers.get(peer)
    if (seen !== undefined) this.#peers.delete(peer)
    if (seen === undefined || now - seen.atMs > this.#ttlMs) seen = { addrs: new Set(), atMs: now }
    this.#peers.set(peer, seen)
    if (this.#peers.size > this.#maxPeers) {
      const oldest = this.#peers.keys().next().value
      if (oldest !== undefined) this.#peers.delete(oldest)
    }
    const key = addr.toString()
    if (seen.addrs.has(key)) {
      seen.atMs = now
      return true
    }
    if (seen.addrs.size >= this.#max) return false
    seen.addrs.add(key)
    seen.atMs = now
    return true
  }

  get peers (): number { return this.#peers.size }
}
