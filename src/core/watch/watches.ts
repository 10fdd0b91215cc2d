import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { GstSink, SinkStats } from '../../media/gst-sink.ts'
import { formatSinkSpec, parseSinkSpec, type SinkSpec } from '../../media/sink-spec.ts'
import type { MediaSignalMessage, UnwatchCode } from '../../signalling/signal-messages.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import type { RecvTrack } from '../../transport/types.ts'
import { ConflictError, NotFoundError, SourceFailedError, WatchEndedError } from '../../util/errors.ts'
import type { SessionInfo } from '../sessions/session-info.ts'
import type { SessionLink, SessionManager } from '../sessions/session-manager.ts'
import type { WatchInfo, WatchState, WatchStats } from './watch-types.ts'

/** POST /v1/watch waits this long for the watch to become active (or be refused). */
export const WATCH_START_WAIT_MS = 8_000
/** Packets kept while the sink pipeline starts (the first key frame is among them). */
export const EARLY_PACKETS = 1024

type Watching = Extract<MediaSignalMessage, { type: 'watching' }>
type Unwatch = Extract<MediaSignalMessage, { type: 'unwatch' }>

interface Watch {
  id: string
  peer: string
  source: string
  spec: SinkSpec
  state: WatchState
  error: { name: string, message: string } | null
  createdAt: Date
  activeAt: Date | null
  link?: SessionLink
  params?: Watching
  track?: RecvTrack
  sink?: WatchSink
  sinkReady: boolean
  /** Packets that arrived before the sink was ready. */
  early: Buffer[]
  createSink: CreateWatchSink
  /** Told once when the watch fails (refused or ended by the peer, its sink failed). */
  onFailed?: (error: Error) => void
  /** Frames decoded, PLIs sent, etc. by tracks and sinks now gone (reconnects). */
  keyFrameRequests: number
  changed: Set<() => void>
}

export interface WatchesInit {
  localPeer: string
  sessions: Pick<SessionManager, 'link' | 'connect' | 'on' | 'off'>
  peers: () => PeerInfo[]
  logger: Logger
}

/** Builds the sink of a watch's track, once the peer said what it sends (a new one when that changes). */
export type CreateWatchSink = (init: { id: string, spec: SinkSpec, codec: Watching['codec'], payloadType: number, logger: Logger }) => WatchSink

export interface WatchOptions {
  /** Its id (random by default): the track's mid, and the peer's viewer id. */
  id?: string
  createSink: CreateWatchSink
  onFailed?: (error: Error) => void
}

/** What a watch needs of its sink: GstSink, or another consumer of the track's packets. */
export interface WatchSink extends Pick<GstSink, 'codec' | 'kind' | 'payloadType' | 'start' | 'stop' | 'write' | 'stats'> {
  on: ((event: 'keyframe-needed', listener: () => void) => unknown) & ((event: 'failed', listener: (err: Error) => void) => unknown)
}

/**
 * What refuses a watch of `source` of `peer` before asking it: our own peer
 * (ConflictError), a peer neither in presence nor connected, or a source it
 * does not announce (NotFoundError), a session without media (ConflictError).
 */
export function checkWatchable (init: Pick<WatchesInit, 'localPeer' | 'peers'> & { sessions: Pick<SessionManager, 'link'> }, peer: string, source: string): void {
  if (peer === init.localPeer) throw new ConflictError('cannot watch this daemon\'s own source; use a local pipeline')
  const info = init.peers().find(p => p.peerId === peer)
  if (info === undefined && init.sessions.link(peer) === undefined) throw new NotFoundError(`no peer ${peer} in the swarm`)
  if (info !== undefined && !info.sources.some(s => s.name === source)) {
    throw new NotFoundError(`peer ${peer} has no source named ${source}`)
  }
  if (init.sessions.link(peer)?.session.profile === 'data') throw new ConflictError(noMedia(peer))
}

/** What a watch's track asked of the peer and saw arrive. */
export type WatchTrackFigures = Pick<WatchStats, 'keyFrameRequests' | 'nacksSent' | 'retransmitsReceived' | 'jitterMs'>

