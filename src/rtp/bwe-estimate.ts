import type { RateControlState } from './bwe-aimd-rate-control.ts'

/** What a bandwidth estimator tells the encoder and shows per consumer (edgectl top, /v1/watch, /metrics). */
export interface BandwidthEstimate {
  /** The rate to send at, bits per second: min(delay-based, loss-based), within [min, max]. */
  bitrateBps: number
  /** The delay-based rate (or the REMB figure on the fallback path). */
  delayBasedBps: number
  /** The loss-based cap. */
  lossBasedBps: number
  /** What the receiver acknowledged getting, when known. */
  acknowledgedBps: number | undefined
  /** increase / hold / decrease: what the controller does now. */
  state: RateControlState
  /** Queueing delay the estimator sees, ms above the recent least one-way delay. */
  queueingDelayMs: number
  /** The detector's scaled delay trend (compared with `threshold`); 0 on the fallback path. */
  trend: number
  threshold: number
  /** Loss over the last loss figure, 0-1. */
  lossFraction: number
  /** Round-trip time the estimator uses, ms. */
  rttMs: number
  /** Which signal drives it: transport-cc, REMB, or receiver reports alone. */
  source: 'transport-cc' | 'remb' | 'receiver-reports'
}
