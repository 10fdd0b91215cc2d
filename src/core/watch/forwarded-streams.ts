import type { Logger } from 'pino'
import type { KeyFrameKind } from '../../media/keyframe-throttle.ts'
import { SourceFailedError, TimeoutError } from '../../util/errors.ts'
import type { ForwardOrigins } from '../media-router/media-router.ts'
import type { ProducerOrigin, ProducerOutput } from '../media-router/producer.ts'
import type { ProducerKind } from '../media-router/router-info.ts'
import { ForwardSink } from './forward-sink.ts'
import type { WatchInfo } from './watch-types.ts'
import type { Watches } from './watches.ts'

export interface ForwardedStreamsInit {
  /** The daemon's one Watches (the watch service's): forwarded watches are among its own, marked `forwarded`. */
  watches: Pick<Watches, 'create' | 'delete' | 'list'>
  logger: Logger
}

/**
 * Peers' sources as producers of the media router: this daemon watches the
 * remote source once (a `forwarded` watch of the daemon's Watches, which
 * POST /v1/watch does not list) into a
 * ForwardSink, which writes the remote track's packets into the producer
 * without re-encoding; the producer's key-frame requests go back to the peer
 * as PLI. The watch ends with the producer's last consumer.
 */
/** Its watches close with the watch service's (before the sessions). */
export class ForwardedStreams implements ForwardOrigins {
  readonly #log: Logger
  readonly #watches: ForwardedStreamsInit['watches']

  constructor (init: ForwardedStreamsInit) {
    this.#log = init.logger
    this.#watches = init.watches
  }

  create (peer: string, source: string, output: ProducerOutput): ProducerOrigin {
    return new ForwardedStream(this.#watches, peer, source, output, this.#log)
  }

  /** The forwarded watches (GET /api/browsers shows them). */
  list (): WatchInfo[] {
    return this.#watches.list(FORWARDED)
  }

}

const FORWARDED = { forwarded: true }

/** One forwarded watch: the origin of one producer. */
class ForwardedStream implements ProducerOrigin {
  readonly kind: ProducerKind = 'forward'
  readonly #watches: ForwardedStreamsInit['watches']
  readonly #peer: string
  readonly #source: string
  readonly #output: ProducerOutput
  readonly #log: Logger
  #users = 0
  #watchId: string | undefined
  #starting: Promise<void> | undefined
  /** The watch's current sink (a new one replaces it when the codec changes). */
  #sink: ForwardSink | undefined

  constructor (watches: ForwardedStreamsInit['watches'], peer: string, source: string, output: ProducerOutput, log: Logger) {
    this.#watches = watches
    this.#peer = peer
    this.#source = source
    this.#output = output
    this.#log = log
  }

  async hold (): Promise<void> {
    this.#users++
    this.#starting ??= this.#start().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async release (): Promise<void> {
    if (--this.#users > 0) return
    const id = this.#watchId
    this.#watchId = undefined
    this.#sink = undefined
    if (id !== undefined) await this.#watches.delete(id, FORWARDED).catch(() => {})
  }

  requestKeyFrame (_kind: KeyFrameKind): void {
    this.#sink?.requestKeyFrame()
  }

  stats (): object | null {
    return this.#sink?.stats() ?? null
  }

  close (): void {
    this.#sink = undefined
  }

  async #start (): Promise<void> {
    if (this.#watchId !== undefined) {
      const state = this.#watches.list(FORWARDED).find(w => w.id === this.#watchId)?.state
      if (state !== undefined && state !== 'failed') return
      this.#watchId = undefined
    }
    const info = await this.#watches.create(this.#peer, this.#source, 'count', {
      forwarded: true,
      createSink: ({ codec, payloadType }) => {
        const sink: ForwardSink = new ForwardSink({
          codec,
          payloadType,
          write: this.#output.write,
          // The watch stopped its sink while consumers played it (the peer ended it, its source went away).
          onStop: () => { if (this.#sink === sink) this.#ended() }
        })
        this.#sink = sink
        return sink
      }
    })
    if (info.state === 'failed') {
      await this.#watches.delete(info.id, FORWARDED).catch(() => {})
      throw new SourceFailedError(`watching ${this.#source} of ${this.#peer} failed: ${info.error?.name ?? 'Error'}: ${info.error?.message ?? ''}`)
    }
    this.#watchId = info.id
    if (info.state !== 'active') throw new TimeoutError(`peer ${this.#peer} did not start sending ${this.#source} in time (${info.state})`)
    this.#log.info({ peer: this.#peer, source: this.#source, watch: info.id }, 'forwarding a peer\'s source')
  }

  #ended (): void {
    this.#sink = undefined
    const error = this.#watches.list(FORWARDED).find(w => w.id === this.#watchId)?.error
    this.#log.info({ peer: this.#peer, source: this.#source, watch: this.#watchId }, 'forwarded watch ended: ending its consumers')
    this.#output.end('ended', error === null || error === undefined ? `the forwarded watch of ${this.#source} ended` : `${error.name}: ${error.message}`.slice(0, 256))
  }
}
