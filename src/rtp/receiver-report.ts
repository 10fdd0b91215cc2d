/**
 * What a receiving track reports to the sender (RFC 3550 6.4.2, appendix A.1,
 * A.3, A.8): extended highest sequence number, cumulative and fractional
 * loss, jitter, and the last SR's time.
 *
 * libdatachannel's RtcpReceivingSession builds these reports itself, but
 * (0.24) never initialises its sequence state on a source's first packet: a
 * sender whose first sequence number is below 3,000 is reported as having
 * lost everything from 0 up to it (2,285 lost of 539 sent, seen with a WHIP
 * publisher), it does not reset on a new SSRC, and it puts the highest
 * sequence number's cycles in the wrong field. So edged builds its own.
 */
import { rtcpPackets } from './rtcp-compound.ts'
import { SequenceTracker } from './sequence-tracker.ts'

export const RTCP_SR = 200
export const RTCP_RR = 201
/** Cumulative loss is a signed 24-bit field. */
const MAX_LOST = 0x7fffff
const MIN_LOST = -0x800000

export class ReceptionStats {
  readonly #clockRate: number
  readonly #seq = new SequenceTracker()
  #ssrc: number | undefined
  /** Counting restarts seen (the interval figures start over with them). */
  #restarts = 0
  #expectedPrior = 0
  #receivedPrior = 0
  #transit: number | undefined
  #jitter = 0
  /** The middle 32 bits of the last SR's NTP time, and when it came (ms). */
  #lastSr = 0
  #lastSrAt: number | undefined

  constructor (clockRate: number) {
    this.#clockRate = clockRate
  }

