import type { BandwidthEstimate } from './bwe-estimate.ts'
import { LossBasedController } from './bwe-loss-based.ts'
import { defaultStartBitrate } from './bwe-send-side.ts'

/**
 * The estimate for a receiver that sends no transport-cc feedback: REMB, if
 * it sends that, caps the rate (it is the receiver's own delay-based
 * estimate), and receiver reports' fraction lost drive the loss-based
 * controller. With reports alone, the loss-based controller starts at the
 * start rate and is the whole estimate: it climbs 8 %/s while loss stays
 * under 2 %.
 */
export interface FallbackEstimatorInit {
  minBitrateBps: number
  maxBitrateBps: number
  startBitrateBps?: number
}

/** A REMB older than this no longer counts. */
const REMB_TIMEOUT_MS = 10_000

export class FallbackBandwidthEstimator {
  private readonly minBps: number
  private maxBps: number
  private readonly lossBased: LossBasedController
  private remb: { bps: number, atMs: number } | undefined
  private current: number
  private rttMs = 0
  private nowMs = 0

  constructor (init: FallbackEstimatorInit) {
    if (!(init.minBitrateBps > 0) || !(init.maxBitrateBps >= init.minBitrateBps)) throw new RangeError(`bit rate limits ${init.minBitrateBps}-${init.maxBitrateBps} are not 0 < min <= max`)
    this.minBps = init.minBitrateBps
    this.maxBps = init.maxBitrateBps
    const start = Math.min(Math.max(init.startBitrateBps ?? defaultStartBitrate(this.minBps, this.maxBps), this.minBps), this.maxBps)
    this.lossBased = new LossBasedController({ startBitrateBps: start, minBitrateBps: this.minBps, maxBitrateBps: this.maxBps })
    this.current = start
  }

  /** A REMB arrived: the receiver's estimate for this stream, bits per second. */
  onRemb (bitrateBps: number, nowMs: number): BandwidthEstimate {
    if (bitrateBps >= 0 && Number.isFinite(bitrateBps)) {
      this.remb = { bps: bitrateBps, atMs: nowMs }
    }
    return this.update(nowMs)
  }

  /** A receiver report block for this stream: `fractionLost` as the 8-bit field (0-255). */
  onReceiverReport (fractionLost: number, nowMs: number, rttMs?: number): BandwidthEstimate {
    if (rttMs !== undefined && rttMs >= 0 && Number.isFinite(rttMs)) {
      this.rttMs = rttMs
      this.lossBased.setRtt(rttMs)
    }
    this.lossBased.onFractionLost(Math.min(Math.max(fractionLost, 0), 255) / 256, this.current, nowMs)
    return this.update(nowMs)
  }

  setMaxBitrate (maxBps: number): void {
    if (!(maxBps >= this.minBps)) throw new RangeError(`max bit rate ${maxBps} is under the min ${this.minBps}`)
    this.maxBps = maxBps
    this.lossBased.setMaxBitrate(maxBps)
    this.update(this.nowMs)
  }

  get estimate (): BandwidthEstimate {
    const remb = this.rembBps()
    const loss = this.lossBased.fractionLost
    return {
      bitrateBps: this.current,
      delayBasedBps: remb ?? this.maxBps,
      lossBasedBps: this.lossBased.bitrateBps,
      acknowledgedBps: undefined,
      state: loss > 0.1 ? 'decrease' : loss >= 0.02 ? 'hold' : 'increase',
      queueingDelayMs: 0,
      trend: 0,
      threshold: 0,
      lossFraction: loss,
      rttMs: this.rttMs,
      source: remb === undefined ? 'receiver-reports' : 'remb'
    }
  }

  private rembBps (): number | undefined {
    return this.remb !== undefined && this.nowMs - this.remb.atMs < REMB_TIMEOUT_MS ? this.remb.bps : undefined
  }

  private update (nowMs: number): BandwidthEstimate {
    this.nowMs = Math.max(this.nowMs, nowMs)
    const remb = this.rembBps()
    const cap = remb === undefined ? this.lossBased.bitrateBps : Math.min(remb, this.lossBased.bitrateBps)
    this.current = Math.min(Math.max(cap, this.minBps), this.maxBps)
    return this.estimate
  }
}
