/**
 * Groups packets into bursts and yields the send and arrival time deltas
 * between consecutive groups (libwebrtc goog_cc InterArrivalDelta). A group
 * is the packets sent within 5 ms of its first; a packet that arrives within
 * 5 ms of the group's last and "early" (its propagation delta is negative)
 * joins it too, because the network delivered them as one burst.
 */
export interface GroupDelta {
  sendDeltaMs: number
  arrivalDeltaMs: number
  /** Arrival of the later group's last packet. */
  arrivalTimeMs: number
  sizeDelta: number
}

export const SEND_TIME_GROUP_MS = 5
const BURST_DELTA_MS = 5
const MAX_BURST_DURATION_MS = 100
/** An arrival gap this much larger than the send gap means a clock jump: start over. */
const ARRIVAL_OFFSET_RESET_MS = 3000
const REORDERED_RESET_COUNT = 3

interface Group {
  firstSendMs: number
  sendMs: number
  firstArrivalMs: number
  completeMs: number
  size: number
}

export class InterArrival {
  private current: Group | undefined
  private previous: Group | undefined
  private reordered = 0

  /** Feeds one received packet (in arrival order); returns the delta when it closed a group. */
  add (sendTimeMs: number, arrivalTimeMs: number, size: number): GroupDelta | undefined {
    let delta: GroupDelta | undefined
    const current = this.current
    if (current === undefined) {
      this.current = { firstSendMs: sendTimeMs, sendMs: sendTimeMs, firstArrivalMs: arrivalTimeMs, completeMs: arrivalTimeMs, size }
      return undefined
    }
    if (sendTimeMs < current.firstSendMs) return undefined // reordered: belongs to an older group
    if (this.isNewGroup(current, sendTimeMs, arrivalTimeMs)) {
      if (this.previous !== undefined) {
        const sendDeltaMs = current.sendMs - this.previous.sendMs
        const arrivalDeltaMs = current.completeMs - this.previous.completeMs
        if (arrivalDeltaMs - sendDeltaMs >= ARRIVAL_OFFSET_RESET_MS) {
          this.reset()
          return undefined
        }
        if (arrivalDeltaMs < 0) {
          // The groups arrived out of order: skip this packet, start over after a few.
          if (++this.reordered >= REORDERED_RESET_COUNT) this.reset()
          return undefined
        }
        this.reordered = 0
        delta = { sendDeltaMs, arrivalDeltaMs, arrivalTimeMs: current.completeMs, sizeDelta: current.size - this.previous.size }
      }
      this.previous = current
      this.current = { firstSendMs: sendTimeMs, sendMs: sendTimeMs, firstArrivalMs: arrivalTimeMs, completeMs: arrivalTimeMs, size }
      return delta
    }
    current.sendMs = Math.max(current.sendMs, sendTimeMs)
    current.completeMs = arrivalTimeMs
    current.size += size
    return undefined
  }

  reset (): void {
    this.current = undefined
    this.previous = undefined
    this.reordered = 0
  }

  private isNewGroup (current: Group, sendTimeMs: number, arrivalTimeMs: number): boolean {
    if (this.belongsToBurst(current, sendTimeMs, arrivalTimeMs)) return false
    return sendTimeMs - current.firstSendMs > SEND_TIME_GROUP_MS
  }

  private belongsToBurst (current: Group, sendTimeMs: number, arrivalTimeMs: number): boolean {
    const arrivalDelta = arrivalTimeMs - current.completeMs
    const sendDelta = sendTimeMs - current.sendMs
    if (sendDelta === 0) return true
    const propagationDelta = arrivalDelta - sendDelta
    return propagationDelta < 0 && arrivalDelta <= BURST_DELTA_MS && arrivalTimeMs - current.firstArrivalMs < MAX_BURST_DURATION_MS
  }
}
