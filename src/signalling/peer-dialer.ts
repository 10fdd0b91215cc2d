import type { Libp2p, PeerId } from '@libp2p/interface'
import { CODE_P2P, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { AllowList } from './allow-list.ts'

const FIRST_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000
const DIAL_TIMEOUT_MS = 5_000

export interface PeerDialerInit {
  libp2p: Libp2p
  allow: AllowList
  log: Logger
}

/**
 * Dials peers found by mDNS, bootstrap, the DHT rendezvous or presence
 * records (libp2p 3 does not dial discovered peers by itself): one dial per
 * peer at a time, skipped when a connection is already open, with a growing
 * back-off after failures. Failures are expected while peers come and go and
 * are logged at debug, never thrown.
 */
export class PeerDialer {
  readonly #libp2p: Libp2p
  readonly #allow: AllowList
  readonly #log: Logger
  readonly #inFlight = new Set<string>()
  readonly #backoff = new Map<string, { untilMs: number, delayMs: number }>()
  readonly #abort = new AbortController()

  constructor (init: PeerDialerInit) {
    this.#libp2p = init.libp2p
    this.#allow = init.allow
    this.#log = init.log
  }

  /** Dial unless connected, already dialling, backing off or not allowed. */
  dial (peerId: PeerId, addrs: Multiaddr[] = [], via = 'discovery'): void {
    const id = peerId.toString()
    if (this.#abort.signal.aborted || peerId.equals(this.#libp2p.peerId)) return
    if (!this.#allow.allows(id) || this.#inFlight.has(id)) return
    if (this.#libp2p.getConnections(peerId).length > 0) return
    const backoff = this.#backoff.get(id)
    if (backoff !== undefined && backoff.untilMs > Date.now()) return
    this.#inFlight.add(id)
    void this.#dial(peerId, addrs, via)
      .finally(() => { this.#inFlight.delete(id) })
  }

  async #dial (peerId: PeerId, addrs: Multiaddr[], via: string): Promise<void> {
    const id = peerId.toString()
    try {
      const bare = addrs.map(a => a.decapsulateCode(CODE_P2P))
      if (bare.length > 0) await this.#libp2p.peerStore.merge(peerId, { multiaddrs: bare })
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
      await this.#libp2p.dial(peerId, { signal })
      this.#backoff.delete(id)
      this.#log.debug({ peer: id, via }, 'dialled peer')
    } catch (err) {
      const delayMs = Math.min((this.#backoff.get(id)?.delayMs ?? FIRST_BACKOFF_MS / 2) * 2, MAX_BACKOFF_MS)
      this.#backoff.set(id, { untilMs: Date.now() + delayMs, delayMs })
      if (!this.#abort.signal.aborted) this.#log.debug({ peer: id, via, err: (err as Error).message, retryInMs: delayMs }, 'dial failed')
    }
  }

  /** Dial now, past any back-off (a connection we know was just lost for a local reason). */
  dialNow (peerId: PeerId, via: string): void {
    this.#backoff.delete(peerId.toString())
    this.dial(peerId, [], via)
  }

  /** Abort dials in flight; later calls do nothing. */
  stop (): void {
    this.#abort.abort()
    this.#backoff.clear()
  }
}
