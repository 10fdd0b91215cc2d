/**
 * What the AIMD controller believes the link carries: an average of the
 * acknowledged rate at each overuse, with its deviation (libwebrtc goog_cc
 * LinkCapacityEstimator). Near it (within 3 deviations) the controller
 * increases additively; far from it, multiplicatively.
 */
const MIN_DEVIATION = 0.4
const MAX_DEVIATION = 2.5

export class LinkCapacityEstimator {
  private estimateKbps: number | undefined
  private deviationKbps = MIN_DEVIATION

  get estimateBps (): number | undefined {
    return this.estimateKbps === undefined ? undefined : this.estimateKbps * 1000
  }

  upperBoundBps (): number {
    return this.estimateKbps === undefined ? Number.POSITIVE_INFINITY : (this.estimateKbps + 3 * this.deviation()) * 1000
  }

  lowerBoundBps (): number {
    return this.estimateKbps === undefined ? 0 : Math.max(0, this.estimateKbps - 3 * this.deviation()) * 1000
  }

  onOveruse (acknowledgedBps: number): void {
    this.update(acknowledgedBps / 1000, 0.05)
  }

  onProbe (probeBps: number): void {
    this.update(probeBps / 1000, 0.5)
  }

  reset (): void {
    this.estimateKbps = undefined
  }

  private update (sampleKbps: number, alpha: number): void {
    this.estimateKbps = this.estimateKbps === undefined ? sampleKbps : (1 - alpha) * this.estimateKbps + alpha * sampleKbps
    const norm = Math.max(this.estimateKbps, 1)
    const error = this.estimateKbps - sampleKbps
    this.deviationKbps = (1 - alpha) * this.deviationKbps + alpha * error * error / norm
    this.deviationKbps = Math.min(Math.max(this.deviationKbps, MIN_DEVIATION), MAX_DEVIATION)
  }

  private deviation (): number {
    return Math.sqrt(this.deviationKbps * (this.estimateKbps ?? 0))
  }
}
