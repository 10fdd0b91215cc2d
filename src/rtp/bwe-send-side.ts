import { AcknowledgedBitrateEstimator } from './bwe-acknowledged-bitrate.ts'
import { DelayBasedEstimator } from './bwe-delay-based.ts'
import type { BandwidthEstimate } from './bwe-estimate.ts'
import { LossBasedController } from './bwe-loss-based.ts'
import { ProbeBitrateEstimator } from './bwe-probe-estimator.ts'
import { ProbeController, type ProbeCluster, type ProbeControllerInit } from './bwe-probe-controller.ts'
import { QueueingDelayTracker } from './bwe-queueing-delay.ts'
import { SendHistory, type SentPacket } from './bwe-send-history.ts'
import type { TrendlineInit } from './bwe-trendline.ts'
import type { TransportFeedback } from './transport-cc-feedback.ts'

/**
 * Send-side bandwidth estimation for one consumer, in the style of Google
 * Congestion Control: every packet sent with a transport-wide sequence
 * number is recorded; every transport-cc feedback turns into per-packet
 * delays (delay-based estimate, acknowledged rate, queueing delay), losses
 * (loss-based cap) and probe results. The estimate is min(delay-based,
 * loss-based) within [min, max].
 *
 * Pure and clock-free: the owner passes the time (ms, any monotonic clock)
 * and runs `process()` on a timer (every 25 ms or so, and after each
 * feedback) to collect probe clusters for its pacer to send.
 */
export interface SendSideEstimatorInit extends TrendlineInit {
  minBitrateBps: number
  maxBitrateBps: number
  /** Where to start (default: the geometric middle of min and max, at most 1 Mbit/s). */
  startBitrateBps?: number
  /** Probing; false turns it off (plain GCC). */
  probing?: Omit<ProbeControllerInit, 'startBitrateBps' | 'maxBitrateBps'> | false
  /** Faster increase after a while without overuse (default true; false with `probing: false` is plain GCC). */
  fastRampUp?: boolean
  /** Send history slots (default 8192). */
  historySize?: number
}

export const DEFAULT_START_BITRATE_BPS = 1_000_000
const RTT_SMOOTHING = 0.9
/** Loss under 2 % this long (two or three loss figures) and the loss cap no longer holds the delay-based ramp back. */
export const LOSS_CAP_LIFT_AFTER_MS = 2000

export function defaultStartBitrate (minBps: number, maxBps: number): number {
  return Math.min(Math.sqrt(minBps * maxBps), DEFAULT_START_BITRATE_BPS, maxBps)
}

export class SendSideBandwidthEstimator {
  private readonly minBps: number
  private maxBps: number
  private readonly history: SendHistory
  private readonly acknowledged = new AcknowledgedBitrateEstimator()
  private readonly delayBased: DelayBasedEstimator
  private readonly lossBased: LossBasedController
  private readonly probeEstimator = new ProbeBitrateEstimator()
  private readonly probeController: ProbeController | undefined
  private readonly queueingDelay = new QueueingDelayTracker()
  private rttMs: number | undefined
  /** Once an RTT comes from RTCP, the rougher one feedback gives is ignored. */
  private rttFromReports = false
  private current: number

  constructor (init: SendSideEstimatorInit) {
    if (!(init.minBitrateBps > 0) || !(init.maxBitrateBps >= init.minBitrateBps)) throw new RangeError(`bit rate limits ${init.minBitrateBps}-${init.maxBitrateBps} are not 0 < min <= max`)
    this.minBps = init.minBitrateBps
    this.maxBps = init.maxBitrateBps
    const start = Math.min(Math.max(init.startBitrateBps ?? defaultStartBitrate(this.minBps, this.maxBps), this.minBps), this.maxBps)
    this.history = new SendHistory(init.historySize)
    this.delayBased = new DelayBasedEstimator({ ...init, startBitrateBps: start })
    // The loss cap starts at the max: the delay-based rate leads, loss only pulls it down.
    this.lossBased = new LossBasedController({ startBitrateBps: this.maxBps, minBitrateBps: this.minBps, maxBitrateBps: this.maxBps, liftAfterMs: init.fastRampUp === false ? undefined : LOSS_CAP_LIFT_AFTER_MS })
    if (init.probing !== false) this.probeController = new ProbeController({ ...init.probing, startBitrateBps: start, maxBitrateBps: this.maxBps })
    this.current = start
  }