/** A watch's figures: what its sink counted and decoded (none before it has one), and its track's; `dropped`: packets lost before the sink. */
export function watchStats (sink: SinkStats | undefined, track: WatchTrackFigures, dropped = 0): WatchStats {
  const packets = sink?.packets ?? 0
  const lost = sink?.lost ?? 0
  return {
    packets,
    bytes: sink?.bytes ?? 0,
    lost,
    lossRate: packets + lost === 0 ? 0 : lost / (packets + lost),
    bitrateKbps: sink?.bitrateKbps ?? 0,
    frames: sink?.frames ?? 0,
    keyFrames: sink?.keyFrames ?? 0,
    framesDecoded: sink?.framesDecoded ?? 0,
    fps: sink?.fps ?? 0,
    discarded: (sink?.discarded ?? 0) + dropped,
    sinkRestarts: sink?.restarts ?? 0,
    ...track
  }
}

const noMedia = (peer: string): string => `the session with ${peer} uses stack profile data: it has no media tracks (use webrtc, media or trusted)`

const UNWATCH_ERRORS: Record<UnwatchCode, new (message: string) => Error> = {
  'unknown-source': NotFoundError,
  'source-failed': SourceFailedError,
  'source-removed': NotFoundError,
  'no-room': ConflictError,
  'not-supported': ConflictError,
  ended: WatchEndedError
}

/**
 * The viewer side of watching: asks a peer for a source over the session's
 * signal stream, adds the receiving half of the track, and hands its packets
 * to a sink. A dropped session is asked again on the next one; the sink keeps
 * running meanwhile. Each watch is the origin of one media-router producer
 * (forwarded-streams.ts): POST /v1/watch's sinks, browsers and in-process
 * feeds are that producer's consumers, so a peer's source crosses the link
 * once however many play it here.
 */
export class Watches {
  readonly #init: WatchesInit
  readonly #log: Logger
  readonly #watches = new Map<string, Watch>()
  #closed = false

