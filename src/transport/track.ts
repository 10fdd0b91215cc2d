import { randomInt } from 'node:crypto'
import { Audio, RtcpNackResponder, RtcpSrReporter, RtpPacketizationConfig, Video, type Direction, type Track } from 'node-datachannel'
import type { Logger } from 'pino'
import { TypedEmitter, type EventMap } from '../util/typed-emitter.ts'
import { NACK_RETRY_MS, NackGenerator } from './nack-generator.ts'
import { buildPli, keyFrameRequests } from '../rtp/rtcp-feedback.ts'
import { ReceptionStats } from '../rtp/receiver-report.ts'
import { isRtcp } from '../rtp/rtp-header.ts'
import { SenderStats, type SenderStatsSnapshot } from '../rtp/sender-stats.ts'
import { withPayloadTypeAndSsrc, withPayloadTypeSsrcAndTransportSequence } from '../rtp/rtp-rewrite.ts'
import { CongestionController, type CongestionStats } from './congestion-controller.ts'
import { TransportCcReporter } from './transport-cc-reporter.ts'
import type { RecvTrack, RecvTrackEvents, SendTrack, SendTrackEvents, TrackInit, TrackStats } from './track-types.ts'

const CNAME = 'edge-stack'
/** Packets a send track keeps for retransmission: about 1.5 s of 720p30 video. */
export const NACK_HISTORY = 1024

