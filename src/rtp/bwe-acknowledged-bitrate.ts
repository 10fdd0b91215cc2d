/**
 * The rate at which the receiver got our packets, from transport-cc
 * feedback (libwebrtc goog_cc BitrateEstimator): bytes are summed over a
 * window of receive time (500 ms for the first sample, 150 ms after) and
 * each sample moves a Bayesian estimate whose trust in the sample falls as
 * it differs from the estimate, so one bursty window does not swing it.
 */
const INITIAL_WINDOW_MS = 500
const WINDOW_MS = 150
const UNCERTAINTY_SCALE = 10
const PROCESS_NOISE = 5

export class AcknowledgedBitrateEstimator {
  private sumBytes = 0
  private currentWindowMs = 0
  private previousTimeMs: number | undefined
  private estimateKbps = -1
  private estimateVariance = 50

  /** One packet the receiver got, at its receive time. */
  add (arrivalTimeMs: number, size: number): void {
    const windowMs = this.estimateKbps < 0 ? INITIAL_WINDOW_MS : WINDOW_MS
    const sample = this.updateWindow(arrivalTimeMs, size, windowMs)
    if (sample === undefined) return
    if (this.estimateKbps < 0) {
      this.estimateKbps = sample
      return
    }
    const uncertainty = UNCERTAINTY_SCALE * Math.abs(this.estimateKbps - sample) / Math.max(this.estimateKbps, 1e-3)
    const sampleVariance = uncertainty * uncertainty
    const predicted = this.estimateVariance + PROCESS_NOISE
    this.estimateKbps = (sampleVariance * this.estimateKbps + predicted * sample) / (sampleVariance + predicted)
    this.estimateVariance = sampleVariance * predicted / (sampleVariance + predicted)
  }

  /** Bits per second, or undefined before the first full window. */
  get bitrateBps (): number | undefined {
    return this.estimateKbps < 0 ? undefined : this.estimateKbps * 1000
  }

  private updateWindow (nowMs: number, bytes: number, windowMs: number): number | undefined {
    if (this.previousTimeMs !== undefined && nowMs < this.previousTimeMs) {
      // Arrival times went back (reordering across feedback): restart the window.
      this.previousTimeMs = undefined
      this.sumBytes = 0
      this.currentWindowMs = 0
    }
    if (this.previousTimeMs !== undefined) {
      this.currentWindowMs += nowMs - this.previousTimeMs
      if (nowMs - this.previousTimeMs > windowMs) {
        this.sumBytes = 0
        this.currentWindowMs %= windowMs
      }
    }
    this.previousTimeMs = nowMs
    let sample: number | undefined
    if (this.currentWindowMs >= windowMs) {
      sample = 8 * this.sumBytes / windowMs // kbit/s
      this.currentWindowMs -= windowMs
      this.sumBytes = 0
    }
    this.sumBytes += bytes
    return sample
  }
}
