import type { Logger } from 'pino'
import { TypedEmitter } from '../util/typed-emitter.ts'
import type { BandwidthEstimate } from '../rtp/bwe-estimate.ts'
import { FallbackBandwidthEstimator } from '../rtp/bwe-fallback.ts'
import { isRemb, parseRemb } from '../rtp/bwe-remb.ts'
import { SendSideBandwidthEstimator } from '../rtp/bwe-send-side.ts'
import { rtcpPackets } from '../rtp/rtcp-compound.ts'
import { reportBlocks } from '../rtp/receiver-report.ts'
import { writeTransportSequence } from '../rtp/transport-cc-extension.ts'
import { isTransportFeedback, parseTransportFeedback } from '../rtp/transport-cc-feedback.ts'
import { parseNack } from './nack-generator.ts'
import { RetransmitHistory } from './retransmit-history.ts'
import { SendPacer } from './send-pacer.ts'
import { TRANSPORT_CC_EXTENSION_ID } from './sdp-extmap.ts'

/**
 * Congestion control for one send track (one consumer): every RTP packet
 * leaves through a pacer at PACING_FACTOR × the estimate, stamped with a
 * transport-wide sequence number and recorded; the RTCP that comes back
 * feeds a send-side estimator (transport-cc feedback) or, for a receiver
 * that sends none, a fallback on REMB and receiver reports; NACKs are
 * answered within a repair budget (RetransmitHistory).
 *
 * `estimate` events tell the encoder's owner what this consumer can take;
 * there is none until the receiver has said something (feedback, REMB or
 * a report), so a receiver that sends no RTCP at all leaves the rate alone.
 */
export interface CongestionControllerInit {
  /** The track's SSRC (feedback about other SSRCs is not ours). */
  ssrc: number
  minBitrateBps: number
  maxBitrateBps: number
  /**
   * Where the estimate starts (default the max: the configured bit rate, so a
   * fast link sees today's rate from the first frame and a slow one brings it
   * down within about a second, on the first queueing delay it shows).
   */
  startBitrateBps?: number
  extensionId?: number
  /** Sends one packet on the native track (`nowMs`: the controller's clock, read once for the packet); false when the stack refused it. */
  send: (packet: Buffer, nowMs: number) => boolean
  logger: Logger
  now?: () => number
}

export interface CongestionControllerEvents {
  estimate: [BandwidthEstimate]
}

export interface CongestionStats {
  estimate: BandwidthEstimate | undefined
  pacingBps: number
  pacerQueueMs: number
  pacerDropped: number
  retransmitted: number
  retransmitsSkipped: number
  feedbackMalformed: number
}

/** libwebrtc's pacing factor: the pacer may send 2.5× the estimate to catch up after a key frame. */
export const PACING_FACTOR = 2.5
/**
 * The pacer's rate while the estimate is at the source's most: the link has
 * shown no limit below what we send, so a key frame leaves at once (paced at
 * 2.5× a 1.5 Mbit/s stream, a 720p key frame waited ~90 ms, the frame-latency
 * p99). Pacing starts as soon as the estimate falls below the most.
 */
export const UNPACED_BPS = 1_000_000_000
/** Without transport-cc feedback for this long, the fallback estimate leads. */
const FEEDBACK_TIMEOUT_MS = 2000
const RR = 201
const SR = 200
const RTPFB = 205
const NACK_FMT = 1

export class CongestionController extends TypedEmitter<CongestionControllerEvents> {
  readonly #init: CongestionControllerInit
  readonly #now: () => number
  readonly #extensionId: number
  readonly #sendSide: SendSideBandwidthEstimator
  readonly #fallback: FallbackBandwidthEstimator
  readonly #pacer: SendPacer
  readonly #history = new RetransmitHistory()
  #sequence = 0
  #lastFeedbackMs = Number.NEGATIVE_INFINITY
  #heard = false
  #malformed = 0
  #closed = false

  constructor (init: CongestionControllerInit) {
    super()
    this.#init = init
    this.#now = init.now ?? (() => performance.now())
    this.#extensionId = init.extensionId ?? TRANSPORT_CC_EXTENSION_ID
    const start = init.startBitrateBps ?? init.maxBitrateBps
    const limits = { minBitrateBps: init.minBitrateBps, maxBitrateBps: init.maxBitrateBps, startBitrateBps: start }
    // No probing yet: a probe needs padding the pacer does not make (issue 17, what is left).
    this.#sendSide = new SendSideBandwidthEstimator({ ...limits, probing: false })
    this.#fallback = new FallbackBandwidthEstimator(limits)
    this.#pacer = new SendPacer({ rateBps: this.#pacingBps(start), send: (packet, repair, now) => { this.#sendNow(packet, repair, now) }, now: this.#now })
    this.onListenerError = (event, err) => { init.logger.error({ err, event }, 'congestion listener threw') }
  }