  /** A packet went out with transport-wide sequence number `sequence` (16-bit). */
  onPacketSent (packet: SentPacket): void {
    this.history.onSent(packet)
  }

  /** An RTT measured elsewhere (RTCP SR/RR), which beats the one feedback gives. */
  onRtt (rttMs: number): void {
    if (!(rttMs >= 0) || !Number.isFinite(rttMs)) return
    this.setRtt(rttMs)
  }

  /** One parsed transport-cc feedback arrived at `nowMs`; returns the new estimate. */
  onTransportFeedback (feedback: TransportFeedback, nowMs: number): BandwidthEstimate {
    const results = this.history.onFeedback(feedback)
    if (results.length === 0) return this.estimate
    let lost = 0
    let newestSendMs = Number.NEGATIVE_INFINITY
    for (const p of results) {
      if (p.arrivalTimeMs === undefined) { lost++; continue }
      this.acknowledged.add(p.sendTimeMs, p.arrivalTimeMs, p.size)
      this.queueingDelay.add(p.sendTimeMs, p.arrivalTimeMs)
      if (p.probeClusterId !== undefined) this.probeEstimator.add(p)
      if (p.sendTimeMs > newestSendMs) newestSendMs = p.sendTimeMs
    }
    // The newest acknowledged packet's age is an RTT plus the receiver's wait before reporting.
    if (Number.isFinite(newestSendMs)) this.setRtt(nowMs - newestSendMs, true)
    const probe = this.probeEstimator.takeResult()
    if (probe !== undefined) this.probeController?.onResult(probe.id, probe.bps, nowMs)
    this.delayBased.onPackets(results, this.acknowledged.bitrateBps, probe?.bps, nowMs)
    this.lossBased.onPackets(results.length, lost, this.current, nowMs)
    this.current = Math.min(Math.max(Math.min(this.delayBased.bitrateBps, this.lossBased.bitrateBps), this.minBps), this.maxBps)
    return this.estimate
  }

  /** Probe clusters to send now (the pacer sends each at its rate for its duration, padding if media runs short). */
  process (nowMs: number): ProbeCluster[] {
    if (this.probeController === undefined) return []
    const clusters = this.probeController.process(nowMs, this.current, this.delayBased.rateControl.lastDecreaseTimeMs)
    for (const c of clusters) this.probeEstimator.expect(c)
    return clusters
  }

  setMaxBitrate (maxBps: number): void {
    if (!(maxBps >= this.minBps)) throw new RangeError(`max bit rate ${maxBps} is under the min ${this.minBps}`)
    this.maxBps = maxBps
    this.delayBased.rateControl.setMaxBitrate(maxBps)
    this.lossBased.setMaxBitrate(maxBps)
    this.probeController?.setMaxBitrate(maxBps)
    this.current = Math.min(this.current, maxBps)
  }

  get bytesInFlight (): number {
    return this.history.bytesInFlight
  }

  get estimate (): BandwidthEstimate {
    const usage = this.delayBased.usage
    return {
      bitrateBps: this.current,
      delayBasedBps: this.delayBased.bitrateBps,
      lossBasedBps: this.lossBased.bitrateBps,
      acknowledgedBps: this.acknowledged.bitrateBps,
      state: usage === 'overusing' ? 'decrease' : usage === 'underusing' ? 'hold' : this.delayBased.rateState,
      queueingDelayMs: this.queueingDelay.delayMs,
      trend: this.delayBased.trend,
      threshold: this.delayBased.threshold,
      lossFraction: this.lossBased.fractionLost,
      rttMs: this.rttMs ?? 0,
      source: 'transport-cc'
    }
  }

  private setRtt (rttMs: number, fromFeedback = false): void {
    if (fromFeedback && this.rttFromReports) return
    if (!fromFeedback) this.rttFromReports = true
    this.rttMs = this.rttMs === undefined || !fromFeedback ? rttMs : RTT_SMOOTHING * this.rttMs + (1 - RTT_SMOOTHING) * rttMs
    this.delayBased.rateControl.setRtt(this.rttMs)
    this.lossBased.setRtt(this.rttMs)
  }
}
