/**
 * The queueing delay the estimator sees: a packet's one-way delay (arrival
 * on the receiver's clock minus send time on ours; the clocks' offset
 * cancels out) above the smallest one-way delay of the last `windowMs`.
 * The minimum is kept per 1 s bucket, so the state is a fixed ring.
 */
export const DEFAULT_QUEUEING_WINDOW_MS = 10_000
const BUCKET_MS = 1000

export class QueueingDelayTracker {
  private readonly mins: Float64Array
  private readonly bucketOf: Float64Array
  private latestDelay: number | undefined
  private latestBucket = 0

  constructor (windowMs = DEFAULT_QUEUEING_WINDOW_MS) {
    const buckets = Math.max(1, Math.ceil(windowMs / BUCKET_MS))
    this.mins = new Float64Array(buckets).fill(Number.POSITIVE_INFINITY)
    this.bucketOf = new Float64Array(buckets).fill(-1)
  }

  add (sendTimeMs: number, arrivalTimeMs: number): void {
    const delay = arrivalTimeMs - sendTimeMs
    const bucket = Math.floor(sendTimeMs / BUCKET_MS)
    const slot = ((bucket % this.mins.length) + this.mins.length) % this.mins.length
    if (this.bucketOf[slot] !== bucket) {
      this.bucketOf[slot] = bucket
      this.mins[slot] = delay
    } else if (delay < this.mins[slot]) {
      this.mins[slot] = delay
    }
    this.latestDelay = delay
    this.latestBucket = bucket
  }

  /** Milliseconds the latest packet spent above the window's least delay (0 before any). */
  get delayMs (): number {
    if (this.latestDelay === undefined) return 0
    let min = Number.POSITIVE_INFINITY
    for (let i = 0; i < this.mins.length; i++) {
      if (this.bucketOf[i] > this.latestBucket - this.mins.length) min = Math.min(min, this.mins[i])
    }
    return Math.max(0, this.latestDelay - min)
  }
}
