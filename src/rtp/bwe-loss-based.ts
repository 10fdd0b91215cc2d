/**
 * The loss-based half of the estimate (draft-ietf-rmcat-gcc-02 §6, libwebrtc
 * SendSideBandwidthEstimation): it caps the rate by packet loss measured
 * over at least `minPackets` packets and `minIntervalMs`. Under 2 % loss the cap rises 8 %/s;
 * from 2 % to 10 % it holds, because that much loss on Wi-Fi or LTE is
 * usually not congestion; over 10 % it falls to (1 − loss/2) × the rate
 * being sent, at most once per 300 ms + RTT.
 *
 * Fed by transport-cc results, or by receiver reports' fraction lost when
 * that is all a receiver sends.
 *
 * Beside a delay-based estimate (`liftAfterMs`), a cap that loss has not
 * justified for a while is lifted to the max: after a burst of loss (a
 * link that fell, a tbf's queue overflowing) the cap would otherwise climb
 * back at 8 %/s and hold the delay-based estimate's faster ramp-up down
 * (issue 17: 1 → 2 Mbit/s took 9 s). Loss over 10 % pulls it down again.
 */
export interface LossBasedControllerInit {
  /** The cap to start from: the max bit rate when a delay-based estimate leads, the start bit rate when this is all there is. */
  startBitrateBps: number
  minBitrateBps: number
  maxBitrateBps: number
  /** Packets a loss figure needs (default 20). */
  minPackets?: number
  /** Time a loss figure spans at least (default 1000 ms, about one RTCP report's worth). */
  minIntervalMs?: number
  /** With a delay-based estimate leading: loss under 2 % for this long lifts the cap to the max (default: never). */
  liftAfterMs?: number
}

export const LOW_LOSS = 0.02
export const HIGH_LOSS = 0.1
export const DEFAULT_LOSS_MIN_PACKETS = 20
export const DEFAULT_LOSS_MIN_INTERVAL_MS = 1000
const INCREASE_PER_SECOND = 1.08
const INCREASE_FLOOR_BPS_PER_S = 1000
const DECREASE_INTERVAL_MS = 300
/** How long a loss figure counts without a new report. */
const LOSS_REPORT_TIMEOUT_MS = 6000

export class LossBasedController {
  private readonly minBps: number
  private maxBps: number
  private readonly minPackets: number
  private readonly minIntervalMs: number
  private readonly liftAfterMs: number
  /** Since when every loss figure has been under LOW_LOSS. */
  private lowSinceMs: number | undefined
  private windowStartMs: number | undefined
  private cap: number
  private expected = 0
  private lost = 0
  private lossFraction = 0
  private lastReportMs: number | undefined
  private lastUpdateMs: number | undefined
  private lastDecreaseMs: number | undefined
  private rttMs = 0

  constructor (init: LossBasedControllerInit) {
    this.minBps = init.minBitrateBps
    this.maxBps = init.maxBitrateBps
    this.minPackets = init.minPackets ?? DEFAULT_LOSS_MIN_PACKETS
    this.minIntervalMs = init.minIntervalMs ?? DEFAULT_LOSS_MIN_INTERVAL_MS
    this.liftAfterMs = init.liftAfterMs ?? Number.POSITIVE_INFINITY
    this.cap = this.clamp(init.startBitrateBps)
  }

  get bitrateBps (): number {
    return this.cap
  }

  /** The last loss figure, 0-1. */
  get fractionLost (): number {
    return this.lossFraction
  }

  setRtt (rttMs: number): void {
    this.rttMs = rttMs
  }

  setMaxBitrate (maxBps: number): void {
    this.maxBps = maxBps
    this.cap = this.clamp(this.cap)
  }

  /** `lost` of `packets` packets were lost (transport-cc results); `sendingBps` is what is being sent now. */
  onPackets (packets: number, lost: number, sendingBps: number, nowMs: number): void {
    if (packets <= 0) return
    this.windowStartMs ??= nowMs
    this.expected += packets
    this.lost += Math.max(0, lost)
    // A figure over a few packets is noise: 5 % random loss reads as 15 % in one of twenty.
    if (this.expected < this.minPackets || nowMs - this.windowStartMs < this.minIntervalMs) return
    this.report(Math.min(this.lost / this.expected, 1), sendingBps, nowMs)
    this.expected = 0
    this.lost = 0
    this.windowStartMs = nowMs
  }

  /** A receiver report's fraction lost (0-1, as the 8-bit field / 256). */
  onFractionLost (fraction: number, sendingBps: number, nowMs: number): void {
    if (!(fraction >= 0 && fraction <= 1)) return
    this.report(fraction, sendingBps, nowMs)
  }

  private report (fraction: number, sendingBps: number, nowMs: number): void {
    this.lossFraction = fraction
    this.lastReportMs = nowMs
    const elapsedS = this.lastUpdateMs === undefined ? 0 : Math.min((nowMs - this.lastUpdateMs) / 1000, 1)
    this.lastUpdateMs = nowMs
    if (fraction >= LOW_LOSS) this.lowSinceMs = undefined
    if (fraction < LOW_LOSS) {
      this.lowSinceMs ??= nowMs
      // Grows only where it binds (what is sent has reached it), so it does not run far ahead of the rate.
      const base = Math.min(this.cap, sendingBps)
      this.cap = this.clamp(Math.max(this.cap, base * INCREASE_PER_SECOND ** elapsedS + INCREASE_FLOOR_BPS_PER_S * elapsedS))
      if (nowMs - this.lowSinceMs >= this.liftAfterMs) this.cap = this.maxBps
    } else if (fraction > HIGH_LOSS) {
      if (this.lastDecreaseMs === undefined || nowMs - this.lastDecreaseMs >= DECREASE_INTERVAL_MS + this.rttMs) {
        this.lastDecreaseMs = nowMs
        this.cap = this.clamp(Math.min(this.cap, sendingBps) * (1 - fraction / 2))
      }
    }
  }

  /** Whether the loss figure is recent enough to count. */
  fresh (nowMs: number): boolean {
    return this.lastReportMs !== undefined && nowMs - this.lastReportMs < LOSS_REPORT_TIMEOUT_MS
  }

  private clamp (bps: number): number {
    return Math.min(Math.max(bps, this.minBps), this.maxBps)
  }
}
