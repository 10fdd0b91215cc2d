import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from 'pino'
import { presenceExpiryMs } from './presence-interval.ts'
import type { PresenceTable } from './presence-table.ts'

const MAX_PING_TIMEOUT_MS = 5_000

export interface PeerExpiryInit {
  libp2p: Libp2p<{ ping: Ping }>
  table: PresenceTable
  expiryMs: number
  /** Our own announce interval: a peer's expiry stretches with its own (see presence-interval.ts). */
  intervalMs: number
  /**
   * Our re-announce interval now (stretched by the peers we know). A peer we
   * were never connected to is only somebody's say-so: its expiry stretches
   * no further than this, whatever `every` its record claims. Default: `intervalMs`.
   */
  currentIntervalMs?: () => number
  log: Logger
}

/**
 * Drops peers that are gone: silent for `expiryMs` AND unreachable, meaning
 * no open connection, or a ping over the open one fails. A silent peer that
 * still answers pings stays (its gossip may just be slow).
 */
export class PeerExpiry {
  readonly #init: PeerExpiryInit
  readonly #pinging = new Set<string>()
  readonly #abort = new AbortController()
  #timer: NodeJS.Timeout | undefined

  constructor (init: PeerExpiryInit) {
    this.#init = init
  }

  start (): void {
    const every = Math.max(100, Math.floor(this.#init.expiryMs / 4))
    this.#timer = setInterval(() => { this.sweep() }, every)
  }

  stop (): void {
    clearInterval(this.#timer)
    this.#abort.abort()
  }

  sweep (nowMs: number = Date.now()): void {
    const { table, libp2p, expiryMs, intervalMs } = this.#init
    table.pruneSeqs(nowMs - 10 * expiryMs)
    const current = this.#init.currentIntervalMs?.() ?? intervalMs
    const expiryOf = (every: number | undefined, direct: boolean): number =>
      presenceExpiryMs({ expiryMs, intervalMs }, direct ? every : Math.min(every ?? intervalMs, current))
    for (const id of table.silent(nowMs, expiryOf)) {
      if (this.#pinging.has(id)) continue
      const peerId = peerIdFromString(id)
      if (libp2p.getConnections(peerId).length === 0) {
        this.#init.log.debug({ peer: id }, 'peer silent and not connected: lost')
        table.remove(id)
        continue
      }
      this.#pinging.add(id)
      void this.#ping(id, peerId).finally(() => { this.#pinging.delete(id) })
    }
  }

  async #ping (id: string, peerId: PeerId): Promise<void> {
    const timeout = Math.min(MAX_PING_TIMEOUT_MS, this.#init.expiryMs)
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(timeout)])
      const rtt = await this.#init.libp2p.services.ping.ping(peerId, { signal })
      this.#init.log.debug({ peer: id, rtt }, 'peer silent but answers ping: kept')
    } catch (err) {
      if (this.#abort.signal.aborted) return
      this.#init.log.debug({ peer: id, err: (err as Error).message }, 'peer silent and ping failed: lost')
      this.#init.table.remove(id)
    }
  }
}
