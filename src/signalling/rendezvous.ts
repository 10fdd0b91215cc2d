import type { PeerInfo as Libp2pPeerInfo } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'

/** Provide again at least this often, even when nothing changed. */
const REPROVIDE_MS = 5 * 60_000
/** Never run two rounds closer together than this, however often triggered. */
const MIN_GAP_MS = 500

export interface RendezvousInit {
  dht: KadDHT
  /** The swarm's rendezvous key (see swarm-scope.ts). */
  cid: CID
  /** Between rounds while we have no peer. */
  intervalMs: number
  /**
   * Between rounds while we have peers (default `intervalMs`). Presence
   * records carry every peer's addresses and each daemon dials those it is
   * not connected to, so once connected to one peer of the swarm we learn of
   * all the peers it knows; the DHT is left to join parts of a swarm that
   * know nothing of each other, which can wait a while. A round queries
   * every DHT peer, so a swarm of N pays N² streams for each round of each.
   */
  connectedIntervalMs?: number
  /** How long one provide or findProviders query may take. */
  queryTimeoutMs: number
  /** How many peers we are connected to; queries with none would only wait. */
  connectedPeers: () => number
  onProvider: (peer: Libp2pPeerInfo) => void
  log: Logger
}

/**
 * The DHT rendezvous beyond the LAN: every node provides the swarm's
 * rendezvous key and periodically looks up its providers, handing each one
 * to `onProvider` (which dials it). A round runs every `intervalMs`
 * (`connectedIntervalMs` while we have peers) and soon after `trigger()`
 * (a first connection, or the last one lost); rounds never overlap.
 */
export class Rendezvous {
  readonly #init: RendezvousInit
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  #again = false
  #lastRunMs = 0
  #lastProvide = { atMs: 0, peers: -1 }

  constructor (init: RendezvousInit) {
    this.#init = init
  }

  start (): void {
    this.#schedule(0)
  }

  /** Run a round soon (coalesced with one already due or running). */
  trigger (): void {
    if (this.#abort.signal.aborted) return
    if (this.#running !== undefined) { this.#again = true; return }
    this.#schedule(Math.max(0, this.#lastRunMs + MIN_GAP_MS - Date.now()))
  }

  async stop (): Promise<void> {
    this.#abort.abort()
    clearTimeout(this.#timer)
    await this.#running
  }

  #schedule (delayMs: number): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => { this.#round() }, delayMs)
  }

  #round (): void {
    if (this.#abort.signal.aborted || this.#running !== undefined) return
    this.#lastRunMs = Date.now()
    this.#running = this.#run()
      .catch(err => { this.#init.log.debug({ err: (err as Error).message }, 'rendezvous round failed') })
      .finally(() => {
        this.#running = undefined
        if (this.#abort.signal.aborted) return
        const again = this.#again
        this.#again = false
        this.#schedule(again ? MIN_GAP_MS : this.#nextIntervalMs())
      })
  }

  #nextIntervalMs (): number {
    return this.#init.connectedPeers() > 0 ? (this.#init.connectedIntervalMs ?? this.#init.intervalMs) : this.#init.intervalMs
  }

  async #run (): Promise<void> {
    const peers = this.#init.connectedPeers()
    if (peers === 0) return
    const now = Date.now()
    if (peers !== this.#lastProvide.peers || now - this.#lastProvide.atMs > REPROVIDE_MS) {
      if (await this.#provide()) this.#lastProvide = { atMs: now, peers }
    }
    await this.#findProviders()
  }

  #signal (): AbortSignal {
    return AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#init.queryTimeoutMs)])
  }

  async #provide (): Promise<boolean> {
    try {
      for await (const event of this.#init.dht.provide(this.#init.cid, { signal: this.#signal() })) {
        if (event.name === 'QUERY_ERROR') this.#init.log.trace({ from: event.from.toString(), err: event.error.message }, 'provide: peer failed')
      }
      return true
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#init.log.debug({ err: (err as Error).message }, 'provide rendezvous key failed')
      return false
    }
  }

  async #findProviders (): Promise<void> {
    try {
      for await (const event of this.#init.dht.findProviders(this.#init.cid, { signal: this.#signal() })) {
        if (event.name !== 'PROVIDER') continue
        for (const provider of event.providers) this.#init.onProvider(provider)
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#init.log.debug({ err: (err as Error).message }, 'find rendezvous providers failed')
    }
  }
}
