import { AimdRateControl, type RateControlState } from './bwe-aimd-rate-control.ts'
import { InterArrival } from './bwe-inter-arrival.ts'
import type { PacketResult } from './bwe-send-history.ts'
import { TrendlineEstimator, type BandwidthUsage, type TrendlineInit } from './bwe-trendline.ts'

/**
 * The delay-based half of the estimate (libwebrtc goog_cc DelayBasedBwe):
 * received packets, in arrival order, go through inter-arrival grouping
 * into the trendline detector, whose signal drives the AIMD controller.
 * While overuse goes on, the rate is cut again at most once per RTT.
 */
export interface DelayBasedEstimatorInit extends TrendlineInit {
  startBitrateBps: number
  minBitrateBps: number
  maxBitrateBps: number
  /** AimdRateControl's fast ramp-up (default true). */
  fastRampUp?: boolean
}

export class DelayBasedEstimator {
  private readonly interArrival = new InterArrival()
  private readonly trendline: TrendlineEstimator
  readonly rateControl: AimdRateControl

  constructor (init: DelayBasedEstimatorInit) {
    this.trendline = new TrendlineEstimator(init)
    this.rateControl = new AimdRateControl(init)
  }

  get bitrateBps (): number {
    return this.rateControl.bitrateBps
  }

  get usage (): BandwidthUsage {
    return this.trendline.state
  }

  get trend (): number {
    return this.trendline.trend
  }

  get threshold (): number {
    return this.trendline.currentThreshold
  }

  get rateState (): RateControlState {
    return this.rateControl.rateState
  }

  /**
   * Feeds one feedback's received packets (sorted here by arrival) and
   * updates the rate; `probeBps`, when a probe cluster just reported, raises
   * the rate to it unless the link is overused.
   */
  onPackets (received: PacketResult[], acknowledgedBps: number | undefined, probeBps: number | undefined, nowMs: number): number {
    const sorted = received.filter(p => p.arrivalTimeMs !== undefined)
      .sort((a, b) => (a.arrivalTimeMs as number) - (b.arrivalTimeMs as number) || a.sequence - b.sequence)
    if (sorted.length === 0) return this.bitrateBps
    const before = this.trendline.state
    for (const p of sorted) {
      const delta = this.interArrival.add(p.sendTimeMs, p.arrivalTimeMs as number, p.size)
      if (delta !== undefined) this.trendline.update(delta.arrivalDeltaMs, delta.sendDeltaMs, delta.arrivalTimeMs)
    }
    const usage = this.trendline.state
    if (usage === 'overusing') {
      if (acknowledgedBps !== undefined) {
        if (before !== 'overusing' || this.rateControl.timeToReduceFurther(nowMs, acknowledgedBps)) this.rateControl.update(usage, acknowledgedBps, nowMs)
      } else if (this.rateControl.timeToReduceFurther(nowMs, 0)) {
        this.rateControl.update(usage, undefined, nowMs)
      }
    } else if (probeBps !== undefined && probeBps > this.rateControl.bitrateBps) {
      this.rateControl.setEstimate(probeBps, nowMs)
    } else {
      this.rateControl.update(usage, acknowledgedBps, nowMs)
    }
    return this.bitrateBps
  }
}
