import { randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import { isControllable, type RunningSource } from '../../media/running-source.ts'
import { KeyFrameThrottle } from '../../media/keyframe-throttle.ts'
import type { MediaSources } from '../../media/media-sources.ts'
import type { MediaSignalMessage, UnwatchCode } from '../../signalling/signal-messages.ts'
import type { SendTrack } from '../../transport/types.ts'
import type { SessionLink } from '../sessions/session-manager.ts'
import type { ViewerCongestion, ViewerInfo } from './watch-types.ts'
import { SourceRateControl } from './source-rate-control.ts'

/** Viewers this daemon serves at once, over all sources and peers. */
export const MAX_VIEWERS = 64

type WatchRequest = Extract<MediaSignalMessage, { type: 'watch' }>

interface Viewer {
  key: string
  id: string
  peer: string
  source: string
  link: SessionLink
  track: SendTrack
  since: Date
  ended: boolean
}

/** One running source and everything feeding from it. */
interface Feed {
  name: string
  gst: RunningSource
  viewers: Set<Viewer>
  throttle: KeyFrameThrottle
  /** The encoder follows the viewers' estimates (adaptive video sources). */
  rate: SourceRateControl | undefined
  onRtp: (packet: Buffer) => void
  onFailed: (err: Error) => void
}

export interface SourceViewersInit {
  media: Pick<MediaSources, 'acquire' | 'release' | 'list' | 'on' | 'off'>
  logger: Logger
}

/**
 * The source side of watching: one RunningSource per source however many peers
 * watch it (MediaSources counts the holds), each packet written into every
 * viewer's track, viewers' PLI/FIR merged into at most one key-frame request
 * per KEYFRAME_MIN_INTERVAL_MS.
 */
export class SourceViewers {
  readonly #init: SourceViewersInit
  readonly #log: Logger
  readonly #viewers = new Map<string, Viewer>()
  readonly #feeds = new Map<string, Feed>()
  /** Requests being set up (source starting), by key. */
  readonly #pending = new Set<string>()
  #closed = false

  constructor (init: SourceViewersInit) {
    this.#init = init
    this.#log = init.logger
    init.media.on('restarted', this.#onRestarted)
    init.media.on('removed', this.#onRemoved)
  }

  list (): ViewerInfo[] {
    return [...this.#viewers.values()].map(v => {
      const stats = v.track.stats()
      return {
        id: v.id,
        peer: v.peer,
        source: v.source,
        ssrc: v.track.init.ssrc,
        open: v.track.isOpen,
        since: v.since.toISOString(),
        packetsSent: stats.packets,
        bytesSent: stats.bytes,
        dropped: stats.dropped,
        keyFrameRequests: stats.keyFrameRequests,
        congestion: this.#congestion(v)
      }
    })
  }

  #congestion (v: Viewer): ViewerCongestion | null {
    const c = v.track.congestionStats?.()
    if (c === undefined) return null
    const e = c.estimate
    return {
      estimateBps: e?.bitrateBps ?? null,
      source: e?.source ?? null,
      queueingDelayMs: e?.queueingDelayMs ?? null,
      rttMs: e?.rttMs ?? null,
      lossFraction: e?.lossFraction ?? null,
      targetKbps: this.#feeds.get(v.source)?.rate?.targetKbps ?? null,
      pacingBps: c.pacingBps,
      pacerQueueMs: c.pacerQueueMs,
      retransmitted: c.retransmitted,
      retransmitsSkipped: c.retransmitsSkipped
    }
  }

  /** The peer wants one of our sources. */
  async watch (peer: string, message: WatchRequest, link: SessionLink): Promise<void> {
    const key = `${peer}/${message.id}`
    const log = this.#log.child({ peer, source: message.source, watch: message.id })
    if (this.#closed || this.#viewers.has(key) || this.#pending.has(key)) return
    if (!this.#init.media.list().some(s => s.name === message.source)) {
      await this.#refuse(link, message.id, 'unknown-source', `no source named ${message.source} on this peer`)
      return
    }
    if (this.#viewers.size + this.#pending.size >= MAX_VIEWERS) {
      await this.#refuse(link, message.id, 'no-room', `this peer serves at most ${MAX_VIEWERS} viewers`)
      return
    }
    this.#pending.add(key)
    let gst: RunningSource
    try {
      gst = await this.#init.media.acquire(message.source)
    } catch (err) {
      this.#pending.delete(key)
      log.warn({ err: (err as Error).message }, 'source for a viewer did not start')
      await this.#refuse(link, message.id, 'source-failed', `${(err as Error).name}: ${(err as Error).message}`)
      return
    }
    // The request may have been withdrawn, or the session lost, while the source started.
    if (!this.#pending.delete(key) || this.#closed || link.session.state !== 'connected' || !link.canSignal) {
      await this.#init.media.release(message.source)
      return
    }
    // The track's own SSRC, not the source's: one peer may watch a source twice on
    // one session, and two sections announcing one SSRC leave the first without media.
    const ssrc = this.#freshSsrc(link, gst.ssrc)
    const range = isControllable(gst) ? gst.adaptiveRange : undefined
    const congestion = range === undefined ? undefined : { minBitrateBps: range.minKbps * 1000, maxBitrateBps: range.maxKbps * 1000 }
    let track: SendTrack
    try {
      track = link.session.addSendTrack({ mid: message.id, kind: gst.kind, codec: gst.codec, payloadType: gst.payloadType, ssrc, clockRate: gst.clockRate, congestion })
    } catch (err) {
      await this.#init.media.release(message.source)
      await this.#refuse(link, message.id, 'no-room', (err as Error).message)
      return
    }
    const viewer: Viewer = { key, id: message.id, peer, source: message.source, link, track, since: new Date(), ended: false }
    this.#viewers.set(key, viewer)
    const feed = this.#feed(message.source, gst)
    feed.viewers.add(viewer)
    feed.rate?.add(track)
    // A new viewer needs a key frame to start decoding: ask as soon as its track opens.
    track.on('open', () => { feed.throttle.request('pli') })
    track.on('keyframe-request', kind => { this.#feeds.get(viewer.source)?.throttle.request(kind) })
    track.on('close', () => { void this.#end(viewer) })
    link.session.once('close', () => { void this.#end(viewer) })
    try {
      await link.sendMedia({ type: 'watching', session: link.id, id: message.id, kind: gst.kind, codec: gst.codec, payloadType: gst.payloadType, ssrc, clockRate: gst.clockRate })
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'could not answer the watch request')
      await this.#end(viewer)
      return
    }
    // After `watching`, so the viewer has added its half of the track before our offer.
    if (link.session.role === 'offerer') link.session.negotiate()
    log.info({ viewers: feed.viewers.size }, 'peer watching')
  }

  /** The peer stopped watching (or is asking us to stop a request still starting). */
  async unwatch (peer: string, id: string): Promise<void> {
    const key = `${peer}/${id}`
    if (this.#pending.delete(key)) return
    const viewer = this.#viewers.get(key)
    if (viewer !== undefined) await this.#end(viewer, undefined, true)
  }

  has (peer: string, id: string): boolean {
    const key = `${peer}/${id}`
    return this.#viewers.has(key) || this.#pending.has(key)
  }

  async close (): Promise<void> {
    this.#closed = true
    this.#pending.clear()
    this.#init.media.off('restarted', this.#onRestarted)
    this.#init.media.off('removed', this.#onRemoved)
    await Promise.all([...this.#viewers.values()].map(async v => { await this.#end(v, { code: 'ended', reason: 'peer stopping' }) }))
  }

  /** An SSRC no other viewer's track on this session (nor the source) uses. */
  #freshSsrc (link: SessionLink, sourceSsrc: number): number {
    const taken = new Set([sourceSsrc])
    for (const v of this.#viewers.values()) if (v.link.session === link.session) taken.add(v.track.init.ssrc)
    let ssrc: number
    do ssrc = randomInt(1, 0xffffffff); while (taken.has(ssrc))
    return ssrc
  }

  #feed (name: string, gst: RunningSource): Feed {
    const existing = this.#feeds.get(name)
    if (existing !== undefined && existing.gst === gst) return existing
    if (existing !== undefined) this.#unhook(existing)
    const range = isControllable(gst) ? gst.adaptiveRange : undefined
    existing?.rate?.close()
    const feed: Feed = {
      name,
      gst,
      rate: range === undefined || !isControllable(gst) ? undefined : new SourceRateControl({ source: gst, range, logger: this.#log.child({ source: name }) }),
      viewers: existing?.viewers ?? new Set(),
      throttle: new KeyFrameThrottle(kind => { this.#feeds.get(name)?.gst.requestKeyFrame(kind) }),
      onRtp: packet => { for (const v of feed.viewers) v.track.sendRtp(packet) },
      onFailed: err => {
        for (const v of [...feed.viewers]) void this.#end(v, { code: 'source-failed', reason: `${err.name}: ${err.message}`.slice(0, 256) })
      }
    }
    gst.on('rtp', feed.onRtp)
    gst.on('failed', feed.onFailed)
    for (const v of feed.viewers) feed.rate?.add(v.track)
    this.#feeds.set(name, feed)
    return feed
  }

  #unhook (feed: Feed): void {
    feed.gst.off('rtp', feed.onRtp)
    feed.gst.off('failed', feed.onFailed)
    feed.throttle.close()
    feed.rate?.close()
  }

  /** A config reload restarted a source (same SSRC): feed the viewers from the new one. */
  readonly #onRestarted = (name: string, gst: RunningSource): void => {
    if (this.#feeds.has(name)) this.#feed(name, gst).throttle.request('pli')
  }

  readonly #onRemoved = (name: string, reason: string): void => {
    const feed = this.#feeds.get(name)
    if (feed === undefined) return
    for (const v of [...feed.viewers]) void this.#end(v, { code: 'source-removed', reason: reason.slice(0, 256) })
  }

  /** Stop feeding a viewer: tell the peer (unless it asked), close the track, drop the hold. */
  async #end (viewer: Viewer, tell?: { code: UnwatchCode, reason: string }, asked = false): Promise<void> {
    if (viewer.ended) return
    viewer.ended = true
    this.#viewers.delete(viewer.key)
    const feed = this.#feeds.get(viewer.source)
    feed?.viewers.delete(viewer)
    feed?.rate?.remove(viewer.track)
    if (feed !== undefined && feed.viewers.size === 0) {
      this.#unhook(feed)
      this.#feeds.delete(viewer.source)
    }
    const { link } = viewer
    const live = link.session.state === 'connected'
    if (tell !== undefined && !asked && live && link.canSignal) {
      await link.sendMedia({ type: 'unwatch', session: link.id, id: viewer.id, code: tell.code, reason: tell.reason }).catch(() => {})
    }
    viewer.track.close()
    if (live && link.session.role === 'offerer') {
      try { link.session.negotiate() } catch {}
    }
    this.#log.info({ peer: viewer.peer, source: viewer.source, watch: viewer.id, code: tell?.code ?? (asked ? 'unwatched' : 'closed') }, 'peer stopped watching')
    await this.#init.media.release(viewer.source)
  }

  async #refuse (link: SessionLink, id: string, code: UnwatchCode, reason: string): Promise<void> {
    this.#log.info({ peer: link.peer, watch: id, code }, `watch refused: ${reason}`)
    if (!link.canSignal) return
    await link.sendMedia({ type: 'unwatch', session: link.id, id, code, reason: reason.slice(0, 256) }).catch(() => {})
  }
}
