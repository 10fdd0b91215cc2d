import type { Logger } from 'pino'
import { GstSink, type SinkStats } from '../../media/gst-sink.ts'
import type { SinkSpec } from '../../media/sink-spec.ts'
import type { SendTrackEvents, TrackStats } from '../../transport/track-types.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { ConsumerOutput } from '../media-router/consumer.ts'
import type { ForwardedFormat } from './forwarded-streams.ts'
import { EARLY_PACKETS, type WatchSink } from './watches.ts'

export interface SinkTrackInit {
  /** Where the stream goes: count, file:PATH, rtp://HOST:PORT, display. */
  spec: SinkSpec
  /** What the producer's stream carries now (a forwarded stream knows once its peer said). */
  format: () => ForwardedFormat | undefined
  /** Builds the sink for a format (default: a GstSink). */
  createSink?: (format: ForwardedFormat, logger: Logger) => WatchSink
  /** The sink failed (it could not start, or gave up restarting): the watch cannot go on. */
  onFailed: (err: Error) => void
  logger: Logger
}

/**
 * A router consumer's output that ends in a local sink (POST /v1/watch): the
 * producer's RTP goes into a GstSink made for the stream's codec and payload
 * type, rebuilt when the payload type changes (the peer's source restarted
 * with another codec). Packets that come while the sink starts are kept (the
 * first key frame is among them); the sink's "key frame needed" is this
 * track's key-frame request, which the producer's policy merges.
 */
export class SinkTrack extends TypedEmitter<SendTrackEvents> implements ConsumerOutput {
  readonly #init: SinkTrackInit
  readonly #log: Logger
  #sink: WatchSink | undefined
  #ready = false
  #starting: Promise<void> | undefined
  #early: Buffer[] = []
  #closed = false
  #stopped: Promise<void> | undefined
  #packets = 0
  #bytes = 0
  /** Packets with no format to build a sink for, or beyond EARLY_PACKETS while it started. */
  #dropped = 0
  #keyFrameRequests = 0

  constructor (init: SinkTrackInit) {
    super()
    this.#init = init
    this.#log = init.logger
  }

  get isOpen (): boolean { return !this.#closed }
  get isClosed (): boolean { return this.#closed }
  /** The sink takes packets now. */
  get ready (): boolean { return this.#ready }

  /** Start the sink now when the stream's format is known (else on the first packet); resolves once it takes packets or failed. */
  async prepare (): Promise<void> {
    const format = this.#init.format()
    if (format !== undefined && this.#sink === undefined) this.#replace(format)
    await this.#starting
  }

  sendRtp (packet: Uint8Array): boolean {
    if (this.#closed || packet.length < 12) return false
    this.#packets++
    this.#bytes += packet.length
    const payloadType = packet[1] & 0x7f
    if (this.#sink === undefined || this.#sink.payloadType !== payloadType) {
      const format = this.#init.format()
      if (format === undefined) {
        this.#dropped++
        return false
      }
      this.#replace({ codec: format.codec, payloadType })
    }
    const buffer = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.length)
    if (this.#ready) {
      this.#sink?.write(buffer)
    } else if (this.#early.length < EARLY_PACKETS) {
      this.#early.push(buffer)
    } else {
      this.#dropped++
      return false
    }
    return true
  }

  sinkStats (): SinkStats | undefined {
    return this.#sink?.stats() as SinkStats | undefined
  }

  stats (): TrackStats {
    return {
      mid: 'sink',
      direction: 'send',
      codec: this.#sink?.codec ?? this.#init.format()?.codec ?? 'h264',
      open: this.isOpen,
      packets: this.#packets,
      bytes: this.#bytes,
      dropped: this.#dropped,
      keyFrameRequests: this.#keyFrameRequests
    }
  }

  close (): void {
    void this.stop()
  }

  /** Close, and stop the sink (a file gets its EOS). Idempotent. */
  async stop (): Promise<void> {
    if (this.#stopped !== undefined) return await this.#stopped
    this.#closed = true
    this.#ready = false
    this.#early = []
    const sink = this.#sink
    this.#stopped = (async () => {
      await this.#starting?.catch(() => {})
      await sink?.stop()
    })()
    this.emit('close')
    await this.#stopped
  }

  #replace (format: ForwardedFormat): void {
    const old = this.#sink
    this.#ready = false
    const logger = this.#log
    const sink = this.#init.createSink?.(format, logger) ?? new GstSink({ sink: this.#init.spec, codec: format.codec, payloadType: format.payloadType, logger })
    this.#sink = sink
    sink.on('keyframe-needed', () => {
      if (this.#sink !== sink || this.#closed) return
      this.#keyFrameRequests++
      this.emit('keyframe-request', 'pli')
    })
    sink.on('failed', err => { if (this.#sink === sink) this.#init.onFailed(err) })
    if (old !== undefined) this.#log.info({ codec: format.codec, payloadType: format.payloadType }, 'the stream changed format: a new sink')
    this.#starting = (async () => {
      await old?.stop()
      try {
        await sink.start()
      } catch (err) {
        if (this.#sink === sink) this.#init.onFailed(err as Error)
        return
      }
      if (this.#sink !== sink) return
      if (this.#closed) {
        await sink.stop()
        return
      }
      this.#ready = true
      for (const packet of this.#early.splice(0)) sink.write(packet)
    })()
  }
}