  /** The estimate in force, or undefined before the receiver said anything. */
  get estimate (): BandwidthEstimate | undefined {
    if (!this.#heard) return undefined
    return this.#usingFeedback() ? this.#sendSide.estimate : this.#fallback.estimate
  }

  /** The RTP header extension ID the transport-wide sequence number is written with. */
  get extensionId (): number {
    return this.#extensionId
  }

  /**
   * Queue one RTP packet (already the track's payload type and SSRC) for
   * sending. The packet is the controller's from now on: its transport-wide
   * number is stamped in place and it is kept for repairs, so it must be the
   * track's own copy, never a buffer others share
   * (withPayloadTypeSsrcAndTransportSequence makes one with the element in
   * place already, so the stamp allocates nothing).
   */
  send (packet: Buffer): void {
    if (this.#closed) return
    this.#pacer.enqueue(packet)
  }

  /** One RTCP datagram from the receiver. */
  onRtcp (datagram: Buffer): void {
    if (this.#closed) return
    const now = this.#now()
    let changed = false
    for (const view of rtcpPackets(datagram)) {
      const packet = datagram.subarray(view.offset, view.offset + view.length)
      try {
        if (view.type === RTPFB && isTransportFeedback(packet)) {
          const feedback = parseTransportFeedback(packet)
          if (feedback.mediaSsrc !== this.#init.ssrc >>> 0 && feedback.mediaSsrc !== 0) continue
          this.#sendSide.onTransportFeedback(feedback, now)
          this.#lastFeedbackMs = now
          changed = true
        } else if (view.type === RTPFB && view.fmt === NACK_FMT) {
          this.#repair(parseNack(packet), now)
        } else if (isRemb(packet)) {
          const remb = parseRemb(packet)
          if (remb.ssrcs.includes(this.#init.ssrc >>> 0)) {
            this.#fallback.onRemb(remb.bitrateBps, now)
            changed = true
          }
        } else if (view.type === RR || view.type === SR) {
          const block = reportBlocks(packet).find(b => b.ssrc === this.#init.ssrc >>> 0)
          if (block !== undefined) {
            // The fallback takes the report's 8-bit fraction (x/256).
            this.#fallback.onReceiverReport(Math.round(block.fractionLost * 256), now)
            changed = true
          }
        }
      } catch (err) {
        this.#malformed++
        this.#init.logger.debug({ err: (err as Error).message }, 'RTCP from the receiver dropped')
      }
    }
    if (!changed) return
    this.#heard = true
    const estimate = this.estimate
    if (estimate === undefined) return
    this.#pacer.setRate(this.#pacingBps(estimate.bitrateBps))
    this.emit('estimate', estimate)
  }

  #pacingBps (estimateBps: number): number {
    return estimateBps >= this.#init.maxBitrateBps ? UNPACED_BPS : estimateBps * PACING_FACTOR
  }

  stats (): CongestionStats {
    return {
      estimate: this.estimate,
      pacingBps: this.#pacer.rateBps,
      pacerQueueMs: this.#pacer.queueMs,
      pacerDropped: this.#pacer.dropped,
      retransmitted: this.#history.resent,
      retransmitsSkipped: this.#history.skipped,
      feedbackMalformed: this.#malformed
    }
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#pacer.close()
    this.#history.clear()
  }

  #usingFeedback (): boolean {
    return this.#now() - this.#lastFeedbackMs < FEEDBACK_TIMEOUT_MS
  }

  /** Stamps the next transport-wide number (a repair gets a new one too: its bytes load the link), sends, records. */
  #sendNow (packet: Buffer, repair: boolean, now: number): void {
    const sequence = this.#sequence
    const stamped = writeTransportSequence(packet, this.#extensionId, sequence)
    if (stamped === undefined) return
    const out = Buffer.isBuffer(stamped) ? stamped : Buffer.from(stamped.buffer, stamped.byteOffset, stamped.byteLength)
    // Kept for repairs even when the stack refused it (a full buffer, a failed sendto): the
    // receiver sees the media sequence gap and NACKs it, and the resend can still go.
    if (!repair) this.#history.sent(out)
    if (!this.#init.send(out, now)) return
    this.#sequence = (sequence + 1) & 0xffff
    this.#sendSide.onPacketSent({ sequence, sendTimeMs: now, size: out.length })
  }

  #repair (seqs: number[], now: number): void {
    const estimate = this.estimate
    const bps = estimate?.bitrateBps ?? this.#pacer.rateBps / PACING_FACTOR
    for (const packet of this.#history.repairs(seqs, bps, estimate?.rttMs ?? 0, now)) this.#pacer.enqueue(packet, true)
  }

  /** Fraction lost (0-255) of the report block about our SSRC, if the report has one. */}
