import type { Codec } from '../media/codecs.ts'
import type { SourceStats } from '../media/running-source.ts'
import { RtpStats } from '../media/rtp-stats.ts'
import { sourceStats, type RunningSource, type RunningSourceEvents } from '../media/running-source.ts'
import type { RecvTrack } from '../transport/track-types.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'

export interface PublishedSourceInit {
  name: string
  /** The WHIP client's track, received on a BrowserSession. */
  track: RecvTrack
  /** Who publishes, for `edgectl sources` (e.g. "whip 127.0.0.1"). */
  publisher: string
}

/**
 * A stream a WHIP client (a browser, OBS) publishes, as a source of this
 * daemon: its RTP goes to viewers unchanged (no decoding, no re-encoding),
 * and their key-frame requests go back to the client as RTCP PLI.
 */
export class PublishedSource extends TypedEmitter<RunningSourceEvents> implements RunningSource {
  readonly name: string
  readonly kind: RunningSource['kind']
  readonly codec: Codec
  readonly ssrc: number
  readonly payloadType: number
  readonly clockRate: number
  readonly encoder: string
  readonly #track: RecvTrack
  readonly #stats: RtpStats
  #keyFrameRequests = 0

  constructor (init: PublishedSourceInit) {
    super()
    const t = init.track.init
    this.name = init.name
    this.kind = t.kind
    this.codec = t.codec
    // The client's own SSRC when it announced one: viewers' tracks then need no rewrite.
    this.ssrc = t.ssrc
    this.payloadType = t.payloadType
    this.clockRate = t.clockRate
    this.encoder = init.publisher
    this.#track = init.track
    this.#stats = new RtpStats(t.codec)
    init.track.on('rtp', packet => {
      // Only the negotiated codec: never padding or another payload type the client may try.
      if ((packet[1] & 0x7f) !== this.payloadType) return
      this.#stats.add(packet)
      this.emit('rtp', packet)
    })
  }

  requestKeyFrame (): boolean {
    if (this.kind !== 'video' || !this.#track.requestKeyFrame()) return false
    this.#keyFrameRequests++
    return true
  }

  stats (): SourceStats {
    return sourceStats(this, this.#stats.snapshot(), {
      state: this.#track.isClosed ? 'stopped' : 'running',
      pid: null,
      restarts: 0,
      keyFrameRequests: this.#keyFrameRequests,
      rtpPort: null
    })
  }
}
