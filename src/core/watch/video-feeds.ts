import { randomBytes, randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import type { AccessUnit } from '../../rtp/h264-depacketizer.ts'
import type { TrackCodec, TrackKind } from '../../transport/track-types.ts'
import { UnsupportedCodecError } from '../../util/errors.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import { AccessUnitTrack } from './access-unit-track.ts'
import type { MediaRouter } from '../media-router/media-router.ts'

export type { AccessUnit }

export interface VideoSubscriptionEvents {
  /** The feed ended without close() (its source went away, the peer ended the watch). */
  end: []
}

/** One in-process consumer of a video source; close() when done (idempotent). */
export interface VideoSubscription extends TypedEmitter<VideoSubscriptionEvents> {
  /** The peer whose source it is (this daemon's own peer id for its own sources). */
  readonly peer: string
  readonly source: string
  readonly closed: boolean
  /** Ask the source for a key frame (a consumer of its own has a client that joined or fell behind); throttled with the other viewers' PLIs. */
  requestKeyFrame: () => void
  close: () => void
}

export interface VideoFeedsInit {
  router: Pick<MediaRouter, 'describe' | 'consume' | 'isLocal' | 'localPeer'>
  logger: Logger
}

class Subscription extends TypedEmitter<VideoSubscriptionEvents> implements VideoSubscription {
  readonly peer: string
  readonly source: string
  readonly track: AccessUnitTrack
  #closing = false

  constructor (peer: string, source: string, track: AccessUnitTrack) {
    super()
    this.peer = peer
    this.source = source
    this.track = track
    track.once('close', () => { if (!this.#closing) this.emit('end') })
  }

  get closed (): boolean { return this.track.isClosed }

  requestKeyFrame (): void {
    if (!this.track.isClosed) this.track.emit('keyframe-request', 'pli')
  }

  close (): void {
    this.#closing = true
    this.track.close()
  }

  /** Closed from inside (its consumer failed): subscribers hear `end`. */
  end (): void {
    this.track.close()
  }
}

/**
 * H.264 video for code inside edged (the Foxglove bridge, MCAP recording):
 * access units (Annex-B, one per frame, with the RTP timestamp and arrival
 * time, and a key-frame flag) of this daemon's sources and its peers'. Each
 * subscriber is one more consumer (kind `feed`) of the media router's
 * producer that peers and browsers use: one encoder per local source, one
 * watch per peer's source however many subscribers there are, no
 * re-encoding. A subscriber's first unit is a key frame (asked for with a PLI
 * through the producer when it joins or loses a packet).
 */
export class VideoFeeds {
  readonly #init: VideoFeedsInit
  readonly #log: Logger

  constructor (init: VideoFeedsInit) {
    this.#init = init
    this.#log = init.logger
  }

  /** Kind and codec of a source of this daemon (peer undefined or ours) or of a peer; NotFoundError when unknown. */
  describe (peer: string | undefined, source: string): { kind: TrackKind, codec: TrackCodec } {
    return this.#init.router.describe(peer, source)
  }

  /**
   * Start receiving `source`'s access units (of this daemon when `peer` is
   * undefined or our own id). Rejects with NotFoundError (no such source),
   * UnsupportedCodecError (not H.264 video), SourceFailedError or
   * TimeoutError (it did not start). `onUnit` must not block; an exception
   * from it is logged and ends the subscription.
   */
  async subscribe (peer: string | undefined, source: string, onUnit: (unit: AccessUnit) => void, client = 'in-process'): Promise<VideoSubscription> {
    const who = this.#init.router.isLocal(peer) ? this.#init.router.localPeer : peer as string
    const info = this.describe(peer, source)
    if (info.kind !== 'video' || info.codec !== 'h264') throw new UnsupportedCodecError(`source ${source} of ${who} is ${info.kind} ${info.codec}; in-process consumers take H.264 video`)
    let sub: Subscription | undefined
    const track = new AccessUnitTrack(
      { mid: `inproc-${randomBytes(6).toString('hex')}`, kind: 'video', codec: 'h264', payloadType: 96, ssrc: randomInt(1, 0xffffffff), clockRate: 90_000 },
      unit => {
        try {
          onUnit(unit)
        } catch (err) {
          this.#log.error({ err, peer: who, source }, 'in-process video consumer threw: ending its subscription')
          sub?.end()
        }
      }
    )
    sub = new Subscription(who, source, track)
    const consumer = await this.#init.router.consume(who, source, { kind: 'feed', client })
    // Closing the subscription closes the track, and so the consumer; an ended stream closes the track (subscribers hear `end`).
    consumer.attach(track)
    return sub
  }
}
