import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { PublishRateLimit } from './publish-rate-limit.ts'
import {
  decodeSyncRecord, decodeSyncRequest, encodeSyncRecord, encodeSyncRequest,
  MAX_SYNC_RECORD_FRAME_BYTES, MAX_SYNC_RECORDS, MAX_SYNC_REQUEST_BYTES, SyncMessageError, type SyncRecord
} from './presence-sync-messages.ts'

/** A whole exchange (dial, request, every record) gets this long. */
export const SYNC_TIMEOUT_MS = 5_000
/** Concurrent sync streams one connection may open to us (one is all a well-behaved peer uses). */
const MAX_INBOUND_SYNC_STREAMS = 2
/** Answers per peer: a well-behaved one asks once per connection; more is someone using us as an amplifier. */
const ANSWER_BURST = 4
const ANSWERS_PER_SECOND = 0.2

export interface PresenceSyncInit {
  libp2p: Libp2p
  /** The swarm-scoped protocol id (swarm-scope.ts). */
  protocol: string
  /** Whether `peer` may ask us (the allow list). */
  isAllowed: (peer: string) => boolean
  /** The newest seq we hold of each peer: the request's `have`. */
  have: () => Map<string, number>
  /** What we hold that `have` lacks, for `asker` (our own record included, its own left out). */
  offer: (asker: string, have: Map<string, number>) => SyncRecord[]
  /**
   * One record an answer from `peer` brought; it checks the record (the
   * author's signature) itself, and returns false for an invalid one: the
   * rest of that answer is not read.
   */
  take: (peer: string, record: SyncRecord) => Promise<boolean>
  log: Logger
}

/**
 * Presence sync: a daemon that connects to a peer asks it for the presence
 * records it lacks, in one round trip, instead of waiting for each peer of
 * the swarm to re-announce (up to a stretched interval away) through a
 * gossipsub mesh that is still forming. Each record is the author's own
 * signed envelope, so the peer that relays it cannot forge or alter it; at
 * worst it withholds one, which gossip then brings.
 */
export class PresenceSync {
  readonly #init: PresenceSyncInit
  readonly #asking = new Set<string>()
  readonly #abort = new AbortController()
  readonly #answers = new PublishRateLimit({ burst: ANSWER_BURST, perSecond: ANSWERS_PER_SECOND })
  #handling = false

  constructor (init: PresenceSyncInit) {
    this.#init = init
  }

  async start (): Promise<void> {
    // Relayed (limited) connections too: a peer reached only through a relay joins like any other.
    await this.#init.libp2p.handle(this.#init.protocol, async (stream, connection) => {
      await this.#answer(stream, connection.remotePeer.toString())
    }, { maxInboundStreams: MAX_INBOUND_SYNC_STREAMS, runOnLimitedConnection: true })
    this.#handling = true
  }

  async stop (): Promise<void> {
    this.#abort.abort()
    if (!this.#handling) return
    this.#handling = false
    await this.#init.libp2p.unhandle(this.#init.protocol).catch(() => {})
  }

  /** Ask `peer` for the records we lack; one exchange per peer at a time. Never throws: a failure is logged. */
  async ask (peer: PeerId): Promise<void> {
    const id = peer.toString()
    if (this.#asking.has(id) || this.#abort.signal.aborted) return
    this.#asking.add(id)
    let stream: Stream | undefined
    let taken = 0
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(SYNC_TIMEOUT_MS)])
      stream = await this.#init.libp2p.dialProtocol(peer, this.#init.protocol, { signal, runOnLimitedConnection: true })
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_RECORD_FRAME_BYTES })
      await lp.write(encodeSyncRequest(this.#init.have()), { signal })
      await stream.close({ signal })
      let ended = false
      while (taken < MAX_SYNC_RECORDS) {
        let frame
        try {
          frame = await lp.read({ signal })
        } catch (err) {
          // The end of the answer (a frame cut off by it is lost with it: gossip brings that record).
          if ((err as Error).name === 'UnexpectedEOFError') { ended = true; break }
          throw err
        }
        taken++
        if (!await this.#init.take(id, decodeSyncRecord(frame.subarray()))) break
      }
      // Stopped early (an invalid record, or more than an answer may hold): drop the rest.
      if (!ended) stream.abort(new Error('presence sync answer not read to its end'))
      this.#init.log.debug({ peer: id, records: taken, complete: ended }, 'presence sync answered')
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#init.log.debug({ peer: id, records: taken, err: (err as Error).message }, 'presence sync failed')
      stream?.abort(err as Error)
    } finally {
      this.#asking.delete(id)
    }
  }

  async #answer (stream: Stream, peer: string): Promise<void> {
    const log = this.#init.log
    if (!this.#init.isAllowed(peer)) {
      log.debug({ peer }, 'presence sync from a peer not on the allow list refused')
      stream.abort(new Error('not on the allow list'))
      return
    }
    if (!this.#answers.take(peer)) {
      log.debug({ peer }, 'presence sync over the answer rate refused')
      stream.abort(new Error('too many presence sync requests'))
      return
    }
    try {
      const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(SYNC_TIMEOUT_MS)])
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_REQUEST_BYTES })
      const have = decodeSyncRequest((await lp.read({ signal })).subarray())
      const records = this.#init.offer(peer, have).slice(0, MAX_SYNC_RECORDS)
      for (const record of records) await lp.write(encodeSyncRecord(record), { signal })
      await stream.close({ signal })
    } catch (err) {
      const name = (err as Error).name
      if (err instanceof SyncMessageError || name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        log.warn({ peer, err: (err as Error).message }, 'presence sync request refused')
      } else if (!this.#abort.signal.aborted) {
        log.debug({ peer, err: (err as Error).message }, 'presence sync answer cut short')
      }
      stream.abort(err as Error)
    }
  }
}
