import { randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import { TypedEmitter, type EventMap } from '../util/typed-emitter.ts'
import { buildPli, keyFrameRequests } from '../rtp/rtcp-feedback.ts'
import { withPayloadTypeAndSsrc } from '../rtp/rtp-rewrite.ts'
import { SenderStats, type SenderStatsSnapshot } from '../rtp/sender-stats.ts'
import type { RecvTrack, RecvTrackEvents, SendTrack, SendTrackEvents, TrackInit, TrackStats } from './track-types.ts'

/** Hands one datagram to the trusted session's UDP socket (false: not sent). */
export type SendDatagram = (datagram: Uint8Array) => boolean

abstract class UdpTrack<E extends EventMap<E> & { open: [], close: [] }> extends TypedEmitter<E> {
  readonly init: TrackInit
  protected readonly send: SendDatagram
  protected readonly log: Logger
  protected packets = 0
  protected bytes = 0
  protected keyFrameCount = 0
  #closed = false

  constructor (init: TrackInit, send: SendDatagram, log: Logger) {
    super()
    this.init = init
    this.send = send
    this.log = log.child({ mid: init.mid })
    this.onListenerError = (event, err) => { this.log.error({ err, event }, 'track listener threw') }
    // No negotiation: open as soon as whoever added the track has attached its listeners.
    setImmediate(() => { if (!this.#closed) this.#lifecycle('open') })
  }

  get isOpen (): boolean { return !this.#closed }
  get isClosed (): boolean { return this.#closed }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#lifecycle('close')
  }

  protected baseStats (direction: 'send' | 'recv', dropped: number): TrackStats {
    return { mid: this.init.mid, direction, codec: this.init.codec, open: this.isOpen, packets: this.packets, bytes: this.bytes, dropped, keyFrameRequests: this.keyFrameCount }
  }

  #lifecycle (event: 'open' | 'close'): void {
    (this as unknown as TypedEmitter<{ open: [], close: [] }>).emit(event)
  }
}

/** Sends the source's RTP, unencrypted, to the peer's trusted UDP socket. */
export class UdpSendTrack extends UdpTrack<SendTrackEvents> implements SendTrack {
  #dropped = 0
  /** No NACK history (nothing is resent here) and no sender reports: no loss, jitter or RTT from the receiver. */
  readonly #sender = new SenderStats({ ssrc: this.init.ssrc, clockRate: this.init.clockRate, history: 0 })

  sendRtp (packet: Uint8Array): boolean {
    if (this.isClosed || packet.length < 12) { this.#dropped++; return false }
    const out = withPayloadTypeAndSsrc(packet, this.init.payloadType, this.init.ssrc)
    if (!this.send(out)) { this.#dropped++; return false }
    this.packets++
    this.bytes += out.length
    this.#sender.sent(out, performance.now())
    return true
  }

  /** RTCP feedback (PLI/FIR) from the viewer for this track's SSRC. */
  receiveRtcp (packet: Buffer): void {
    this.#sender.rtcp(packet, Date.now())
    for (const kind of keyFrameRequests(packet)) {
      this.keyFrameCount++
      this.emit('keyframe-request', kind)
    }
  }

  stats (): TrackStats { return this.baseStats('send', this.#dropped) }

  senderStats (targetBitrateKbps: number | null = null): SenderStatsSnapshot {
    return this.#sender.snapshot(performance.now(), targetBitrateKbps)
  }
}

/** Takes the RTP for one SSRC off the trusted UDP socket; key frames are asked for with a plain RTCP PLI. */
export class UdpRecvTrack extends UdpTrack<RecvTrackEvents> implements RecvTrack {
  readonly #ssrc = randomInt(1, 0xffffffff)

  receiveRtp (packet: Buffer): void {
    if (this.isClosed) return
    this.packets++
    this.bytes += packet.length
    this.emit('rtp', packet)
  }

  requestKeyFrame (): boolean {
    if (this.isClosed || !this.send(buildPli(this.#ssrc, this.init.ssrc))) return false
    this.keyFrameCount++
    return true
  }

  stats (): TrackStats { return this.baseStats('recv', 0) }
}
