import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { formatSinkSpec, parseSinkSpec, type SinkSpec } from '../../media/sink-spec.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import { ConflictError, NotFoundError, PipelineError, WatchEndedError } from '../../util/errors.ts'
import type { Consumer, ConsumerEndCode } from '../media-router/consumer.ts'
import type { MediaRouter } from '../media-router/media-router.ts'
import { END_ERRORS } from '../media-router/producer.ts'
import type { SessionManager } from '../sessions/session-manager.ts'
import type { ForwardedStreams } from './forwarded-streams.ts'
import { SinkTrack, type SinkTrackInit } from './sink-track.ts'
import type { WatchInfo, WatchState } from './watch-types.ts'
import { checkWatchable, watchStats } from './watches.ts'

/** POST /v1/watch's at once (each may run a GStreamer process). */
export const MAX_SINK_WATCHES = 64

export interface SinkWatchesInit {
  localPeer: string
  /** Each watch is a consumer of the peer's stream (one forwarded watch however many play it). */
  router: Pick<MediaRouter, 'consume'>
  /** The forwarded watch behind a peer's stream: its state, track figures and format. */
  streams: Pick<ForwardedStreams, 'watchOf' | 'formatOf'>
  sessions: Pick<SessionManager, 'link'>
  peers: () => PeerInfo[]
  /** Builds a watch's sink (tests); default a GstSink. */
  createSink?: SinkTrackInit['createSink']
  logger: Logger
}

interface SinkWatch {
  id: string
  peer: string
  source: string
  spec: SinkSpec
  createdAt: Date
  track: SinkTrack
  consumer: Consumer | undefined
  /** Why it ended (the peer ended the stream, the sink failed); null while it runs. */
  error: { name: string, message: string } | null
}

/** The error a watch fails with when its stream ends: the producer's, or the sink's own failure. */
const endErrorName = (code: ConsumerEndCode): string => code === 'consumer-failed' ? PipelineError.name : END_ERRORS[code].name

/**
 * The watches of POST /v1/watch: a peer's source into a local sink (count,
 * file:, rtp://, display). Each is the one consumer of a media-router
 * producer of its own, whose origin is a watch of the peer under the same id
 * (Watches, through ForwardedStreams): the watch's id is its track's mid and
 * the peer's viewer id, and the sink's key-frame requests and figures go
 * through the producer like any consumer's. The sink keeps running while the
 * session reconnects, so a recording goes on.
 */
export class SinkWatches {
  readonly #init: SinkWatchesInit
  readonly #log: Logger
  readonly #watches = new Map<string, SinkWatch>()
  #closed = false

  constructor (init: SinkWatchesInit) {
    this.#init = init
    this.#log = init.logger
  }

  list (): WatchInfo[] {
    return [...this.#watches.values()].map(w => this.#info(w))
  }

  get (id: string): WatchInfo {
    return this.#info(this.#find(id))
  }

  /**
   * Start watching; resolves once it plays, was refused (state failed), or
   * after Watches' start wait (still trying). NotFoundError for an unknown
   * peer or source, ConflictError for our own peer, a data-only session or
   * too many watches.
   */
  async create (peer: string, source: string, sink: string): Promise<WatchInfo> {
    if (this.#closed) throw new WatchEndedError('the daemon is stopping')
    const spec = parseSinkSpec(sink)
    checkWatchable(this.#init, peer, source)
    if (this.#watches.size >= MAX_SINK_WATCHES) throw new ConflictError(`already ${MAX_SINK_WATCHES} watches: end one first`)
    const id = randomBytes(12).toString('base64url')
    const logger = this.#log.child({ watch: id })
    const watch: SinkWatch = {
      id,
      peer,
      source,
      spec,
      createdAt: new Date(),
      consumer: undefined,
      error: null,
      track: new SinkTrack({
        spec,
        format: () => this.#init.streams.formatOf(peer, source, id),
        createSink: this.#init.createSink,
        onFailed: err => { this.#fail(watch, { name: err.name, message: err.message }) },
        logger
      })
    }
    this.#watches.set(id, watch)
    this.#log.info({ watch: id, peer, source, sink: formatSinkSpec(spec) }, 'watching')
    let consumer: Consumer
    try {
      consumer = await this.#init.router.consume(peer, source, {
        kind: 'sink',
        client: id,
        onEnd: (code, reason) => { this.#fail(watch, { name: endErrorName(code), message: reason }) }
      }, { own: id })
    } catch (err) {
      if ((err as Error).name === NotFoundError.name) {
        await this.#drop(watch)
        throw err
      }
      this.#fail(watch, { name: (err as Error).name, message: (err as Error).message })
      return this.#info(watch)
    }
    if (!this.#watches.has(id) || watch.error !== null) {
      consumer.close()
      return this.#info(watch)
    }
    watch.consumer = consumer
    consumer.attach(watch.track)
    await watch.track.prepare()
    return this.#info(watch)
  }

  /** Stop watching: leaves the stream (the last consumer ends the peer's watch), stops the sink (a file gets its EOS). */
  async delete (id: string): Promise<void> {
    await this.#drop(this.#find(id))
  }

  async close (): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#watches.values()].map(async w => { await this.#drop(w) }))
  }

  #find (id: string): SinkWatch {
    const watch = this.#watches.get(id)
    if (watch === undefined) throw new NotFoundError(`no watch ${id}`)
    return watch
  }

  /** It cannot go on: it leaves the stream and its sink stops; it stays listed (failed) until deleted. */
  #fail (watch: SinkWatch, error: { name: string, message: string }): void {
    if (watch.error !== null) return
    watch.error = error
    this.#log.warn({ watch: watch.id, peer: watch.peer, source: watch.source, err: error.message }, 'watch failed')
    watch.consumer?.close()
    void watch.track.stop()
  }

  async #drop (watch: SinkWatch): Promise<void> {
    if (!this.#watches.delete(watch.id)) return
    watch.consumer?.close()
    await watch.track.stop()
    this.#log.info({ watch: watch.id, peer: watch.peer, source: watch.source }, 'watch ended')
  }

  #info (watch: SinkWatch): WatchInfo {
    const remote = this.#init.streams.watchOf(watch.peer, watch.source, watch.id)
    const sink = watch.track.sinkStats()
    const state: WatchState = watch.error !== null
      ? 'failed'
      : remote === undefined
        ? 'connecting'
        : remote.state === 'active' && !watch.track.ready ? 'negotiating' : remote.state
    // What the track asked the peer for (this sink's requests went through the producer's policy).
    const stats = watchStats(sink, {
      keyFrameRequests: remote?.stats.keyFrameRequests ?? 0,
      nacksSent: remote?.stats.nacksSent ?? 0,
      retransmitsReceived: remote?.stats.retransmitsReceived ?? 0,
      jitterMs: remote?.stats.jitterMs ?? 0
    }, watch.track.stats().dropped)
    return {
      id: watch.id,
      peer: watch.peer,
      source: watch.source,
      sink: formatSinkSpec(watch.spec),
      state,
      kind: remote?.kind ?? sink?.kind ?? null,
      codec: remote?.codec ?? sink?.codec ?? null,
      error: watch.error ?? (remote?.state === 'failed' ? remote.error : null),
      createdAt: watch.createdAt.toISOString(),
      activeAt: state === 'active' ? remote?.activeAt ?? null : null,
      stats
    }
  }
}
