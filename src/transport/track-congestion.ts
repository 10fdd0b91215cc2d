import type { BandwidthEstimate } from '../rtp/bwe-estimate.ts'
import type { CongestionStats } from './congestion-controller.ts'

/**
 * What congestion control shows of one send track (a consumer): the estimate
 * and the signal it comes from, the queueing delay the estimator sees, the
 * pacer, and the repairs sent or skipped. The one shape that /v1/sessions
 * (`tracks[].congestion`), /v1/sources (`viewers[].congestion`), edgectl top
 * and /metrics read.
 */
export interface TrackCongestion {
  /** The estimate (bit/s) and the signal it comes from; null before the receiver's first feedback. */
  estimateBps: number | null
  source: BandwidthEstimate['source'] | null
  /** Queueing delay the estimator sees (ms), and its round-trip time. */
  queueingDelayMs: number | null
  rttMs: number | null
  lossFraction: number | null
  /** The pacer's rate (bit/s) and what waits in its queue (ms at that rate). */
  pacingBps: number
  pacerQueueMs: number
  /** Repairs (NACKed packets) resent, and those skipped because the link could not carry them. */
  retransmitted: number
  retransmitsSkipped: number
}

/** The figures of a track's CongestionController.stats(), as the control API shows them. */
export function trackCongestion (c: CongestionStats): TrackCongestion {
  const e = c.estimate
  return {
    estimateBps: e?.bitrateBps ?? null,
    source: e?.source ?? null,
    queueingDelayMs: e?.queueingDelayMs ?? null,
    rttMs: e?.rttMs ?? null,
    lossFraction: e?.lossFraction ?? null,
    pacingBps: c.pacingBps,
    pacerQueueMs: c.pacerQueueMs,
    retransmitted: c.retransmitted,
    retransmitsSkipped: c.retransmitsSkipped
  }
}
