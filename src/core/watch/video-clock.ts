/** RTP video clock rate (H.264). */
const CLOCK_RATE = 90_000
/** A unit this far from where its RTP timestamp puts it starts a new anchor (a new track after a session remake, a source restart). */
export const REANCHOR_AFTER_NS = 1_000_000_000n

/**
 * The capture times of a source's frames on the recording's clock: the first
 * unit's receive time, plus how far on each later one is by its RTP timestamp
 * (32-bit, wrapping). Frame spacing then is the encoder's, without the network's
 * jitter; a jump (new RTP base) re-anchors on the receive time.
 */
export class VideoClock {
  #anchorNs: bigint | undefined
  #lastRtp = 0
  /** RTP ticks since the anchor, unwrapped. */
  #ticks = 0n

  timestamp (rtpTimestamp: number, receivedNs: bigint): bigint {
    if (this.#anchorNs === undefined) return this.#anchor(rtpTimestamp, receivedNs)
    // The signed 32-bit step: a wrap forwards is a small positive step, a late frame a small negative one.
    const step = ((rtpTimestamp - this.#lastRtp) << 0)
    this.#lastRtp = rtpTimestamp >>> 0
    this.#ticks += BigInt(step)
    const at = this.#anchorNs + this.#ticks * 1_000_000_000n / BigInt(CLOCK_RATE)
    const off = at > receivedNs ? at - receivedNs : receivedNs - at
    return off > REANCHOR_AFTER_NS ? this.#anchor(rtpTimestamp, receivedNs) : at
  }

  #anchor (rtpTimestamp: number, receivedNs: bigint): bigint {
    this.#anchorNs = receivedNs
    this.#lastRtp = rtpTimestamp >>> 0
    this.#ticks = 0n
    return receivedNs
  }
}
