import { randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import type { MediaSignalMessage, UnwatchCode } from '../../signalling/signal-messages.ts'
import type { SendTrack } from '../../transport/types.ts'
import { trackCongestion } from '../../transport/track-congestion.ts'
import type { Consumer, ConsumerEndCode } from '../media-router/consumer.ts'
import type { MediaRouter } from '../media-router/media-router.ts'
import type { SessionLink } from '../sessions/session-manager.ts'
import type { ViewerCongestion, ViewerInfo } from './watch-types.ts'

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
  consumer: Consumer
  since: Date
  ended: boolean
}

export interface SourceViewersInit {
  router: Pick<MediaRouter, 'describe' | 'consume'>
  logger: Logger
}

/** How a stream's end is told to the peer that watched it. */
const UNWATCH_CODES: Record<ConsumerEndCode, UnwatchCode> = {
  'source-failed': 'source-failed',
  'source-removed': 'source-removed',
  ended: 'ended',
  'consumer-failed': 'ended'
}

/**
 * The source side of watching: each peer's watch is a consumer (its track)
 * of the source's producer in the media router, which runs one encoder per
 * source however many peers (and browsers) watch it and merges their PLI/FIR
 * into at most one key-frame request per KEYFRAME_MIN_INTERVAL_MS.
 */
export class SourceViewers {
  readonly #init: SourceViewersInit
  readonly #log: Logger
  readonly #viewers = new Map<string, Viewer>()
  /** Requests being set up (source starting), by key. */
  readonly #pending = new Set<string>()
  #closed = false

  constructor (init: SourceViewersInit) {
    this.#init = init
    this.#log = init.logger
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
    return c === undefined ? null : { ...trackCongestion(c), targetKbps: v.consumer.producer.targetKbps ?? null }
  }

  /** The peer wants one of our sources. */
  async watch (peer: string, message: WatchRequest, link: SessionLink): Promise<void> {
    const key = `${peer}/${message.id}`
    const log = this.#log.child({ peer, source: message.source, watch: message.id })
    if (this.#closed || this.#viewers.has(key) || this.#pending.has(key)) return
    if (!this.#hasSource(message.source)) {
      await this.#refuse(link, message.id, 'unknown-source', `no source named ${message.source} on this peer`)
      return
    }
    if (this.#viewers.size + this.#pending.size >= MAX_VIEWERS) {
      await this.#refuse(link, message.id, 'no-room', `this peer serves at most ${MAX_VIEWERS} viewers`)
      return
    }
    this.#pending.add(key)
    let consumer: Consumer
    let viewer: Viewer | undefined
    try {
      consumer = await this.#init.router.consume(undefined, message.source, {
        kind: link.session.profile === 'trusted' ? 'trusted' : 'peer',
        client: peer,
        onEnd: (code, reason) => { if (viewer !== undefined) void this.#end(viewer, { code: UNWATCH_CODES[code], reason }) }
      })
    } catch (err) {
      this.#pending.delete(key)
      log.warn({ err: (err as Error).message }, 'source for a viewer did not start')
      await this.#refuse(link, message.id, 'source-failed', `${(err as Error).name}: ${(err as Error).message}`)
      return
    }
    // The request may have been withdrawn, or the session lost, while the source started.
    const gst = consumer.producer.runningSource
    if (!this.#pending.delete(key) || this.#closed || link.session.state !== 'connected' || !link.canSignal) {
      consumer.close()
      return
    }
    if (consumer.closed || gst === undefined) {
      await this.#refuse(link, message.id, 'source-failed', `source ${message.source} stopped as it started`)
      return
    }
    // The track's own SSRC, not the source's: one peer may watch a source twice on
    // one session, and two sections announcing one SSRC leave the first without media.
    const ssrc = this.#freshSsrc(link, gst.ssrc)
    // An adaptive source: this viewer's track estimates its link, and the producer's encoder follows.
    const range = consumer.producer.controllable?.adaptiveRange
    const congestion = range === undefined ? undefined : { minBitrateBps: range.minKbps * 1000, maxBitrateBps: range.maxKbps * 1000 }
    let track: SendTrack
    try {
      track = link.session.addSendTrack({ mid: message.id, kind: gst.kind, codec: gst.codec, payloadType: gst.payloadType, ssrc, clockRate: gst.clockRate, congestion })
    } catch (err) {
      consumer.close()
      await this.#refuse(link, message.id, 'no-room', (err as Error).message)
      return
    }
    const v: Viewer = viewer = { key, id: message.id, peer, source: message.source, link, track, consumer, since: new Date(), ended: false }
    this.#viewers.set(key, v)
    // Its PLI/FIR, and its need for a key frame once it opens, go to the source's producer.
    consumer.attach(track)
    track.on('close', () => { void this.#end(v) })
    link.session.once('close', () => { void this.#end(v) })
    try {
      await link.sendMedia({ type: 'watching', session: link.id, id: message.id, kind: gst.kind, codec: gst.codec, payloadType: gst.payloadType, ssrc, clockRate: gst.clockRate })
    } catch (err) {
      log.debug({ err: (err as Error).message }, 'could not answer the watch request')
      await this.#end(v)
      return
    }
    // After `watching`, so the viewer has added its half of the track before our offer.
    if (link.session.role === 'offerer') link.session.negotiate()
    log.info({ consumers: consumer.producer.consumers.size }, 'peer watching')
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

  #hasSource (name: string): boolean {
    try {
      this.#init.router.describe(undefined, name)
      return true
    } catch {
      return false
    }
  }

  /** Stop feeding a viewer: tell the peer (unless it asked), close the track, drop the hold. */
  async #end (viewer: Viewer, tell?: { code: UnwatchCode, reason: string }, asked = false): Promise<void> {
    if (viewer.ended) return
    viewer.ended = true
    this.#viewers.delete(viewer.key)
    // Its hold on the source goes (the last one stops it).
    viewer.consumer.close()
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
  }

  async #refuse (link: SessionLink, id: string, code: UnwatchCode, reason: string): Promise<void> {
    this.#log.info({ peer: link.peer, watch: id, code }, `watch refused: ${reason}`)
    if (!link.canSignal) return
    await link.sendMedia({ type: 'unwatch', session: link.id, id, code, reason: reason.slice(0, 256) }).catch(() => {})
  }
}
