import { Audio, RtcpReceivingSession, Video, type Direction, type Track } from 'node-datachannel'
import type { Logger } from 'pino'
import { TypedEmitter, type EventMap } from '../util/typed-emitter.ts'
import { keyFrameRequests } from './rtcp-parse.ts'
import type { RecvTrack, RecvTrackEvents, SendTrack, SendTrackEvents, TrackInit, TrackStats } from './track-types.ts'

const CNAME = 'edge-stack'

/** The media description of one track for pc.addTrack (the sender announces its SSRC). */
export function trackDescription (init: TrackInit, direction: Direction): Video | Audio {
  if (init.kind === 'audio') {
    const audio = new Audio(init.mid, direction)
    audio.addOpusCodec(init.payloadType)
    if (direction === 'SendOnly') audio.addSSRC(init.ssrc, CNAME, CNAME, init.mid)
    return audio
  }
  const video = new Video(init.mid, direction)
  switch (init.codec) {
    case 'h264': video.addH264Codec(init.payloadType); break
    case 'vp8': video.addVP8Codec(init.payloadType); break
    case 'vp9': video.addVP9Codec(init.payloadType); break
    case 'av1': video.addAV1Codec(init.payloadType); break
    default: video.addVideoCodec(init.payloadType, init.codec.toUpperCase())
  }
  if (direction === 'SendOnly') video.addSSRC(init.ssrc, CNAME, CNAME, init.mid)
  return video
}

function isRtcpPacket (packet: Uint8Array): boolean {
  return packet.length >= 8 && (packet[0] >> 6) === 2 && packet[1] >= 192 && packet[1] <= 223
}

/** Shared plumbing: native callbacks are guarded (an exception escaping one aborts the process). */
abstract class NativeTrack<E extends EventMap<E> & { open: [], close: [] }> extends TypedEmitter<E> {
  readonly init: TrackInit
  protected readonly native: Track
  protected readonly log: Logger
  protected packets = 0
  protected bytes = 0
  protected keyFrameCount = 0
  #open = false
  #closed = false

  constructor (native: Track, init: TrackInit, log: Logger) {
    super()
    this.init = init
    this.native = native
    this.log = log.child({ mid: init.mid })
    this.onListenerError = (event, err) => { this.log.error({ err, event }, 'track listener threw') }
    native.onOpen(() => { this.guard('open', () => { this.#onOpen() }) })
    native.onClosed(() => { this.guard('closed', () => { this.#onClosed() }) })
    native.onError(err => { this.guard('error', () => { this.log.warn({ err }, 'track error') }) })
    native.onMessage(msg => { this.guard('message', () => { if (!this.#closed) this.onPacket(msg) }) })
  }

  get isOpen (): boolean { return this.#open && !this.#closed }
  get isClosed (): boolean { return this.#closed }

  protected abstract onPacket (packet: Buffer): void

  /** Called once, when the track closes for any reason. */
  onceClosed (fn: () => void): void {
    (this as unknown as TypedEmitter<{ close: [] }>).once('close', fn)
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    try {
      this.native.close()
    } catch (err) {
      this.log.debug({ err }, 'closing track')
    }
    this.#lifecycle('close')
  }

  /** The PeerConnection closed: the native track goes with it. */
  closeWithConnection (): void {
    if (this.#closed) return
    this.#closed = true
    this.#lifecycle('close')
  }

  protected baseStats (direction: 'send' | 'recv', dropped: number): TrackStats {
    return {
      mid: this.init.mid,
      direction,
      codec: this.init.codec,
      open: this.isOpen,
      packets: this.packets,
      bytes: this.bytes,
      dropped,
      keyFrameRequests: this.keyFrameCount
    }
  }

  protected guard (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.log.error({ err, callback: what }, 'track callback failed')
    }
  }

  #lifecycle (event: 'open' | 'close'): void {
    (this as unknown as TypedEmitter<{ open: [], close: [] }>).emit(event)
  }

  #onOpen (): void {
    if (this.#open || this.#closed) return
    this.#open = true
    this.log.debug('track open')
    this.#lifecycle('open')
  }

  #onClosed (): void {
    if (this.#closed) return
    this.#closed = true
    this.log.debug('track closed')
    this.#lifecycle('close')
  }
}

export class RtcSendTrack extends NativeTrack<SendTrackEvents> implements SendTrack {
  #dropped = 0

  sendRtp (packet: Uint8Array): boolean {
    if (!this.isOpen || packet.length < 12) {
      this.#dropped++
      return false
    }
    const out = this.#rewrite(packet)
    let sent = false
    try {
      sent = this.native.sendMessageBinary(out)
    } catch (err) {
      this.log.debug({ err }, 'sending RTP failed')
    }
    if (!sent) {
      this.#dropped++
      return false
    }
    this.packets++
    this.bytes += out.length
    return true
  }

  stats (): TrackStats {
    return this.baseStats('send', this.#dropped)
  }

  protected onPacket (packet: Buffer): void {
    if (!isRtcpPacket(packet)) return
    for (const kind of keyFrameRequests(packet)) {
      this.keyFrameCount++
      this.emit('keyframe-request', kind)
    }
  }

  /** One source feeds many tracks: rewrite only when this track's payload type or SSRC differs. */
  #rewrite (packet: Uint8Array): Buffer {
    const buffer = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)
    const { payloadType, ssrc } = this.init
    if ((buffer[1] & 0x7f) === payloadType && buffer.readUInt32BE(8) === ssrc) return buffer
    const copy = Buffer.from(buffer)
    copy[1] = (copy[1] & 0x80) | payloadType
    copy.writeUInt32BE(ssrc >>> 0, 8)
    return copy
  }
}

export class RtcRecvTrack extends NativeTrack<RecvTrackEvents> implements RecvTrack {
  constructor (native: Track, init: TrackInit, log: Logger) {
    super(native, init, log)
    // Receiver reports and PLI; must be in place before the first packet arrives.
    native.setMediaHandler(new RtcpReceivingSession())
  }

  requestKeyFrame (): boolean {
    if (!this.isOpen) return false
    try {
      if (!this.native.requestKeyframe()) return false
    } catch (err) {
      this.log.debug({ err }, 'requesting a key frame failed')
      return false
    }
    this.keyFrameCount++
    return true
  }

  stats (): TrackStats {
    return this.baseStats('recv', 0)
  }

  protected onPacket (packet: Buffer): void {
    if (isRtcpPacket(packet)) return
    this.packets++
    this.bytes += packet.length
    this.emit('rtp', packet)
  }
}
