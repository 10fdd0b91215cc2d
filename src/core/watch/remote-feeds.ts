import type { Logger } from 'pino'
import type { MediaSignalMessage } from '../../signalling/signal-messages.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import type { SessionLink, SessionManager } from '../sessions/session-manager.ts'
import { Watches } from './watches.ts'
import type { SendTrack, TrackCodec, TrackKind } from '../../transport/track-types.ts'
import { NotFoundError, SourceFailedError, TimeoutError } from '../../util/errors.ts'
import { ForwardSink } from './forward-sink.ts'
import { TrackFanout } from './track-fanout.ts'

interface Forward {
  key: string
  peer: string
  source: string
  users: number
  watchId?: string
  starting?: Promise<void>
}

export interface RemoteFeedsInit {
  localPeer: string
  sessions: Pick<SessionManager, 'link' | 'connect' | 'on' | 'off'>
  peers: () => PeerInfo[]
  logger: Logger
}

/**
 * Peers' sources for browsers and in-process consumers: this daemon watches
 * the remote source once (a watch of its own, like POST /v1/watch) into a
 * ForwardSink, and the remote track's packets go into every consumer's track
 * without re-encoding. The watch ends with its last consumer.
 */
export class RemoteFeeds {
  readonly #init: RemoteFeedsInit
  readonly #log: Logger
  readonly #watches: Watches
  readonly #forwards = new Map<string, Forward>()
  /** By watch id: the fan-out its sinks write into, and the current sink. */
  readonly #fanouts = new Map<string, TrackFanout>()
  readonly #sinks = new Map<string, ForwardSink>()

  constructor (init: RemoteFeedsInit) {
    this.#init = init
    this.#log = init.logger
    this.#watches = new Watches({
      localPeer: init.localPeer,
      sessions: init.sessions,
      peers: init.peers,
      logger: init.logger,
      createSink: ({ id, codec, payloadType }) => {
        const sink: ForwardSink = new ForwardSink({ codec, payloadType, fanout: this.#fanout(id), onStop: () => { if (this.#sinks.get(id) === sink) this.#ended(id) } })
        this.#sinks.set(id, sink)
        return sink
      }
    })
    init.sessions.on('media', this.#onMedia)
  }

  /** Kind and codec of a peer's source, from its presence; NotFoundError when unknown. */
  describe (peer: string, source: string): { kind: TrackKind, codec: TrackCodec } {
    const info = this.#init.peers().find(p => p.peerId === peer)
    if (info === undefined) throw new NotFoundError(`no peer ${peer} in the swarm`)
    const s = info.sources.find(x => x.name === source)
    if (s === undefined) throw new NotFoundError(`peer ${peer} has no source named ${source}`)
    return { kind: s.kind, codec: s.codec as TrackCodec }
  }

  /** Watch the peer's source (or join the running watch); pair with feed() or release(). */
  async acquire (peer: string, source: string): Promise<void> {
    const key = `${peer}/${source}`
    let forward = this.#forwards.get(key)
    if (forward === undefined) {
      forward = { key, peer, source, users: 0 }
      this.#forwards.set(key, forward)
    }
    forward.users++
    const f = forward
    f.starting ??= this.#start(f).finally(() => { f.starting = undefined })
    try {
      await f.starting
    } catch (err) {
      await this.release(peer, source)
      throw err
    }
  }

  /** After acquire(): forward into `track` until it closes, then release the hold. */
  feed (peer: string, source: string, track: SendTrack): void {
    const forward = this.#forwards.get(`${peer}/${source}`)
    if (forward?.watchId === undefined || track.isClosed) {
      void this.release(peer, source)
      return
    }
    this.#fanout(forward.watchId).add(track, () => { void this.release(peer, source) })
  }

  async release (peer: string, source: string): Promise<void> {
    const forward = this.#forwards.get(`${peer}/${source}`)
    if (forward === undefined || --forward.users > 0) return
    this.#forwards.delete(forward.key)
    const id = forward.watchId
    if (id === undefined) return
    this.#fanouts.get(id)?.close()
    this.#fanouts.delete(id)
    this.#sinks.delete(id)
    await this.#watches.delete(id).catch(() => {})
  }

  list (): ReturnType<Watches['list']> {
    return this.#watches.list()
  }

  async close (): Promise<void> {
    this.#init.sessions.off('media', this.#onMedia)
    await this.#watches.close()
    for (const f of this.#fanouts.values()) f.close()
    this.#fanouts.clear()
    this.#forwards.clear()
  }

  async #start (forward: Forward): Promise<void> {
    if (forward.watchId !== undefined) {
      const state = this.#watches.list().find(w => w.id === forward.watchId)?.state
      if (state !== undefined && state !== 'failed') return
      forward.watchId = undefined
    }
    const info = await this.#watches.create(forward.peer, forward.source, 'count')
    if (info.state === 'failed') {
      await this.#watches.delete(info.id).catch(() => {})
      throw new SourceFailedError(`watching ${forward.source} of ${forward.peer} failed: ${info.error?.name ?? 'Error'}: ${info.error?.message ?? ''}`)
    }
    forward.watchId = info.id
    if (info.state !== 'active') throw new TimeoutError(`peer ${forward.peer} did not start sending ${forward.source} in time (${info.state})`)
    this.#log.info({ peer: forward.peer, source: forward.source, watch: info.id }, 'forwarding a peer\'s source to browsers')
  }

  /**
   * The watch stopped its sink while browsers still played it (the peer ended
   * it, its source went away): their tracks close, and so do their sessions.
   */
  #ended (id: string): void {
    this.#sinks.delete(id)
    const fanout = this.#fanouts.get(id)
    if (fanout === undefined) return
    this.#log.info({ watch: id, browsers: fanout.size }, 'forwarded watch ended: closing its browsers')
    fanout.end()
  }

  #fanout (id: string): TrackFanout {
    let fanout = this.#fanouts.get(id)
    if (fanout === undefined) {
      fanout = new TrackFanout(() => { this.#sinks.get(id)?.requestKeyFrame() })
      this.#fanouts.set(id, fanout)
    }
    return fanout
  }

  /** watching/unwatch for our own watches (the daemon's watch service ignores their ids). */
  readonly #onMedia = (peer: string, message: MediaSignalMessage, link: SessionLink): void => {
    if (message.type !== 'watching' && message.type !== 'unwatch') return
    if (this.#watches.has(peer, message.id)) this.#watches.onMessage(peer, message, link)
  }
}
