import { rtcpPackets } from '../rtp/rtcp-compound.ts'
import { nackedSequences } from '../rtp/rtcp-feedback.ts'
/** Gaps wider than this are a sender restart or a long outage: a key frame helps, NACKs would not. */
export const MAX_NACK_GAP = 64
/** Each missing packet is asked for at most this often, this many times. */
export const NACK_RETRY_MS = 30
export const NACK_TRIES = 3

interface Missing { tries: number, lastAt: number }

/**
 * The receiving side of RTP retransmission (RFC 4585 generic NACK): watches
 * sequence numbers, remembers the gaps, and builds NACK packets for what is
 * still missing, each packet asked for up to NACK_TRIES times NACK_RETRY_MS
 * apart. The sender's libdatachannel RtcpNackResponder resends them from its
 * history (same SSRC and sequence number: SRTP accepts a packet it never got).
 */
export class NackGenerator {
  readonly #senderSsrc: number
  readonly #mediaSsrc: number
  readonly #missing = new Map<number, Missing>()
  #highest: number | undefined
  #requested = 0
  #recovered = 0

  constructor (senderSsrc: number, mediaSsrc: number) {
    this.#senderSsrc = senderSsrc >>> 0
    this.#mediaSsrc = mediaSsrc >>> 0
  }

  /** NACKs sent (packets asked for, counting repeats) and packets that came back. */
  get requested (): number { return this.#requested }
  get recovered (): number { return this.#recovered }
  get pending (): number { return this.#missing.size }

  /** Account a received sequence number. */
  received (seq: number): void {
    if (this.#missing.delete(seq)) {
      this.#recovered++
      return
    }
    if (this.#highest === undefined) {
      this.#highest = seq
      return
    }
    const ahead = (seq - this.#highest + 0x10000) & 0xffff
    if (ahead === 0 || ahead >= 0x8000) return // duplicate or late
    if (ahead > MAX_NACK_GAP) {
      this.#missing.clear()
    } else {
      for (let s = 1; s < ahead; s++) this.#missing.set((this.#highest + s) & 0xffff, { tries: 0, lastAt: Number.NEGATIVE_INFINITY })
    }
    this.#highest = seq
  }

  /** A NACK packet for what is due now, or undefined when nothing is. */
  due (now: number): Buffer | undefined {
    const ask: number[] = []
    for (const [seq, m] of this.#missing) {
      if (m.tries >= NACK_TRIES) {
        this.#missing.delete(seq)
        continue
      }
      if (now - m.lastAt < NACK_RETRY_MS) continue
      m.tries++
      m.lastAt = now
      ask.push(seq)
    }
    if (ask.length === 0) return undefined
    this.#requested += ask.length
    return buildNack(this.#senderSsrc, this.#mediaSsrc, ask)
  }
}

/** An RTCP generic NACK (PT 205, FMT 1): one PID + BLP pair per run of up to 17 sequence numbers. */
export function buildNack (senderSsrc: number, mediaSsrc: number, seqs: number[]): Buffer {
  const pairs: Array<[number, number]> = []
  for (const seq of [...new Set(seqs)].sort((x, y) => x - y)) {
    const last = pairs.at(-1)
    const offset = last === undefined ? -1 : ((seq - last[0] + 0x10000) & 0xffff) - 1
    if (last !== undefined && offset >= 0 && offset < 16) last[1] |= 1 << offset
    else pairs.push([seq, 0])
  }
  const packet = Buffer.alloc(12 + 4 * pairs.length)
  packet[0] = 0x80 | 1
  packet[1] = 205
  packet.writeUInt16BE(2 + pairs.length, 2)
  packet.writeUInt32BE(senderSsrc >>> 0, 4)
  packet.writeUInt32BE(mediaSsrc >>> 0, 8)
  pairs.forEach(([pid, blp], i) => {
    packet.writeUInt16BE(pid, 12 + 4 * i)
    packet.writeUInt16BE(blp, 14 + 4 * i)
  })
  return packet
}

/** The sequence numbers a generic NACK asks for (for tests and logs). */
export function parseNack (packet: Uint8Array): number[] {
  for (const p of rtcpPackets(packet)) if (p.offset === 0) return nackedSequences(packet, p)
  return []
}
