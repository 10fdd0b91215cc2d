import type { Logger } from 'pino'
import type { KeyFrameKind } from '../../media/keyframe-throttle.ts'
import type { Codec } from '../../media/codecs.ts'
import { SourceFailedError } from '../../util/errors.ts'
import type { ForwardOrigins } from '../media-router/media-router.ts'
import { END_ERRORS, type ProducerEndCode, type ProducerOrigin, type ProducerOutput } from '../media-router/producer.ts'
import type { ProducerKind } from '../media-router/router-info.ts'
import { ForwardSink } from './forward-sink.ts'
import type { WatchInfo } from './watch-types.ts'
import type { Watches } from './watches.ts'

export interface ForwardedStreamsInit {
  /** The daemon's one Watches: every track it receives from a peer's source is one of its watches. */
  watches: Pick<Watches, 'create' | 'delete' | 'list' | 'find'>
  logger: Logger
}

/** What a forwarded stream carries, once the peer said (its `watching`): consumers that decode need it. */
export interface ForwardedFormat {
  codec: Codec
  payloadType: number
}

/**
 * Peers' sources as producers of the media router: this daemon watches the
 * remote source once (a watch of the daemon's Watches) into a ForwardSink,
 * which writes the remote track's packets into the producer without
 * re-encoding; the producer's key-frame requests go back to the peer as PLI.
 * The watch ends with the producer's last consumer. Its watches close with
 * the watch service's (before the sessions).
 */
export class ForwardedStreams implements ForwardOrigins {
  readonly #log: Logger
  readonly #watches: ForwardedStreamsInit['watches']
  /** The live ones by `${peer}/${source}` (the router keeps at most one producer per stream). */
  readonly #streams = new Map<string, ForwardedStream>()

  constructor (init: ForwardedStreamsInit) {
    this.#log = init.logger
    this.#watches = init.watches
  }

  create (peer: string, source: string, output: ProducerOutput, own?: string): ProducerOrigin {
    const key = streamKey(peer, source, own)
    const stream = new ForwardedStream(this.#watches, peer, source, output, this.#log, own, () => { if (this.#streams.get(key) === stream) this.#streams.delete(key) })
    this.#streams.set(key, stream)
    return stream
  }

  /** The forwarded watches (GET /api/browsers shows them). */
  list (): WatchInfo[] {
    return this.#watches.list()
  }

  /** The watch that forwards `source` of `peer` now (the one of consumer `own`, for a stream of its own), if one does. */
  watchOf (peer: string, source: string, own?: string): WatchInfo | undefined {
    return this.#streams.get(streamKey(peer, source, own))?.watch()
  }

  /** What that stream carries, once its peer said. */
  formatOf (peer: string, source: string, own?: string): ForwardedFormat | undefined {
    return this.#streams.get(streamKey(peer, source, own))?.format
  }
}

const streamKey = (peer: string, source: string, own: string | undefined): string => own === undefined ? `${peer}/${source}` : `${peer}/${source}#${own}`

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
  #format: ForwardedFormat | undefined
  readonly #onClose: () => void
  /** The one consumer's id, for a stream of its own: its watch (and the peer's viewer) get that id. */
  readonly #own: string | undefined

  constructor (watches: ForwardedStreamsInit['watches'], peer: string, source: string, output: ProducerOutput, log: Logger, own: string | undefined, onClose: () => void) {
    this.#watches = watches
    this.#peer = peer
    this.#source = source
    this.#output = output
    this.#log = log
    this.#own = own
    this.#onClose = onClose
  }

  get format (): ForwardedFormat | undefined { return this.#format }

  watch (): WatchInfo | undefined {
    return this.#watchId === undefined ? undefined : this.#watches.find(this.#watchId)
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
    if (id !== undefined) await this.#watches.delete(id).catch(() => {})
  }

  requestKeyFrame (_kind: KeyFrameKind): void {
    this.#sink?.requestKeyFrame()
  }

  stats (): object | null {
    return this.#sink?.stats() ?? null
  }

  close (): void {
    this.#sink = undefined
    this.#onClose()
  }

  async #start (): Promise<void> {
    if (this.#watchId !== undefined) {
      const state = this.watch()?.state
      if (state !== undefined && state !== 'failed') return
      this.#watchId = undefined
    }
    let id: string | undefined
    const info = await this.#watches.create(this.#peer, this.#source, 'count', {
      id: this.#own,
      // Refused or ended after it started (while reconnecting, say): every consumer ends.
      onFailed: err => { if (id !== undefined && id === this.#watchId) this.#ended(err) },
      createSink: ({ codec, payloadType }) => {
        this.#format = { codec, payloadType }
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
      await this.#watches.delete(info.id).catch(() => {})
      throw new SourceFailedError(`watching ${this.#source} of ${this.#peer} failed: ${info.error?.name ?? 'Error'}: ${info.error?.message ?? ''}`)
    }
    id = info.id
    this.#watchId = id
    // Not active yet (no session, the peer slow to answer): the watch keeps trying, and its consumers get the stream when it comes.
    this.#log.info({ peer: this.#peer, source: this.#source, watch: id, state: info.state }, 'forwarding a peer\'s source')
  }

  #ended (err?: Error): void {
    this.#sink = undefined
    const error = err ?? this.watch()?.error ?? undefined
    this.#log.info({ peer: this.#peer, source: this.#source, watch: this.#watchId, err: error?.message }, 'forwarded watch ended: ending its consumers')
    this.#output.end(endCode(error?.name), error === undefined ? `the forwarded watch of ${this.#source} ended` : error.message.slice(0, 256))
  }
}

/** The producer's end code for why the peer ended its watch (the error Watches named it by): END_ERRORS read backwards. */
function endCode (errorName: string | undefined): ProducerEndCode {
  return (Object.keys(END_ERRORS) as ProducerEndCode[]).find(code => END_ERRORS[code].name === errorName) ?? 'ended'
}
