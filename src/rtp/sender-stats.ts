import { rtcpPackets } from './rtcp-compound.ts'
import { feedbackMediaSsrc, nackedSequences, RTCP_PSFB, RTCP_RTPFB } from './rtcp-feedback.ts'
import { reportBlocks } from './receiver-report.ts'

/** The bit rate is the bytes of the last second, kept in this many buckets (memory stays fixed). */
const BUCKETS = 10
const BUCKET_MS = 100
/** Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
const NTP_UNIX_OFFSET_S = 2_208_988_800
const PLI = 1
const FIR = 4

/** What one outgoing track (a consumer) has sent, and what its receiver said about it. */
export interface SenderStatsSnapshot {
  /** The SSRC the track sends with. */
  ssrc: number
  packets: number
  bytes: number
  /** Over the last second. */
  bitrateKbps: number
  /** From the receiver's last report block about this SSRC (RTCP RR, or an SR's); null before one came. */
  fractionLost: number | null
  /** Cumulative packets lost, as the receiver counts them; null before a report. */
  packetsLost: number | null
  /** Interarrival jitter the receiver reports, in ms; null before a report. */
  jitterMs: number | null
  /** Round trip from the last report's LSR/DLSR against our sender report (RFC 3550 §6.4.1); null without one. */
  rttMs: number | null
  /** Report blocks about this SSRC received. */
  reports: number
  /** Generic NACK packets received, and the sequence numbers they asked for (repeats count). */
  nacks: number
  nackedPackets: number
  /**
   * Packets resent for those NACKs: the ones still in the send history (the
   * native RtcpNackResponder resends exactly those; edged does not see its
   * sends, so it counts what it holds).
   */
  retransmits: number
  plis: number
  firs: number
  /** The target bit rate of what feeds the track (its source's encoder), when the caller knows it. */
  targetBitrateKbps: number | null
}

export interface SenderStatsInit {
  ssrc: number
  clockRate: number
  /** Packets the track's NACK responder keeps (0: it resends nothing). */
  history: number
}

/** The middle 32 bits of the NTP time of a wall-clock instant (RFC 3550 §4), in 1/65536 s. */
export function ntpMiddle (wallMs: number): number {
  return Math.floor((wallMs / 1000 + NTP_UNIX_OFFSET_S) * 65536) % 0x1_0000_0000
}

/**
 * The one owner of a sending track's figures: counts what is sent, and reads
 * the receiver's RTCP (report blocks, NACK, PLI, FIR) about the track's SSRC.
 * Fixed memory whatever the rate or the peer sends.
 */
export class SenderStats {
  readonly #init: SenderStatsInit
  #packets = 0
  #bytes = 0
  readonly #bucketBytes = new Float64Array(BUCKETS)
  readonly #bucketIndex = new Float64Array(BUCKETS).fill(-1)
  /** The last sequence number sent (for what the history still holds). */
  #lastSeq: number | undefined
  #fractionLost: number | null = null
  #packetsLost: number | null = null
  #jitterMs: number | null = null
  #rttMs: number | null = null
  #reports = 0
  #nacks = 0
  #nackedPackets = 0
  #retransmits = 0
  #plis = 0
  #firs = 0

  constructor (init: SenderStatsInit) {
    this.#init = init
  }

  /** One RTP packet sent (as it went out: the track's SSRC), at `nowMs` (a monotonic clock). */
  sent (packet: Uint8Array, nowMs: number): void {
    this.#packets++
    this.#bytes += packet.length
    if (packet.length >= 4) this.#lastSeq = (packet[2] << 8) | packet[3]
    const index = Math.floor(nowMs / BUCKET_MS)
    const slot = index % BUCKETS
    if (this.#bucketIndex[slot] !== index) {
      this.#bucketIndex[slot] = index
      this.#bucketBytes[slot] = 0
    }
    this.#bucketBytes[slot] += packet.length
  }

  /**
   * A compound RTCP datagram from the receiver, at `wallMs` (Date.now(): the
   * clock our sender reports' NTP times come from). Anything about another
   * SSRC is ignored, but PLI/FIR count whatever media SSRC they name (as the
   * track's key-frame requests do).
   */
  rtcp (datagram: Uint8Array, wallMs: number): void {
    const ssrc = this.#init.ssrc >>> 0
    for (const block of reportBlocks(datagram)) {
      if (block.ssrc !== ssrc) continue
      this.#reports++
      this.#fractionLost = block.fractionLost
      this.#packetsLost = block.cumulativeLost
      this.#jitterMs = (block.jitter * 1000) / this.#init.clockRate
      if (block.lsr !== 0) {
        const rtt = (ntpMiddle(wallMs) - block.lsr - block.dlsr + 2 * 0x1_0000_0000) % 0x1_0000_0000
        // Over half the range is a clock step or a report about someone else's SR: no figure.
        if (rtt < 0x8000_0000) this.#rttMs = (rtt * 1000) / 65536
      }
    }
    for (const p of rtcpPackets(datagram)) {
      if ((p.type !== RTCP_RTPFB && p.type !== RTCP_PSFB) || p.length < 12) continue
      if (p.type === RTCP_RTPFB) {
        if (feedbackMediaSsrc(datagram, p) !== ssrc) continue
        const seqs = nackedSequences(datagram, p)
        if (seqs.length === 0) continue
        this.#nacks++
        this.#nackedPackets += seqs.length
        for (const seq of seqs) if (this.#inHistory(seq)) this.#retransmits++
      } else if (p.fmt === PLI) {
        this.#plis++
      } else if (p.fmt === FIR) {
        this.#firs++
      }
    }
  }

  snapshot (nowMs: number, targetBitrateKbps: number | null = null): SenderStatsSnapshot {
    return {
      ssrc: this.#init.ssrc >>> 0,
      packets: this.#packets,
      bytes: this.#bytes,
      bitrateKbps: this.bitrateKbps(nowMs),
      fractionLost: this.#fractionLost,
      packetsLost: this.#packetsLost,
      jitterMs: this.#jitterMs,
      rttMs: this.#rttMs,
      reports: this.#reports,
      nacks: this.#nacks,
      nackedPackets: this.#nackedPackets,
      retransmits: this.#retransmits,
      plis: this.#plis,
      firs: this.#firs,
      targetBitrateKbps
    }
  }

  /** Bits per ms (kbit/s) over the last BUCKETS × BUCKET_MS. */
  bitrateKbps (nowMs: number): number {
    const index = Math.floor(nowMs / BUCKET_MS)
    let bytes = 0
    for (let i = 0; i < BUCKETS; i++) if (this.#bucketIndex[i] > index - BUCKETS && this.#bucketIndex[i] <= index) bytes += this.#bucketBytes[i]
    return Math.round((bytes * 8) / (BUCKETS * BUCKET_MS))
  }

  /** Whether the NACK responder still holds `seq`: one of the last `history` packets sent. */
  #inHistory (seq: number): boolean {
    if (this.#lastSeq === undefined) return false
    const age = (this.#lastSeq - seq + 0x10000) & 0xffff
    return age < Math.min(this.#init.history, this.#packets)
  }
}
