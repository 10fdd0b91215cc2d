import type { Codec, MediaKind } from '../../media/codecs.ts'
import { CODECS } from '../../media/codecs.ts'
import type { GstSinkEvents, SinkStats } from '../../media/gst-sink.ts'
import { RtpStats } from '../../media/rtp-stats.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'

/**
 * A watch's sink that decodes nothing: the remote track's RTP goes straight
 * into a producer of the media router (no re-encoding), counted on the way.
 */
export class ForwardSink extends TypedEmitter<GstSinkEvents> {
  readonly codec: Codec
  readonly kind: MediaKind
  readonly payloadType: number
  readonly #write: (packet: Buffer) => void
  readonly #stats: RtpStats
  #stopped = false
  #forwarded = 0

  readonly #onStop: (() => void) | undefined

  /** onStop: the watch stopped its sink (it ended, failed, or was replaced by one for another codec). */
  constructor (init: { codec: Codec, payloadType: number, write: (packet: Buffer) => void, onStop?: () => void }) {
    super()
    this.codec = init.codec
    this.kind = CODECS[init.codec].kind
    this.payloadType = init.payloadType
    this.#write = init.write
    this.#stats = new RtpStats(init.codec)
    this.#onStop = init.onStop
  }

  async start (): Promise<void> {}

  async stop (): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#onStop?.()
  }

  write (packet: Uint8Array): void {
    if (this.#stopped) return
    this.#stats.add(packet)
    this.#forwarded++
    this.#write(Buffer.isBuffer(packet) ? packet : Buffer.from(packet))
  }

  /** Ask the remote sender for a key frame (a consumer joined, or asked). */
  requestKeyFrame (): void {
    this.emit('keyframe-needed')
  }

  stats (): SinkStats {
    return {
      ...this.#stats.snapshot(),
      sink: 'forward',
      kind: this.kind,
      codec: this.codec,
      state: this.#stopped ? 'stopped' : 'running',
      pid: null,
      framesDecoded: 0,
      fps: 0,
      forwarded: this.#forwarded,
      discarded: 0,
      restarts: 0
    } as SinkStats
  }
}
