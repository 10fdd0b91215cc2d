import { H264Depacketizer, type AccessUnit } from '../../rtp/h264-depacketizer.ts'
import type { SendTrack, SendTrackEvents, TrackInit, TrackStats } from '../../transport/track-types.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'

/**
 * A SendTrack that goes nowhere on the network: the RTP a router consumer
 * writes into it comes out as H.264 access units to a function in this process. A
 * loss (or joining mid-stream) asks the producer for a key frame through the
 * same `keyframe-request` a browser's PLI takes, and units are held back
 * until it comes, so the consumer's first unit is a key frame.
 */
export class AccessUnitTrack extends TypedEmitter<SendTrackEvents> implements SendTrack {
  readonly init: TrackInit
  readonly #onUnit: (unit: AccessUnit) => void
  readonly #depacketizer: H264Depacketizer
  #closed = false
  #packets = 0
  #bytes = 0
  #keyFrameRequests = 0

  constructor (init: TrackInit, onUnit: (unit: AccessUnit) => void) {
    super()
    this.init = init
    this.#onUnit = onUnit
    this.#depacketizer = new H264Depacketizer({
      onKeyFrameNeeded: () => {
        this.#keyFrameRequests++
        this.emit('keyframe-request', 'pli')
      }
    })
  }

  get isOpen (): boolean { return !this.#closed }
  get isClosed (): boolean { return this.#closed }
  get depacketizer (): H264Depacketizer { return this.#depacketizer }

  sendRtp (packet: Uint8Array): boolean {
    if (this.#closed) return false
    this.#packets++
    this.#bytes += packet.length
    for (const unit of this.#depacketizer.push(packet)) {
      this.#onUnit(unit)
      if (this.#closed) break
    }
    return true
  }

  stats (): TrackStats {
    return { mid: this.init.mid, direction: 'send', codec: this.init.codec, open: this.isOpen, packets: this.#packets, bytes: this.#bytes, dropped: this.#depacketizer.stats.dropped, keyFrameRequests: this.#keyFrameRequests }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.emit('close')
  }
}
