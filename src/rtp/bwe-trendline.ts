/**
 * The delay-gradient signal of Google Congestion Control (libwebrtc goog_cc
 * TrendlineEstimator): the one-way delay variation between packet groups
 * is accumulated, smoothed, and a least-squares line through the last
 * `windowSize` points gives its trend (ms of delay gained per ms). The
 * trend, scaled, is compared with an adaptive threshold (the overuse
 * detector of draft-ietf-rmcat-gcc-02 §5.4): above it for 10 ms and still
 * rising is overuse, below minus it is underuse.
 */
export type BandwidthUsage = 'normal' | 'underusing' | 'overusing'

export interface TrendlineInit {
  /** Points in the regression window (default 20). */
  windowSize?: number
  /** Exponential smoothing of the accumulated delay (default 0.9). */
  smoothing?: number
  /** Gain applied to the trend before the threshold test (default 4). */
  thresholdGain?: number
}

export const DEFAULT_TRENDLINE_WINDOW = 20
export const DEFAULT_TRENDLINE_SMOOTHING = 0.9
export const DEFAULT_TRENDLINE_THRESHOLD_GAIN = 4
const DELTA_COUNTER_MAX = 1000
const MIN_DELTAS = 60
const OVERUSING_TIME_THRESHOLD_MS = 10
const K_UP = 0.0087
const K_DOWN = 0.039
const MAX_ADAPT_OFFSET_MS = 15
const MAX_TIME_DELTA_MS = 100
const INITIAL_THRESHOLD = 12.5
const MIN_THRESHOLD = 6
const MAX_THRESHOLD = 600

export class TrendlineEstimator {
  private readonly windowSize: number
  private readonly smoothing: number
  private readonly thresholdGain: number
  private readonly history: Array<{ x: number, y: number }> = []
  private deltas = 0
  private firstArrivalMs: number | undefined
  private accumulatedDelay = 0
  private smoothedDelay = 0
  private previousTrend = 0
  private modifiedTrend = 0
  private threshold = INITIAL_THRESHOLD
  private lastThresholdUpdateMs: number | undefined
  private timeOverUsing = -1
  private overuseCounter = 0
  private hypothesis: BandwidthUsage = 'normal'

  constructor (init: TrendlineInit = {}) {
    this.windowSize = init.windowSize ?? DEFAULT_TRENDLINE_WINDOW
    this.smoothing = init.smoothing ?? DEFAULT_TRENDLINE_SMOOTHING
    this.thresholdGain = init.thresholdGain ?? DEFAULT_TRENDLINE_THRESHOLD_GAIN
  }

  /** Feeds one group delta; returns the detector's state after it. */
  update (arrivalDeltaMs: number, sendDeltaMs: number, arrivalTimeMs: number): BandwidthUsage {
    const delta = arrivalDeltaMs - sendDeltaMs
    this.deltas = Math.min(this.deltas + 1, DELTA_COUNTER_MAX)
    this.firstArrivalMs ??= arrivalTimeMs
    this.accumulatedDelay += delta
    this.smoothedDelay = this.smoothing * this.smoothedDelay + (1 - this.smoothing) * this.accumulatedDelay
    this.history.push({ x: arrivalTimeMs - this.firstArrivalMs, y: this.smoothedDelay })
    if (this.history.length > this.windowSize) this.history.shift()
    let trend = this.previousTrend
    if (this.history.length === this.windowSize) trend = linearFitSlope(this.history) ?? trend
    this.detect(trend, sendDeltaMs, arrivalTimeMs)
    return this.hypothesis
  }

  get state (): BandwidthUsage {
    return this.hypothesis
  }

  /** The scaled trend last compared with the threshold (what the daemon shows as the delay trend). */
  get trend (): number {
    return this.modifiedTrend
  }

  get currentThreshold (): number {
    return this.threshold
  }

  private detect (trend: number, sendDeltaMs: number, nowMs: number): void {
    if (this.deltas < 2) {
      this.hypothesis = 'normal'
      return
    }
    const modified = Math.min(this.deltas, MIN_DELTAS) * trend * this.thresholdGain
    this.modifiedTrend = modified
    if (modified > this.threshold) {
      if (this.timeOverUsing === -1) this.timeOverUsing = sendDeltaMs / 2
      else this.timeOverUsing += sendDeltaMs
      this.overuseCounter++
      if (this.timeOverUsing > OVERUSING_TIME_THRESHOLD_MS && this.overuseCounter > 1 && trend >= this.previousTrend) {
        this.timeOverUsing = 0
        this.overuseCounter = 0
        this.hypothesis = 'overusing'
      }
    } else if (modified < -this.threshold) {
      this.timeOverUsing = -1
      this.overuseCounter = 0
      this.hypothesis = 'underusing'
    } else {
      this.timeOverUsing = -1
      this.overuseCounter = 0
      this.hypothesis = 'normal'
    }
    this.previousTrend = trend
    this.updateThreshold(modified, nowMs)
  }

  private updateThreshold (modified: number, nowMs: number): void {
    this.lastThresholdUpdateMs ??= nowMs
    const magnitude = Math.abs(modified)
    if (magnitude > this.threshold + MAX_ADAPT_OFFSET_MS) {
      // A spike (a route change, a big frame): do not let it drag the threshold.
      this.lastThresholdUpdateMs = nowMs
      return
    }
    const k = magnitude < this.threshold ? K_DOWN : K_UP
    const dt = Math.min(nowMs - this.lastThresholdUpdateMs, MAX_TIME_DELTA_MS)
    this.threshold += k * (magnitude - this.threshold) * dt
    this.threshold = Math.min(Math.max(this.threshold, MIN_THRESHOLD), MAX_THRESHOLD)
    this.lastThresholdUpdateMs = nowMs
  }
}

function linearFitSlope (points: Array<{ x: number, y: number }>): number | undefined {
  let sumX = 0
  let sumY = 0
  for (const p of points) { sumX += p.x; sumY += p.y }
  const meanX = sumX / points.length
  const meanY = sumY / points.length
  let numerator = 0
  let denominator = 0
  for (const p of points) {
    numerator += (p.x - meanX) * (p.y - meanY)
    denominator += (p.x - meanX) * (p.x - meanX)
  }
  return denominator === 0 ? undefined : numerator / denominator
}