/** The media description of one track for pc.addTrack (the sender announces its SSRC). */
export function trackDescription (init: TrackInit, direction: Direction): Video | Audio {
  if (init.kind === 'audio') {
    const audio = new Audio(init.mid, direction)
    audio.addOpusCodec(init.payloadType)
    if (direction === 'SendOnly') audio.addSSRC(init.ssrc, CNAME, CNAME, init.mid)
    return audio
  }
  // A receiver that sends NACKs needs a direction that lets it send (see TrackInit.nack).
  const video = new Video(init.mid, direction === 'RecvOnly' && init.nack === true ? 'SendRecv' : direction)
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
  readonly #sender: SenderStats
  /** Pacing, estimate and capped repairs, when the track has congestion control. */
  readonly #congestion: CongestionController | undefined

  constructor (native: Track, init: TrackInit, log: Logger) {
    super(native, init, log)
    const video = init.kind === 'video'
    this.#sender = new SenderStats({ ssrc: init.ssrc, clockRate: init.clockRate, history: video ? NACK_HISTORY : 0 })
    // A sender report a second (libdatachannel's, NTP from the wall clock): the receiver's
    // reports then carry LSR/DLSR, which give the round trip (SenderStats).
    const reporter = new RtcpSrReporter(new RtpPacketizationConfig(init.ssrc >>> 0, CNAME, init.payloadType, init.clockRate))
    if (video && init.congestion !== undefined) {
      // The congestion controller answers NACKs itself, within its repair budget.
      this.#congestion = new CongestionController({ ...init.congestion, ssrc: init.ssrc, logger: this.log, send: (packet, now) => this.#sendNative(packet, now) })
      this.#congestion.on('estimate', estimate => { this.emit('estimate', estimate) })
      this.onceClosed(() => { this.#congestion?.close() })
      native.setMediaHandler(reporter)
    } else if (video) {
      // Answers the receiver's NACKs (ours, or a browser's) from the packets sent last.
      const responder = new RtcpNackResponder(NACK_HISTORY)
      responder.addToChain(reporter)
      native.setMediaHandler(responder)
    } else {
      native.setMediaHandler(reporter)
    }
  }

  congestionStats (): CongestionStats | undefined {
    return this.#congestion?.stats()
  }

  sendRtp (packet: Uint8Array): boolean {
    if (!this.isOpen || packet.length < 12) {
      this.#dropped++
      return false
    }
    const congestion = this.#congestion
    if (congestion !== undefined) {
      // One copy: the track's payload type, SSRC and transport-wide number element at once.
      const own = withPayloadTypeSsrcAndTransportSequence(packet, this.init.payloadType, this.init.ssrc, congestion.extensionId)
      if (own === undefined) {
        this.#dropped++
        return false
      }
      congestion.send(own)
      return true
    }
    return this.#sendNative(withPayloadTypeAndSsrc(packet, this.init.payloadType, this.init.ssrc), performance.now())
  }

  #sendNative (out: Buffer, now: number): boolean {
    if (this.isClosed) return false
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
    this.#sender.sent(out, now)
    return true
  }

  stats (): TrackStats {
    return this.baseStats('send', this.#dropped)
  }

  senderStats (targetBitrateKbps: number | null = null): SenderStatsSnapshot {
    return this.#sender.snapshot(performance.now(), targetBitrateKbps)
  }

  protected onPacket (packet: Buffer): void {
    if (!isRtcp(packet)) return
    this.#sender.rtcp(packet, Date.now())
    this.#congestion?.onRtcp(packet)
    for (const kind of keyFrameRequests(packet)) {
      this.keyFrameCount++
      this.emit('keyframe-request', kind)
    }
  }
}

export class RtcRecvTrack extends NativeTrack<RecvTrackEvents> implements RecvTrack {
  readonly #nack: NackGenerator | undefined
  #nackTimer: NodeJS.Timeout | undefined
  /** Our SSRC as a receiver (the sender SSRC of our RTCP feedback). */
  readonly #localSsrc = randomInt(1, 0xffffffff)
  /** Receiver reports and PLI are ours, not libdatachannel's RtcpReceivingSession (see receiver-report.ts). */
  readonly #reception: ReceptionStats
  #transportCc: TransportCcReporter | undefined

  constructor (native: Track, init: TrackInit, log: Logger) {
    super(native, init, log)
    this.#reception = new ReceptionStats(init.clockRate)
    if (init.nack === true) {
      this.#nack = new NackGenerator(this.#localSsrc, init.ssrc)
      this.onceClosed(() => { clearInterval(this.#nackTimer) })
    }
  }

  enableTransportCc (extensionId: number): void {
    if (this.#transportCc !== undefined || this.isClosed) return
    const reporter = new TransportCcReporter({ extensionId, senderSsrc: this.#localSsrc, mediaSsrc: this.init.ssrc, send: packet => this.#sendRtcp(packet, 'transport-cc feedback') })
    this.#transportCc = reporter
    this.onceClosed(() => { reporter.close() })
  }

  requestKeyFrame (): boolean {
    if (!this.isOpen) return false
    if (!this.#sendRtcp(buildPli(this.#localSsrc, this.#reception.ssrc ?? this.init.ssrc), 'a key frame request')) return false
    this.keyFrameCount++
    return true
  }

  #sendRtcp (packet: Buffer, what: string): boolean {
    try {
      return this.native.sendMessageBinary(packet)
    } catch (err) {
      this.log.debug({ err }, `sending ${what} failed`)
      return false
    }
  }

  stats (): TrackStats {
    const stats = this.baseStats('recv', 0)
    stats.jitterMs = this.#reception.jitterMs
    if (this.#nack !== undefined) stats.nacks = { requested: this.#nack.requested, recovered: this.#nack.recovered }
    return stats
  }

  protected onPacket (packet: Buffer): void {
    const now = performance.now()
    if (isRtcp(packet)) {
      // A receiver report for every sender report (as libdatachannel did).
      if (this.#reception.rtcp(packet, now)) {
        const report = this.#reception.report(this.#localSsrc, now)
        if (report !== undefined) this.#sendRtcp(report, 'a receiver report')
      }
      return
    }
    // The packet goes on first (a watch's sink sends it from here), the figures after,
    // with the arrival time read above: counted first, the first packet of a frame
    // (cold after the idle between frames) spent ~80 µs in this daemon before it left, ~20 µs now.
    this.emit('rtp', packet)
    this.#reception.rtp(packet, now)
    this.#transportCc?.received(packet, now)
    this.packets++
    this.bytes += packet.length
    if (this.#nack !== undefined && packet.length >= 12) {
      this.#nack.received((packet[2] << 8) | packet[3])
      // Nothing missing (the rule): no NACK to build, no timer to start.
      if (this.#nack.pending > 0) this.#sendNacks()
    }
  }

  /** Ask for what is missing now; while anything is, look again every retry interval. */
  #sendNacks (): void {
    const nack = this.#nack
    if (nack === undefined || this.isClosed) return
    const packet = nack.due(performance.now())
    if (packet !== undefined) {
      try {
        this.native.sendMessageBinary(packet)
      } catch (err) {
        this.log.debug({ err }, 'sending a NACK failed')
      }
    }
    if (nack.pending > 0 && this.#nackTimer === undefined) {
      this.#nackTimer = setInterval(() => {
        this.guard('nack', () => {
          this.#sendNacks()
          if (nack.pending === 0) {
            clearInterval(this.#nackTimer)
            this.#nackTimer = undefined
          }
        })
      }, NACK_RETRY_MS)
    }
  }
}
