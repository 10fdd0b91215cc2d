import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import type { Logger } from 'pino'
import { lostHost } from './address-hosts.ts'

/** A connection that does not answer a ping within this after our addresses changed is taken for dead. */
export const CHECK_PING_TIMEOUT_MS = 1_500

export interface ConnectionCheckInit {
  libp2p: Libp2p<{ ping: Ping }>
  /** Dial a peer again (through the swarm's dialer: back-off, allow list). */
  redial: (peer: PeerId) => void
  log: Logger
}

/**
 * We lost an address (an interface was renumbered or went down):
 * TCP connections bound to an address we no longer have are dead, but TCP
 * would take minutes to say so. Ping each connected peer once; hang up on
 * those that do not answer and dial them again at once, so signalling (and
 * the sessions re-made over it) does not wait for presence to expire.
 */
export class ConnectionCheck {
  readonly #init: ConnectionCheckInit
  readonly #abort = new AbortController()
  #addresses: Set<string> | undefined
  #checking = false

  constructor (init: ConnectionCheckInit) {
    this.#init = init
  }

  /** Compare our addresses with the last look; on a change, check every connection. */
  look (): void {
    const now = this.#init.libp2p.getMultiaddrs().map(a => a.toString())
    // Only an address that went away can leave a connection dead; a new one (identify, an interface up) cannot.
    const lost = this.#addresses !== undefined && lostHost(this.#addresses, now)
    this.#addresses = new Set(now)
    if (lost && !this.#checking) void this.#checkAll()
  }

  stop (): void {
    this.#abort.abort()
  }

  async #checkAll (): Promise<void> {
    this.#checking = true
    const { libp2p, log } = this.#init
    log.info({ addresses: [...this.#addresses ?? []] }, 'we lost an address: checking every connection')
    try {
      await Promise.all(libp2p.getPeers().map(async peer => { await this.#check(peer) }))
    } finally {
      this.#checking = false
    }
  }

  async #check (peer: PeerId): Promise<void> {
    const { libp2p, log, redial } = this.#init
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(CHECK_PING_TIMEOUT_MS)])
      await libp2p.services.ping.ping(peer, { signal })
    } catch (err) {
      if (this.#abort.signal.aborted) return
      log.info({ peer: peer.toString(), err: (err as Error).message }, 'connection dead after an address change: dialling again')
      await libp2p.hangUp(peer).catch(() => {})
      redial(peer)
    }
  }
}
