import type { PacketResult } from './bwe-send-history.ts'

/**
 * Measures what a probe cluster found (libwebrtc goog_cc
 * ProbeBitrateEstimator): the rate the cluster was sent at and the rate it
 * arrived at. If it arrived at under 90 % of its send rate the link was
 * saturated, and the result is 95 % of the receive rate; otherwise the
 * smaller of the two. Enough of the cluster (80 % of its packets and
 * bytes) must have arrived, within 1 s.
 */
export interface ProbeClusterSpec {
  id: number
  bitrateBps: number
  minPackets: number
  minBytes: number
}

const MIN_RECEIVED_RATIO = 0.8
const MAX_VALID_RATIO = 2
const MIN_RATIO_UNSATURATED = 0.9
const TARGET_UTILIZATION = 0.95
const MAX_PROBE_INTERVAL_MS = 1000
const MAX_CLUSTERS = 16

interface ClusterAggregate {
  spec: ProbeClusterSpec
  firstSendMs: number
  lastSendMs: number
  lastSendSize: number
  firstArrivalMs: number
  firstArrivalSize: number
  lastArrivalMs: number
  totalBytes: number
  packets: number
}

export class ProbeBitrateEstimator {
  private readonly clusters = new Map<number, ClusterAggregate>()
  private readonly specs = new Map<number, ProbeClusterSpec>()
  private latest: { id: number, bps: number } | undefined

  /** Tells the estimator of a cluster about to be sent (bounded: the oldest is forgotten). */
  expect (spec: ProbeClusterSpec): void {
    this.specs.set(spec.id, spec)
    if (this.specs.size > MAX_CLUSTERS) {
      const oldest = this.specs.keys().next().value as number
      this.specs.delete(oldest)
      this.clusters.delete(oldest)
    }
  }

  /** One received probe packet; returns the cluster's figure once it has enough. */
  add (packet: PacketResult): number | undefined {
    if (packet.probeClusterId === undefined || packet.arrivalTimeMs === undefined) return undefined
    const spec = this.specs.get(packet.probeClusterId)
    if (spec === undefined) return undefined
    let c = this.clusters.get(spec.id)
    if (c === undefined) {
      c = {
        spec,
        firstSendMs: packet.sendTimeMs,
        lastSendMs: packet.sendTimeMs,
        lastSendSize: packet.size,
        firstArrivalMs: packet.arrivalTimeMs,
        firstArrivalSize: packet.size,
        lastArrivalMs: packet.arrivalTimeMs,
        totalBytes: 0,
        packets: 0
      }
      this.clusters.set(spec.id, c)
    }
    if (packet.sendTimeMs < c.firstSendMs) c.firstSendMs = packet.sendTimeMs
    if (packet.sendTimeMs > c.lastSendMs) { c.lastSendMs = packet.sendTimeMs; c.lastSendSize = packet.size }
    if (packet.arrivalTimeMs < c.firstArrivalMs) { c.firstArrivalMs = packet.arrivalTimeMs; c.firstArrivalSize = packet.size }
    if (packet.arrivalTimeMs > c.lastArrivalMs) c.lastArrivalMs = packet.arrivalTimeMs
    c.totalBytes += packet.size
    c.packets++
    if (c.packets < spec.minPackets * MIN_RECEIVED_RATIO || c.totalBytes < spec.minBytes * MIN_RECEIVED_RATIO) return undefined
    const sendInterval = c.lastSendMs - c.firstSendMs
    const receiveInterval = c.lastArrivalMs - c.firstArrivalMs
    if (sendInterval <= 0 || sendInterval > MAX_PROBE_INTERVAL_MS || receiveInterval <= 0 || receiveInterval > MAX_PROBE_INTERVAL_MS) return undefined
    const sendBps = (c.totalBytes - c.lastSendSize) * 8000 / sendInterval
    const receiveBps = (c.totalBytes - c.firstArrivalSize) * 8000 / receiveInterval
    if (receiveBps / sendBps > MAX_VALID_RATIO) return undefined
    let result = Math.min(sendBps, receiveBps)
    if (receiveBps < MIN_RATIO_UNSATURATED * sendBps) result = TARGET_UTILIZATION * receiveBps
    this.latest = { id: spec.id, bps: result }
    return result
  }

  /** The latest figure since the last call, with the cluster it came from. */
  takeResult (): { id: number, bps: number } | undefined {
    const result = this.latest
    this.latest = undefined
    return result
  }
}
