import type { BandwidthUsage } from './bwe-trendline.ts'
import { LinkCapacityEstimator } from './bwe-link-capacity.ts'

/**
 * The rate controller of Google Congestion Control (draft-ietf-rmcat-gcc-02
 * §5.5, libwebrtc goog_cc AimdRateControl). The detector's signal drives a
 * three-state machine: normal → increase, overuse → decrease, underuse →
 * hold. Increase is multiplicative (8 %/s) while the link's capacity is
 * unknown or far away and additive (about a packet per response time) near
 * it; it never goes above 1.5 × the acknowledged rate. Decrease sets the
 * rate to 0.85 × the acknowledged rate and holds until the queues drain.
 *
 * Fast ramp-up (ours, issue 17): at 8 %/s, 1 → 2 Mbit/s takes 9 s and
 * 1 → 4 Mbit/s 18 s, and the additive step near a link capacity estimate
 * is slower still. Once the detector has seen no overuse for RAMP_AFTER_MS
 * (about a steady link's saw-tooth period) the increase is multiplicative
 * wherever the rate is, and its step doubles every RAMP_DOUBLING_MS of
 * overuse-free increase, from 8 %/s up to MAX_INCREASE_PER_SECOND. Where
 * the rate crosses the link capacity estimate it starts again from 8 %/s,
 * so a link that did not grow is crossed at GCC's pace and shows overuse
 * within a few hundred ms, which ends the run (0.85 × acknowledged, as
 * ever); one that grew is found in a few seconds. Probing would find it
 * faster, but the pacer has no padding to probe with yet.
 */
export type RateControlState = 'increase' | 'hold' | 'decrease'

export interface AimdRateControlInit {
  startBitrateBps: number
  minBitrateBps: number
  maxBitrateBps: number
  /** Decrease factor applied to the acknowledged rate (default 0.85). */
  beta?: number
  /** Fast ramp-up after a while without overuse (default true; false: plain GCC, 8 %/s). */
  fastRampUp?: boolean
}

export const DEFAULT_AIMD_BETA = 0.85
const INCREASE_PER_SECOND = 1.08
/** Overuse-free increase this long before the ramp speeds up (about a sawtooth's period on a steady link). */
export const RAMP_AFTER_MS = 2000
export const RAMP_DOUBLING_MS = 1000
export const MAX_INCREASE_PER_SECOND = 1.4
const MIN_MULTIPLICATIVE_INCREASE_BPS = 1000
const MIN_ADDITIVE_INCREASE_BPS_PER_S = 4000
const FRAME_INTERVAL_S = 1 / 30
const PACKET_BITS = 1200 * 8
/** The detector's own reaction time, added to the RTT for the additive step. */
const DETECTOR_DELAY_MS = 100
const DEFAULT_RTT_MS = 200
const MIN_REDUCTION_INTERVAL_MS = 10
const MAX_REDUCTION_INTERVAL_MS = 200

export class AimdRateControl {
  private readonly minBps: number
  private maxBps: number
  private readonly beta: number
  private readonly fastRampUp: boolean
  private readonly linkCapacity = new LinkCapacityEstimator()
  private current: number
  private state: RateControlState = 'hold'
  private lastChangeMs: number | undefined
  private lastDecreaseMs: number | undefined
  /** Since when the rate has gone without a decrease (the last decrease, or the first update); moved on where the ramp starts again. */
  private overuseFreeSinceMs: number | undefined
  private aboveCapacity = false
  private latestAcknowledgedBps: number | undefined
  private rttMs = DEFAULT_RTT_MS

  constructor (init: AimdRateControlInit) {
    this.minBps = init.minBitrateBps
    this.maxBps = init.maxBitrateBps
    this.beta = init.beta ?? DEFAULT_AIMD_BETA
    this.fastRampUp = init.fastRampUp ?? true
    this.current = this.clamp(init.startBitrateBps)
  }

  get bitrateBps (): number {
    return this.current
  }

  get rateState (): RateControlState {
    return this.state
  }

  get lastDecreaseTimeMs (): number | undefined {
    return this.lastDecreaseMs
  }

  /** The link capacity estimate, if there is one (an average of the acknowledged rate at overuse). */
  get linkCapacityBps (): number | undefined {
    return this.linkCapacity.estimateBps
  }

  setRtt (rttMs: number): void {
    this.rttMs = rttMs
  }

  setMaxBitrate (maxBps: number): void {
    this.maxBps = maxBps
    this.current = this.clamp(this.current)
  }

  /** Sets the estimate outright: a probe's result. */
  setEstimate (bps: number, nowMs: number): void {
    const previous = this.current
    this.current = this.clamp(bps)
    this.lastChangeMs = nowMs
    if (this.current < previous) {
      this.lastDecreaseMs = nowMs
      this.overuseFreeSinceMs = nowMs
    }
  }

