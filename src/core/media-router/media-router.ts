import type { Logger } from 'pino'
import type { KeyFrameKind } from '../../media/keyframe-throttle.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import type { TrackCodec, TrackKind } from '../../transport/track-types.ts'
import { ConflictError, NotFoundError, WatchEndedError } from '../../util/errors.ts'
import type { Startable } from '../../util/startable.ts'
import type { Consumer, ConsumerInit } from './consumer.ts'
import { Producer, type ProducerOrigin, type ProducerOutput } from './producer.ts'
import type { ProducerInfo } from './router-info.ts'
import { SourceOrigin, type SourceOriginMedia } from './source-origin.ts'

/** Makes the origin of a peer's stream forwarded through this daemon (core/watch/forwarded-streams.ts). */
export interface ForwardOrigins {
  /** `own`: the id of the one consumer a dedicated producer serves (ConsumeOptions.own). */
  create: (peer: string, source: string, output: ProducerOutput, own?: string) => ProducerOrigin
}

export interface ConsumeOptions {
  /**
   * A peer's stream of this consumer's own, under this id: its own producer
   * and origin, so its own track from the peer, which carries the id as its
   * mid (a POST /v1/watch: the watch's id is the peer's viewer id too, and
   * two watches of one source are two tracks, as they always were).
   * Browsers and in-process feeds share one producer per stream instead.
   */
  own?: string
}

export interface MediaRouterInit {
  localPeer: string
  /** This daemon's sources (configured and published). */
  media: SourceOriginMedia
  /** Peers' sources, forwarded; without it consuming one is a NotFoundError. */
  forward?: ForwardOrigins
  /** Peers in presence, for what their sources are. */
  peers: () => PeerInfo[]
  /** The producers' key-frame interval (KEYFRAME_MIN_INTERVAL_MS). */
  keyFrameIntervalMs?: number
  logger: Logger
}

/**
 * Every stream this daemon sends, and everywhere it goes (mediasoup's
 * Router): one Producer per stream (this daemon's source, a WHIP
 * publication, a peer's stream it forwards) however many consumers play it
 * (peers' tracks, browsers', in-process feeds). A consumer holds its
 * producer; the last to leave stops it.
 */
export class MediaRouter implements Startable {
  readonly #init: MediaRouterInit
  readonly #log: Logger
  /** Live producers by `${peer}/${source}`; one that ended leaves at once (the next consumer gets a new one). */
  readonly #producers = new Map<string, Producer>()
  #running = false

  constructor (init: MediaRouterInit) {
    this.#init = init
    this.#log = init.logger
  }

  get localPeer (): string { return this.#init.localPeer }

  async start (): Promise<void> {
    this.#running = true
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    for (const producer of [...this.#producers.values()]) producer.close()
    this.#producers.clear()
  }

  /** Kind and codec of a source of this daemon (peer undefined or ours) or of a peer; NotFoundError when unknown. */
  describe (peer: string | undefined, source: string): { kind: TrackKind, codec: TrackCodec } {
    if (this.isLocal(peer)) {
      const info = this.#init.media.list().find(s => s.name === source)
      if (info === undefined) throw new NotFoundError(`no source named ${source} on this daemon`)
      return { kind: info.kind, codec: info.codec }
    }
    const info = this.#init.peers().find(p => p.peerId === peer)
    if (info === undefined) throw new NotFoundError(`no peer ${peer} in the swarm`)
    const s = info.sources.find(x => x.name === source)
    if (s === undefined) throw new NotFoundError(`peer ${peer} has no source named ${source}`)
    return { kind: s.kind, codec: s.codec as TrackCodec }
  }

  isLocal (peer: string | undefined): boolean {
    return peer === undefined || peer === this.#init.localPeer
  }

  /**
   * A new consumer of `source` of this daemon (peer undefined or ours) or of
   * a peer, with the stream started if it was not. Rejects as the start does
   * (NotFoundError, SourceFailedError, TimeoutError, a pipeline's error).
   * Attach its output, and close() it when done.
   */
  async consume (peer: string | undefined, source: string, init: ConsumerInit, options: ConsumeOptions = {}): Promise<Consumer> {
    if (!this.#running) throw new WatchEndedError('the media router is stopping')
    const owner = this.isLocal(peer) ? this.#init.localPeer : peer as string
    if (options.own !== undefined && owner === this.#init.localPeer) throw new ConflictError('a stream of its own is for a peer\'s source; this daemon\'s sources are shared')
    const producer = this.#producer(owner, source, options.own)
    return await producer.consume(init)
  }

  /** The live producer of a stream, if any consumer plays it. */
  producer (peer: string | undefined, source: string): Producer | undefined {
    return this.#producers.get(`${this.isLocal(peer) ? this.#init.localPeer : peer as string}/${source}`)
  }

  /** Every live producer with its consumers (read-only). */
  list (): ProducerInfo[] {
    return [...this.#producers.values()].map(p => p.info())
  }

  /** Ask a stream for a key frame through its producer's policy (no-op when nobody plays it). */
  requestKeyFrame (peer: string | undefined, source: string, kind: KeyFrameKind = 'pli'): void {
    this.producer(peer, source)?.requestKeyFrame(kind)
  }

  #producer (peer: string, source: string, own?: string): Producer {
    const key = own === undefined ? `${peer}/${source}` : `${peer}/${source}#${own}`
    const existing = this.#producers.get(key)
    if (existing !== undefined) return existing
    const local = peer === this.#init.localPeer
    const forward = this.#init.forward
    if (!local && forward === undefined) throw new NotFoundError(`this daemon forwards no peer's source (${source} of ${peer})`)
    const producer = new Producer({
      peer,
      source,
      createOrigin: output => local ? new SourceOrigin(this.#init.media, source, output) : (forward as ForwardOrigins).create(peer, source, output, own),
      keyFrameIntervalMs: this.#init.keyFrameIntervalMs,
      logger: this.#log
    })
    const leave = (): void => { if (this.#producers.get(key) === producer) this.#producers.delete(key) }
    producer.once('ended', leave)
    producer.once('idle', leave)
    this.#producers.set(key, producer)
    return producer
  }
}