  constructor (init: WatchesInit) {
    this.#init = init
    this.#log = init.logger
    init.sessions.on('session', this.#onSession)
  }

  list (): WatchInfo[] {
    return [...this.#watches.values()].map(w => this.#info(w))
  }

  get (id: string): WatchInfo {
    return this.#info(this.#find(id))
  }

  /** The watch with this id, if there is one. */
  find (id: string): WatchInfo | undefined {
    const watch = this.#watches.get(id)
    return watch === undefined ? undefined : this.#info(watch)
  }

  has (peer: string, id: string): boolean {
    return this.#watches.get(id)?.peer === peer
  }

  /** Start watching; resolves once active, refused, or after WATCH_START_WAIT_MS (still trying). */
  async create (peer: string, source: string, sink: string, options: WatchOptions): Promise<WatchInfo> {
    const spec = parseSinkSpec(sink)
    checkWatchable(this.#init, peer, source)
    if (options.id !== undefined && this.#watches.has(options.id)) throw new ConflictError(`a watch ${options.id} exists already`)
    const watch: Watch = {
      id: options.id ?? randomBytes(12).toString('base64url'),
      peer,
      source,
      spec,
      state: 'connecting',
      error: null,
      createdAt: new Date(),
      activeAt: null,
      keyFrameRequests: 0,
      sinkReady: false,
      early: [],
      createSink: options.createSink,
      onFailed: options.onFailed,
      changed: new Set()
    }
    this.#watches.set(watch.id, watch)
    this.#log.info({ watch: watch.id, peer, source, sink: formatSinkSpec(spec) }, 'watching')
    this.#ask(watch)
    await this.#settle(watch, WATCH_START_WAIT_MS)
    if (watch.state === 'failed' && watch.error?.name === 'NotFoundError') {
      await this.#drop(watch)
      throw new NotFoundError(watch.error.message)
    }
    return this.#info(watch)
  }

  /** Stop watching: tells the peer, closes the track, finalises the sink (a file gets its EOS). */
  async delete (id: string): Promise<void> {
    const watch = this.#find(id)
    await this.#drop(watch, true)
  }

  /** A watch/watching/unwatch from a peer for one of our watches. */
  onMessage (peer: string, message: Watching | Unwatch, link: SessionLink): void {
    const watch = this.#watches.get(message.id)
    if (watch === undefined || watch.peer !== peer || watch.link !== link) return
    if (message.type === 'watching') this.#onWatching(watch, message)
    else this.#onUnwatch(watch, message)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#init.sessions.off('session', this.#onSession)
    await Promise.all([...this.#watches.values()].map(async w => { await this.#drop(w, true) }))
  }

  #find (id: string): Watch {
    const watch = this.#watches.get(id)
    if (watch === undefined) throw new NotFoundError(`no watch ${id}`)
    return watch
  }

  /** Ask the peer on the connected session, or get one connected first. */
  #ask (watch: Watch): void {
    if (this.#closed || watch.state === 'failed' || !this.#watches.has(watch.id)) return
    const link = this.#init.sessions.link(watch.peer)
    if (link === undefined || !link.canSignal) {
      if (watch.state !== 'reconnecting') this.#setState(watch, 'connecting')
      try {
        this.#init.sessions.connect(watch.peer)
      } catch (err) {
        this.#fail(watch, err as Error)
      }
      return
    }
    if (link.session.profile === 'data') {
      this.#fail(watch, new ConflictError(noMedia(watch.peer)))
      return
    }
    watch.link = link
    watch.params = undefined
    if (watch.state !== 'reconnecting') this.#setState(watch, 'negotiating')
    link.session.once('close', () => { this.#onLinkLost(watch, link) })
    link.sendMedia({ type: 'watch', session: link.id, id: watch.id, source: watch.source }).catch((err: unknown) => {
      this.#log.debug({ watch: watch.id, err: (err as Error).message }, 'could not send the watch request')
      this.#onLinkLost(watch, link)
    })
  }

  /** The source side accepted: add our half of the track, then the offerer renegotiates. */
  #onWatching (watch: Watch, message: Watching): void {
    const link = watch.link
    if (link === undefined || watch.track !== undefined) return
    let track: RecvTrack
    try {
      track = link.session.addRecvTrack({ mid: watch.id, kind: message.kind, codec: message.codec, payloadType: message.payloadType, ssrc: message.ssrc, clockRate: message.clockRate, nack: message.kind === 'video' })
    } catch (err) {
      this.#fail(watch, err as Error)
      return
    }
    watch.params = message
    watch.track = track
    if (link.session.role === 'offerer') link.session.negotiate()
    track.on('rtp', packet => {
      if (watch.sinkReady) watch.sink?.write(packet)
      else if (watch.early.length < EARLY_PACKETS) watch.early.push(packet)
    })
    track.on('open', () => { this.#activeIfReady(watch) })
    track.on('close', () => {
      if (watch.track === track) {
        watch.keyFrameRequests += track.stats().keyFrameRequests
        watch.track = undefined
      }
    })
    void this.#ensureSink(watch, message)
  }

  /** Active once the track is open and the sink takes packets. */
  #activeIfReady (watch: Watch): void {
    if (watch.state === 'active' || watch.state === 'failed' || watch.track?.isOpen !== true || !watch.sinkReady) return
    watch.activeAt = new Date()
    this.#setState(watch, 'active')
    this.#log.info({ watch: watch.id, peer: watch.peer, source: watch.source, codec: watch.params?.codec }, 'watch active')
  }

  async #ensureSink (watch: Watch, params: Watching): Promise<void> {
    if (watch.sink !== undefined && watch.sink.codec === params.codec && watch.sink.payloadType === params.payloadType) {
      this.#activeIfReady(watch)
      return
    }
    const old = watch.sink
    watch.sinkReady = false
    const logger = this.#log.child({ watch: watch.id })
    const sink = watch.createSink({ id: watch.id, spec: watch.spec, codec: params.codec, payloadType: params.payloadType, logger })
    watch.sink = sink
    await old?.stop()
    sink.on('keyframe-needed', () => { watch.track?.requestKeyFrame() })
    sink.on('failed', err => { this.#fail(watch, err) })
    try {
      await sink.start()
    } catch (err) {
      this.#fail(watch, err as Error)
      return
    }
    if (watch.sink !== sink) return
    watch.sinkReady = true
    for (const packet of watch.early.splice(0)) sink.write(packet)
    this.#activeIfReady(watch)
  }

  #onUnwatch (watch: Watch, message: Unwatch): void {
    const code = message.code ?? 'ended'
    this.#fail(watch, new UNWATCH_ERRORS[code](`peer ${watch.peer}: ${message.reason ?? code}`), false)
  }

  /** The session went away: keep the sink, ask again on the next session. */
  #onLinkLost (watch: Watch, link: SessionLink): void {
    if (watch.link !== link) return
    watch.link = undefined
    watch.track?.close()
    if (watch.state === 'failed' || this.#closed || !this.#watches.has(watch.id)) return
    this.#setState(watch, 'reconnecting')
    this.#log.info({ watch: watch.id, peer: watch.peer }, 'session lost: watching again on the next one')
    setImmediate(() => { this.#ask(watch) })
  }

  readonly #onSession = (info: SessionInfo): void => {
    if (info.state !== 'connected') return
    for (const watch of this.#watches.values()) {
      if (watch.peer === info.peer && watch.link === undefined && watch.state !== 'failed') this.#ask(watch)
    }
  }

  /** The watch cannot go on; the peer is told unless it is the one that ended it. */
  #fail (watch: Watch, err: Error, tellPeer = true): void {
    if (watch.state === 'failed') return
    watch.error = { name: err.name, message: err.message }
    this.#log.warn({ watch: watch.id, peer: watch.peer, source: watch.source, err: err.message }, 'watch failed')
    void this.#release(watch, tellPeer)
    this.#setState(watch, 'failed')
    watch.onFailed?.(err)
  }

  /** Close the track (retiring its media section) and stop the sink. */
  #release (watch: Watch, tellPeer: boolean): Promise<void> {
    const link = watch.link
    watch.link = undefined
    if (link !== undefined && link.session.state === 'connected') {
      if (tellPeer && link.canSignal) void link.sendMedia({ type: 'unwatch', session: link.id, id: watch.id, code: 'ended', reason: 'viewer stopped' }).catch(() => {})
      watch.track?.close()
      if (link.session.role === 'offerer') {
        try { link.session.negotiate() } catch {}
      }
    } else {
      watch.track?.close()
    }
    const sink = watch.sink
    return sink?.stop() ?? Promise.resolve()
  }

  async #drop (watch: Watch, tellPeer = false): Promise<void> {
    this.#watches.delete(watch.id)
    await this.#release(watch, tellPeer && watch.state !== 'failed')
    for (const fn of watch.changed) fn()
    this.#log.info({ watch: watch.id, peer: watch.peer, source: watch.source }, 'watch ended')
  }

  #setState (watch: Watch, state: WatchState): void {
    if (watch.state === state) return
    watch.state = state
    for (const fn of watch.changed) fn()
  }

  async #settle (watch: Watch, timeoutMs: number): Promise<void> {
    if (watch.state === 'active' || watch.state === 'failed') return
    await new Promise<void>(resolve => {
      const done = (): void => {
        if (watch.state !== 'active' && watch.state !== 'failed' && this.#watches.has(watch.id)) return
        clearTimeout(timer)
        watch.changed.delete(done)
        resolve()
      }
      const timer = setTimeout(() => { watch.changed.delete(done); resolve() }, timeoutMs)
      watch.changed.add(done)
    })
  }

  #info (watch: Watch): WatchInfo {
    const track = watch.track?.stats()
    const stats = watchStats(watch.sink?.stats(), {
      keyFrameRequests: watch.keyFrameRequests + (track?.keyFrameRequests ?? 0),
      nacksSent: track?.nacks?.requested ?? 0,
      retransmitsReceived: track?.nacks?.recovered ?? 0,
      jitterMs: Math.round((track?.jitterMs ?? 0) * 100) / 100
    })
    return {
      id: watch.id,
      peer: watch.peer,
      source: watch.source,
      sink: formatSinkSpec(watch.spec),
      state: watch.state,
      kind: watch.params?.kind ?? watch.sink?.kind ?? null,
      codec: watch.params?.codec ?? watch.sink?.codec ?? null,
      error: watch.error,
      createdAt: watch.createdAt.toISOString(),
      activeAt: watch.activeAt?.toISOString() ?? null,
      stats
    }
  }
}