  /** Whether another decrease is due while overuse goes on (at most once per RTT, 10-200 ms, or when the rate is far above what arrives). */
  timeToReduceFurther (nowMs: number, acknowledgedBps: number): boolean {
    const interval = Math.min(Math.max(this.rttMs, MIN_REDUCTION_INTERVAL_MS), MAX_REDUCTION_INTERVAL_MS)
    if (this.lastChangeMs === undefined || nowMs - this.lastChangeMs >= interval) return true
    return acknowledgedBps < 0.5 * this.current
  }

  /** Applies the detector's signal; returns the new rate. */
  update (usage: BandwidthUsage, acknowledgedBps: number | undefined, nowMs: number): number {
    if (acknowledgedBps !== undefined) this.latestAcknowledgedBps = acknowledgedBps
    const throughput = acknowledgedBps ?? this.latestAcknowledgedBps
    this.overuseFreeSinceMs ??= nowMs
    this.changeState(usage, nowMs)
    let next: number | undefined
    if (this.state === 'increase') {
      if (throughput !== undefined && throughput > this.linkCapacity.upperBoundBps()) this.linkCapacity.reset()
      const capacity = this.linkCapacity.estimateBps
      const ramping = this.fastRampUp && this.rampingMs(nowMs) >= 0
      const above = capacity !== undefined && this.current >= capacity
      // Crossing the capacity estimate: from 8 %/s again.
      if (ramping && above && !this.aboveCapacity) this.overuseFreeSinceMs = nowMs - RAMP_AFTER_MS
      this.aboveCapacity = above
      const limit = throughput === undefined ? Number.POSITIVE_INFINITY : 1.5 * throughput + 10_000
      if (this.current < limit) {
        const increase = capacity !== undefined && !ramping
          ? this.additiveIncrease(nowMs)
          : this.multiplicativeIncrease(nowMs)
        next = Math.min(this.current + increase, limit)
      }
      this.lastChangeMs = nowMs
    } else if (this.state === 'decrease') {
      if (throughput !== undefined) {
        let decreased = throughput * this.beta
        if (decreased > this.current && this.linkCapacity.estimateBps !== undefined) decreased = this.beta * this.linkCapacity.estimateBps
        if (decreased < this.current) next = decreased
        if (throughput < this.linkCapacity.lowerBoundBps()) this.linkCapacity.reset()
        this.linkCapacity.onOveruse(throughput)
      } else {
        // Overuse before anything was acknowledged: halve.
        next = this.current / 2
      }
      this.state = 'hold' // until the queues drain
      this.lastChangeMs = nowMs
      this.lastDecreaseMs = nowMs
      this.overuseFreeSinceMs = nowMs
    }
    this.current = this.clamp(next ?? this.current)
    return this.current
  }

  private changeState (usage: BandwidthUsage, nowMs: number): void {
    if (usage === 'normal') {
      if (this.state === 'hold') {
        this.lastChangeMs = nowMs
        this.state = 'increase'
      }
    } else if (usage === 'overusing') {
      this.state = 'decrease'
    } else {
      this.state = 'hold'
    }
  }

  /** How long the fast ramp has been on at `nowMs` (< 0: not yet). */
  private rampingMs (nowMs: number): number {
    return this.overuseFreeSinceMs === undefined ? 0 : nowMs - this.overuseFreeSinceMs - RAMP_AFTER_MS
  }

  private multiplicativeIncrease (nowMs: number): number {
    const elapsedS = this.lastChangeMs === undefined ? 1 : Math.min((nowMs - this.lastChangeMs) / 1000, 1)
    // The step's rate is the one in force at its start.
    const rampedMs = this.fastRampUp ? this.rampingMs(nowMs - elapsedS * 1000) : 0
    const perSecond = rampedMs > 0
      ? Math.min(1 + (INCREASE_PER_SECOND - 1) * 2 ** (rampedMs / RAMP_DOUBLING_MS), MAX_INCREASE_PER_SECOND)
      : INCREASE_PER_SECOND
    return Math.max(this.current * (perSecond ** elapsedS - 1), MIN_MULTIPLICATIVE_INCREASE_BPS)
  }

  private additiveIncrease (nowMs: number): number {
    const elapsedS = this.lastChangeMs === undefined ? 0 : (nowMs - this.lastChangeMs) / 1000
    const frameBits = this.current * FRAME_INTERVAL_S
    const packetsPerFrame = Math.ceil(frameBits / PACKET_BITS)
    const packetBits = frameBits / packetsPerFrame
    const responseS = (this.rttMs + DETECTOR_DELAY_MS) / 1000
    return Math.max(MIN_ADDITIVE_INCREASE_BPS_PER_S, packetBits / responseS) * elapsedS
  }

  private clamp (bps: number): number {
    return Math.min(Math.max(bps, this.minBps), this.maxBps)
  }
}
