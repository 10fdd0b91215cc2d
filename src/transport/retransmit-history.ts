/**
 * Answers NACKs from the packets sent last, with the repair rate capped:
 * under congestion, resending every packet the receiver lost adds to the
 * queue that lost them (issue 17 measured 12,423 NACKs in 20 s at 1 Mbit/s).
 * A token bucket refilled at `share` × the estimate bounds the bytes
 * resent; a packet is resent at most once per RTT; what the bucket cannot
 * pay for is skipped and counted. This replaces libdatachannel's
 * RtcpNackResponder on tracks with congestion control.
 */
export interface RetransmitHistoryInit {
  /** Packets kept (default 1024, as the native responder's history). */
  size?: number
  /** Share of the estimate repairs may use (default 0.25). */
  share?: number
  /** Bucket depth, ms at the repair rate (default 200 ms). */
  bucketMs?: number
}

export const DEFAULT_RETRANSMIT_SHARE = 0.25
export const DEFAULT_RETRANSMIT_BUCKET_MS = 200
const DEFAULT_HISTORY = 1024
/** Resend a packet again only after this long at least, even with a shorter RTT. */
const MIN_RESEND_INTERVAL_MS = 20

export class RetransmitHistory {
  readonly #size: number
  readonly #share: number
  readonly #bucketMs: number
  readonly #packets: Array<Buffer | undefined>
  readonly #seqs: Int32Array
  readonly #resentAt: Float64Array
  #tokens = 0
  #lastRefill: number | undefined
  resent = 0
  skipped = 0

  constructor (init: RetransmitHistoryInit = {}) {
    this.#size = init.size ?? DEFAULT_HISTORY
    this.#share = init.share ?? DEFAULT_RETRANSMIT_SHARE
    this.#bucketMs = init.bucketMs ?? DEFAULT_RETRANSMIT_BUCKET_MS
    this.#packets = new Array<Buffer | undefined>(this.#size)
    this.#seqs = new Int32Array(this.#size).fill(-1)
    this.#resentAt = new Float64Array(this.#size)
  }

  /** A packet went out (the buffer is kept as it is: callers must not reuse it). */
  sent (packet: Buffer): void {
    const seq = packet.readUInt16BE(2)
    const slot = seq % this.#size
    this.#packets[slot] = packet
    this.#seqs[slot] = seq
    this.#resentAt[slot] = Number.NEGATIVE_INFINITY
  }

  /** The packets to resend for the sequence numbers a NACK asked for, within the repair budget. */
  repairs (seqs: number[], estimateBps: number, rttMs: number, nowMs: number): Buffer[] {
    const rate = this.#share * estimateBps / 8 // bytes per second
    if (this.#lastRefill !== undefined) this.#tokens = Math.min(this.#tokens + rate * (nowMs - this.#lastRefill) / 1000, rate * this.#bucketMs / 1000)
    else this.#tokens = rate * this.#bucketMs / 1000
    this.#lastRefill = nowMs
    const out: Buffer[] = []
    for (const seq of seqs) {
      const slot = seq % this.#size
      const packet = this.#packets[slot]
      if (packet === undefined || this.#seqs[slot] !== seq) continue
      if (nowMs - this.#resentAt[slot] < Math.max(rttMs, MIN_RESEND_INTERVAL_MS)) continue
      if (this.#tokens < packet.length) {
        this.skipped++
        continue
      }
      this.#tokens -= packet.length
      this.#resentAt[slot] = nowMs
      this.resent++
      out.push(packet)
    }
    return out
  }

  clear (): void {
    this.#packets.fill(undefined)
    this.#seqs.fill(-1)
  }
}
