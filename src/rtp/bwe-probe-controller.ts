import type { ProbeClusterSpec } from './bwe-probe-estimator.ts'

/**
 * Decides when to probe: sending a short burst (a cluster) above the
 * estimate to see whether the link carries it, so the rate can climb in a
 * few round trips instead of GCC's 8 %/s (1 → 4 Mbit/s takes about 18 s by
 * multiplicative increase alone).
 *
 * - At start: two clusters at 3× and 6× the start rate (as libwebrtc).
 * - Exponential: while a cluster's result reaches 70 % of its rate, probe
 *   again at twice the result, up to the max.
 * - Periodic: once the estimate has not fallen for `holdAfterDecreaseMs`,
 *   probe at twice the estimate every `intervalMs`, doubling the interval
 *   after each cluster that finds nothing, up to `maxIntervalMs`. This is
 *   what recovers the rate when a link comes back; libwebrtc probes only
 *   in application-limited periods and after large drops.
 *
 * A cluster lasts `durationMs` (15 ms) and at least `minPackets` (5) packets,
 * so one that fails costs about 15 ms of queue at the bottleneck.
 */
export interface ProbeCluster extends ProbeClusterSpec {
  /** How long to send at `bitrateBps`. */
  durationMs: number
}

export interface ProbeControllerInit {
  startBitrateBps: number
  maxBitrateBps: number
  durationMs?: number
  minPackets?: number
  intervalMs?: number
  maxIntervalMs?: number
  holdAfterDecreaseMs?: number
}

export const DEFAULT_PROBE_DURATION_MS = 15
export const DEFAULT_PROBE_MIN_PACKETS = 5
export const DEFAULT_PROBE_INTERVAL_MS = 2000
export const DEFAULT_PROBE_MAX_INTERVAL_MS = 5000
export const DEFAULT_PROBE_HOLD_AFTER_DECREASE_MS = 2000
const FURTHER_RATIO = 0.7
const RESULT_TIMEOUT_MS = 1000
const NEAR_MAX = 0.95
const INITIAL_FACTORS = [3, 6]

export class ProbeController {
  private maxBps: number
  private readonly startBps: number
  private readonly durationMs: number
  private readonly minPackets: number
  private readonly baseIntervalMs: number
  private readonly maxIntervalMs: number
  private readonly holdAfterDecreaseMs: number
  private nextId = 1
  private started = false
  private intervalMs: number
  private lastProbeMs: number | undefined
  /** Clusters sent whose result is awaited (id → rate, time). */
  private readonly waiting = new Map<number, { bps: number, sentMs: number }>()
  private pending: ProbeCluster[] = []

  constructor (init: ProbeControllerInit) {
    this.startBps = init.startBitrateBps
    this.maxBps = init.maxBitrateBps
    this.durationMs = init.durationMs ?? DEFAULT_PROBE_DURATION_MS
    this.minPackets = init.minPackets ?? DEFAULT_PROBE_MIN_PACKETS
    this.baseIntervalMs = init.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS
    this.maxIntervalMs = init.maxIntervalMs ?? DEFAULT_PROBE_MAX_INTERVAL_MS
    this.holdAfterDecreaseMs = init.holdAfterDecreaseMs ?? DEFAULT_PROBE_HOLD_AFTER_DECREASE_MS
    this.intervalMs = this.baseIntervalMs
  }

  setMaxBitrate (maxBps: number): void {
    this.maxBps = maxBps
  }

  /** Clusters to send now, given the current estimate and the time of its last decrease. */
  process (nowMs: number, estimateBps: number, lastDecreaseMs: number | undefined): ProbeCluster[] {
    if (!this.started) {
      this.started = true
      for (const factor of INITIAL_FACTORS) this.queue(Math.min(this.startBps * factor, this.maxBps), nowMs)
    }
    for (const [id, w] of this.waiting) {
      if (nowMs - w.sentMs > RESULT_TIMEOUT_MS) {
        this.waiting.delete(id)
        this.onFailure()
      }
    }
    const settled = lastDecreaseMs === undefined || nowMs - lastDecreaseMs >= this.holdAfterDecreaseMs
    const due = this.lastProbeMs === undefined || nowMs - this.lastProbeMs >= this.intervalMs
    if (this.waiting.size === 0 && this.pending.length === 0 && settled && due && estimateBps < NEAR_MAX * this.maxBps) {
      this.queue(Math.min(2 * estimateBps, this.maxBps), nowMs)
    }
    const out = this.pending
    this.pending = []
    return out
  }

  /** A cluster's measured rate came back. */
  onResult (id: number, resultBps: number, nowMs: number): void {
    const w = this.waiting.get(id)
    if (w === undefined) return
    this.waiting.delete(id)
    if (resultBps >= FURTHER_RATIO * w.bps) {
      this.intervalMs = this.baseIntervalMs
      if (w.bps < this.maxBps && resultBps < NEAR_MAX * this.maxBps) this.queue(Math.min(2 * resultBps, this.maxBps), nowMs)
    } else {
      this.onFailure()
    }
  }

  private onFailure (): void {
    this.intervalMs = Math.min(this.intervalMs * 2, this.maxIntervalMs)
  }

  private queue (bps: number, nowMs: number): void {
    const id = this.nextId++
    const minBytes = Math.ceil(bps * this.durationMs / 8000)
    this.pending.push({ id, bitrateBps: bps, minPackets: this.minPackets, minBytes, durationMs: this.durationMs })
    this.waiting.set(id, { bps, sentMs: nowMs })
    this.lastProbeMs = nowMs
  }
}
