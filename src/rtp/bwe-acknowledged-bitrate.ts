/**
 * The rate at which the receiver got our packets, from transport-cc results
 * (in the style of libwebrtc goog_cc RobustThroughputEstimator): the bytes
 * of the received packets of the last `windowMs` (at least `minPackets` of
 * them), divided by the longer of the span they were sent over and the span
 * they arrived over, so a burst that arrives bunched up does not read as a
 * fast link. It follows a change within one window, which the decrease on
 * overuse (0.85 × this) needs: a slow average leaves the rate above the
 * link for seconds after a drop, or drags it down after a probe's jump.
 */
export interface AcknowledgedBitrateInit {
  windowMs?: number
  minPackets?: number
  /** Packets kept at most (bounds the state whatever the rate). */
  maxPackets?: number
}

export const DEFAULT_ACKNOWLEDGED_WINDOW_MS = 500
export const DEFAULT_ACKNOWLEDGED_MIN_PACKETS = 10
export const DEFAULT_ACKNOWLEDGED_MAX_PACKETS = 500

export class AcknowledgedBitrateEstimator {
  private readonly windowMs: number
  private readonly minPackets: number
  private readonly maxPackets: number
  private readonly packets: Array<{ sendMs: number, arrivalMs: number, size: number }> = []

  constructor (init: AcknowledgedBitrateInit = {}) {
    this.windowMs = init.windowMs ?? DEFAULT_ACKNOWLEDGED_WINDOW_MS
    this.minPackets = init.minPackets ?? DEFAULT_ACKNOWLEDGED_MIN_PACKETS
    this.maxPackets = init.maxPackets ?? DEFAULT_ACKNOWLEDGED_MAX_PACKETS
  }

  /** One packet the receiver got. */
  add (sendTimeMs: number, arrivalTimeMs: number, size: number): void {
    this.packets.push({ sendMs: sendTimeMs, arrivalMs: arrivalTimeMs, size })
    while (this.packets.length > this.maxPackets) this.packets.shift()
    // Drop what is older than the window, keeping at least minPackets.
    while (this.packets.length > this.minPackets && arrivalTimeMs - this.packets[0].arrivalMs > this.windowMs) this.packets.shift()
  }

  /** Bits per second, or undefined until `minPackets` have arrived. */
  get bitrateBps (): number | undefined {
    if (this.packets.length < this.minPackets) return undefined
    let firstSend = Number.POSITIVE_INFINITY
    let lastSend = Number.NEGATIVE_INFINITY
    let firstArrival = Number.POSITIVE_INFINITY
    let lastArrival = Number.NEGATIVE_INFINITY
    let bytes = 0
    let firstArrivalSize = 0
    let lastSendSize = 0
    for (const p of this.packets) {
      bytes += p.size
      if (p.sendMs < firstSend) firstSend = p.sendMs
      if (p.sendMs >= lastSend) { lastSend = p.sendMs; lastSendSize = p.size }
      if (p.arrivalMs < firstArrival) { firstArrival = p.arrivalMs; firstArrivalSize = p.size }
      if (p.arrivalMs > lastArrival) lastArrival = p.arrivalMs
    }
    // The first arrival's bytes came in before the arrival span began, and the last send's after the send span ended.
    const arrivalRate = lastArrival > firstArrival ? (bytes - firstArrivalSize) * 8000 / (lastArrival - firstArrival) : Number.POSITIVE_INFINITY
    const sendRate = lastSend > firstSend ? (bytes - lastSendSize) * 8000 / (lastSend - firstSend) : Number.POSITIVE_INFINITY
    const rate = Math.min(arrivalRate, sendRate)
    return Number.isFinite(rate) ? rate : undefined
  }
}
