import { KeyFrameThrottle, type KeyFrameKind } from '../../media/keyframe-throttle.ts'
import type { SendTrack } from '../../transport/track-types.ts'

/**
 * One stream's RTP into many browser tracks, unchanged but for the payload
 * type and SSRC each track negotiated (RtcSendTrack rewrites them). The
 * browsers' PLI/FIR, and each new track's need for a key frame, reach the
 * stream's origin as at most one request per KEYFRAME_MIN_INTERVAL_MS.
 */
export class TrackFanout {
  readonly #tracks = new Set<SendTrack>()
  readonly #throttle: KeyFrameThrottle
  packets = 0

  constructor (requestKeyFrame: (kind: KeyFrameKind) => void) {
    this.#throttle = new KeyFrameThrottle(requestKeyFrame)
  }

  get size (): number { return this.#tracks.size }

  /** Feed a track from now on; it leaves (and onGone runs) when it closes. */
  add (track: SendTrack, onGone: () => void): void {
    this.#tracks.add(track)
    if (track.isOpen) this.#throttle.request('pli')
    track.on('open', () => { this.#throttle.request('pli') })
    track.on('keyframe-request', kind => { this.#throttle.request(kind) })
    track.once('close', () => {
      if (this.#tracks.delete(track)) onGone()
    })
  }

  remove (track: SendTrack): boolean {
    return this.#tracks.delete(track)
  }

  write (packet: Buffer): void {
    this.packets++
    for (const t of this.#tracks) t.sendRtp(packet)
  }

  requestKeyFrame (): void {
    this.#throttle.request('pli')
  }

  /** The stream is over (its source went away, the watch failed): close every track it fed. */
  end (): void {
    const tracks = [...this.#tracks]
    this.close()
    for (const t of tracks) t.close()
  }

  close (): void {
    this.#tracks.clear()
    this.#throttle.close()
  }
}