  /** The sender's SSRC, once a packet came. */
  get ssrc (): number | undefined { return this.#ssrc }
  /** Packets counted since the source (re)started. */
  get received (): number { return this.#seq.received }
  get extendedHighest (): number { return this.#seq.extendedHighest }
  get expected (): number { return this.#seq.expected }
  get lost (): number { return Math.max(MIN_LOST, Math.min(MAX_LOST, this.#seq.lost)) }

  /** One RTP packet (`arrivalMs`: when it came, for jitter). Malformed ones are ignored. */
  rtp (packet: Uint8Array, arrivalMs: number): void {
    if (packet.length < 12 || (packet[0] >> 6) !== 2) return
    const seq = (packet[2] << 8) | packet[3]
    const timestamp = ((packet[4] << 24) | (packet[5] << 16) | (packet[6] << 8) | packet[7]) >>> 0
    const ssrc = ((packet[8] << 24) | (packet[9] << 16) | (packet[10] << 8) | packet[11]) >>> 0
    if (ssrc !== this.#ssrc) this.#newSource(ssrc, seq)
    const counted = this.#seq.update(seq)
    if (this.#seq.restarts !== this.#restarts) {
      this.#restarts = this.#seq.restarts
      this.#receivedPrior = 0
      this.#expectedPrior = 0
    }
    if (!counted) return
    this.#updateJitter(timestamp, arrivalMs)
  }

  /** A compound RTCP packet from the sender: note its SR's time (for LSR/DLSR); true when it carried an SR. */
  rtcp (packet: Uint8Array, arrivalMs: number): boolean {
    let sr = false
    for (const p of rtcpPackets(packet)) {
      if (p.type !== RTCP_SR || p.length < 28) continue
      const view = Buffer.from(packet.buffer, packet.byteOffset + p.offset, p.length)
      if (this.#ssrc === undefined || view.readUInt32BE(4) === this.#ssrc) {
        this.#lastSr = ((view.readUInt16BE(10) << 16) | view.readUInt16BE(12)) >>> 0
        this.#lastSrAt = arrivalMs
        sr = true
      }
    }
    return sr
  }

  /** Interarrival jitter (RFC 3550 A.8) in ms; 0 before two packets. */
  get jitterMs (): number { return (this.#jitter * 1000) / this.#clockRate }

  /** A receiver report from `senderSsrc` about the source; undefined before its first packet. */
  report (senderSsrc: number, nowMs: number): Buffer | undefined {
    if (this.#ssrc === undefined) return undefined
    const expected = this.expected
    const expectedInterval = expected - this.#expectedPrior
    const received = this.#seq.received
    const receivedInterval = received - this.#receivedPrior
    this.#expectedPrior = expected
    this.#receivedPrior = received
    const lostInterval = expectedInterval - receivedInterval
    const fraction = expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval))
    const packet = Buffer.alloc(32)
    packet[0] = 0x81
    packet[1] = RTCP_RR
    packet.writeUInt16BE(7, 2)
    packet.writeUInt32BE(senderSsrc >>> 0, 4)
    packet.writeUInt32BE(this.#ssrc, 8)
    packet[12] = fraction
    packet.writeIntBE(this.lost, 13, 3)
    packet.writeUInt32BE(this.extendedHighest >>> 0, 16)
    packet.writeUInt32BE(Math.min(0xffffffff, Math.round(this.#jitter)) >>> 0, 20)
    packet.writeUInt32BE(this.#lastSr, 24)
    const dlsr = this.#lastSrAt === undefined ? 0 : Math.round(((nowMs - this.#lastSrAt) / 1000) * 65536)
    packet.writeUInt32BE(Math.max(0, Math.min(0xffffffff, dlsr)) >>> 0, 28)
    return packet
  }

  /** A source heard for the first time, or a new SSRC (the sender restarted): everything starts over. */
  #newSource (ssrc: number, seq: number): void {
    this.#ssrc = ssrc
    this.#seq.newSource(seq)
    this.#transit = undefined
    this.#jitter = 0
    this.#lastSr = 0
    this.#lastSrAt = undefined
  }

  /** RFC 3550 A.8: interarrival jitter in timestamp units. */
  #updateJitter (timestamp: number, arrivalMs: number): void {
    const arrival = Math.round((arrivalMs * this.#clockRate) / 1000)
    const transit = (arrival - timestamp) | 0
    if (this.#transit !== undefined) {
      const d = Math.abs((transit - this.#transit) | 0)
      this.#jitter += (d - this.#jitter) / 16
    }
    this.#transit = transit
  }
}


/** One report block of an SR or RR (RFC 3550 §6.4.1): what a receiver says about one source. */
export interface ReportBlock {
  /** The source it is about. */
  ssrc: number
  /** Lost since the previous report, as a fraction 0..1 (the 8-bit field / 256). */
  fractionLost: number
  /** Cumulative packets lost (signed 24 bits: duplicates can make it negative). */
  cumulativeLost: number
  extendedHighest: number
  /** Interarrival jitter in timestamp units. */
  jitter: number
  /** The middle 32 bits of the NTP time of the last SR it had from the source (0: none). */
  lsr: number
  /** Delay since that SR, in 1/65536 s. */
  dlsr: number
}

/** The report blocks of every SR and RR in a compound RTCP datagram, in order. */
export function reportBlocks (datagram: Uint8Array): ReportBlock[] {
  const blocks: ReportBlock[] = []
  for (const p of rtcpPackets(datagram)) {
    if (p.type !== RTCP_SR && p.type !== RTCP_RR) continue
    const view = Buffer.from(datagram.buffer, datagram.byteOffset + p.offset, p.length)
    const first = p.type === RTCP_SR ? 28 : 8
    for (let i = 0, at = first; i < p.fmt && at + 24 <= p.length; i++, at += 24) {
      blocks.push({
        ssrc: view.readUInt32BE(at),
        fractionLost: view[at + 4] / 256,
        cumulativeLost: view.readIntBE(at + 5, 3),
        extendedHighest: view.readUInt32BE(at + 8),
        jitter: view.readUInt32BE(at + 12),
        lsr: view.readUInt32BE(at + 16),
        dlsr: view.readUInt32BE(at + 20)
      })
    }
  }
  return blocks
}
