import type { TransportFeedback } from './transport-cc-feedback.ts'
import { REFERENCE_TIME_UNIT_US } from './transport-cc-feedback.ts'

/** What the sender knows of one packet once feedback has reported it. */
export interface PacketResult {
  /** Unwrapped transport-wide sequence number. */
  sequence: number
  sendTimeMs: number
  /** Bytes on the wire (RTP header, payload, padding). */
  size: number
  /** Arrival on the receiver's clock (unwrapped reference), or undefined when reported lost. */
  arrivalTimeMs: number | undefined
  /** The probe cluster the packet belonged to, if any. */
  probeClusterId: number | undefined
}

export interface SentPacket {
  /** The 16-bit transport-wide sequence number written into the packet. */
  sequence: number
  sendTimeMs: number
  size: number
  probeClusterId?: number
}

export const DEFAULT_SEND_HISTORY = 8192

const UNREPORTED = 0
const REPORTED_LOST = 1
const REPORTED_RECEIVED = 2

/**
 * The send side's record of (transport seq, send time, size) and the turning
 * of transport-cc feedback into per-packet results. A ring of `size` slots
 * bounds it: feedback about a packet older than that is ignored. A packet
 * is reported received at most once; one reported lost and later received
 * (reordering) comes back as received.
 */
export class SendHistory {
  private readonly size: number
  private readonly owner: Float64Array
  private readonly sendTimeMs: Float64Array
  private readonly bytes: Uint32Array
  private readonly cluster: Int32Array
  private readonly state: Uint8Array
  /** Unwrapped number of the last packet sent. */
  private lastSent = -1
  private referenceUnwrapped: number | undefined
  private lastReference = 0
  /** Bytes sent and not yet reported (received or lost): the data in flight. */
  private outstanding = 0

  constructor (size = DEFAULT_SEND_HISTORY) {
    this.size = size
    this.owner = new Float64Array(size).fill(-1)
    this.sendTimeMs = new Float64Array(size)
    this.bytes = new Uint32Array(size)
    this.cluster = new Int32Array(size)
    this.state = new Uint8Array(size)
  }

  /** Records a sent packet; returns its unwrapped sequence number. */
  onSent (packet: SentPacket): number {
    const seq = this.lastSent < 0
      ? packet.sequence & 0xffff
      : this.lastSent + ((((packet.sequence - this.lastSent) & 0xffff) << 16) >> 16)
    if (seq > this.lastSent) this.lastSent = seq
    const slot = seq % this.size
    if (this.owner[slot] >= 0 && this.state[slot] === UNREPORTED) this.outstanding -= this.bytes[slot]
    this.owner[slot] = seq
    this.sendTimeMs[slot] = packet.sendTimeMs
    this.bytes[slot] = packet.size
    this.cluster[slot] = packet.probeClusterId ?? -1
    this.state[slot] = UNREPORTED
    this.outstanding += packet.size
    return seq
  }

  /** Bytes sent that no feedback has covered yet. */
  get bytesInFlight (): number {
    return this.outstanding
  }

  /**
   * The packets `feedback` reports, that this history still holds and has
   * not reported received before, in sequence order.
   */
  onFeedback (feedback: TransportFeedback): PacketResult[] {
    if (this.lastSent < 0) return []
    // The 24-bit reference time wraps every 12.4 days: unwrap it against the last.
    if (this.referenceUnwrapped === undefined) this.referenceUnwrapped = feedback.referenceTime
    else this.referenceUnwrapped += ((feedback.referenceTime - this.lastReference) << 8) >> 8
    this.lastReference = feedback.referenceTime
    const referenceMs = this.referenceUnwrapped * REFERENCE_TIME_UNIT_US / 1000
    const base = this.unwrapSent(feedback.baseSequence)
    const results: PacketResult[] = []
    let next = 0 // index into received
    for (let i = 0; i < feedback.statusCount; i++) {
      const seq = base + i
      if (seq > this.lastSent) break // about packets we never sent: a confused or hostile peer
      const receivedHere = next < feedback.received.length && feedback.received[next].sequence === (seq & 0xffff)
      const arrivalUs = receivedHere ? feedback.received[next].arrivalUs : undefined
      if (receivedHere) next++
      const slot = seq % this.size
      if (seq < 0 || this.owner[slot] !== seq) continue
      const state = this.state[slot]
      if (state === REPORTED_RECEIVED) continue
      if (arrivalUs === undefined && state === REPORTED_LOST) continue
      if (state === UNREPORTED) this.outstanding -= this.bytes[slot]
      this.state[slot] = arrivalUs === undefined ? REPORTED_LOST : REPORTED_RECEIVED
      results.push({
        sequence: seq,
        sendTimeMs: this.sendTimeMs[slot],
        size: this.bytes[slot],
        arrivalTimeMs: arrivalUs === undefined ? undefined : referenceMs + arrivalUs / 1000,
        probeClusterId: this.cluster[slot] < 0 ? undefined : this.cluster[slot]
      })
    }
    return results
  }

  /** The unwrapped number at or before the last sent that ends in `sequence`. */
  private unwrapSent (sequence: number): number {
    return this.lastSent - ((this.lastSent - sequence) & 0xffff)
  }
}
