import { rtcpPackets, type RtcpPacketView } from './rtcp-compound.ts'
import { rtpSsrc } from './rtp-header.ts'

/** RTCP packet types (RFC 3550, RFC 4585). */
export const RTCP_RR = 201
export const RTCP_RTPFB = 205
export const RTCP_PSFB = 206
/** Generic NACK (RFC 4585 §6.2.1): RTPFB, FMT 1. */
export const FMT_NACK = 1
const FMT_PLI = 1
const FMT_FIR = 4

export type KeyFrameRequestKind = 'pli' | 'fir'

/** Picture Loss Indication (RFC 4585 §6.3.1): PSFB, FMT 1. */
export function buildPli (senderSsrc: number, mediaSsrc: number): Buffer {
  const p = Buffer.alloc(12)
  p[0] = 0x80 | FMT_PLI
  p[1] = RTCP_PSFB
  p.writeUInt16BE(2, 2)
  p.writeUInt32BE(senderSsrc >>> 0, 4)
  p.writeUInt32BE(mediaSsrc >>> 0, 8)
  return p
}

/**
 * Full Intra Request (RFC 5104 §4.3.1) in a compound packet after an empty
 * Receiver Report: rtpbin's rtpsession only honours a FIR from a sender it knows.
 */
export function buildFir (senderSsrc: number, mediaSsrc: number, sequence: number): Buffer {
  const rr = Buffer.alloc(8)
  rr[0] = 0x80
  rr[1] = RTCP_RR
  rr.writeUInt16BE(1, 2)
  rr.writeUInt32BE(senderSsrc >>> 0, 4)
  const fir = Buffer.alloc(20)
  fir[0] = 0x80 | FMT_FIR
  fir[1] = RTCP_PSFB
  fir.writeUInt16BE(4, 2)
  fir.writeUInt32BE(senderSsrc >>> 0, 4)
  fir.writeUInt32BE(0, 8)
  fir.writeUInt32BE(mediaSsrc >>> 0, 12)
  fir[16] = sequence & 0xff
  return Buffer.concat([rr, fir])
}

/** The PLI/FIR feedback messages a compound RTCP packet carries, in order; malformed tails are ignored. */
export function keyFrameRequests (datagram: Uint8Array): KeyFrameRequestKind[] {
  const found: KeyFrameRequestKind[] = []
  for (const p of rtcpPackets(datagram)) {
    if (p.type !== RTCP_PSFB) continue
    if (p.fmt === FMT_PLI) found.push('pli')
    else if (p.fmt === FMT_FIR) found.push('fir')
  }
  return found
}

/** Media SSRCs of the PLI/FIR feedback in a (compound) RTCP packet. */
export function feedbackMediaSsrcs (datagram: Uint8Array): number[] {
  const found: number[] = []
  for (const p of rtcpPackets(datagram)) {
    if (p.type !== RTCP_PSFB || p.length < 12) continue
    // PLI: media SSRC in the common header; FIR: in its FCI entry.
    const at = p.fmt === FMT_FIR && p.length >= 20 ? p.offset + 12 : p.offset + 8
    found.push(rtpSsrc(datagram.subarray(at - 8)))
  }
  return found
}

/**
 * The sequence numbers one generic NACK packet of a compound datagram asks for
 * (its PID + BLP entries, RFC 4585 §6.2.1); [] for any other packet.
 */
export function nackedSequences (datagram: Uint8Array, p: RtcpPacketView): number[] {
  if (p.type !== RTCP_RTPFB || p.fmt !== FMT_NACK) return []
  const seqs: number[] = []
  for (let at = p.offset + 12; at + 4 <= p.offset + p.length; at += 4) {
    const pid = (datagram[at] << 8) | datagram[at + 1]
    const blp = (datagram[at + 2] << 8) | datagram[at + 3]
    seqs.push(pid)
    for (let b = 0; b < 16; b++) if ((blp & (1 << b)) !== 0) seqs.push((pid + b + 1) & 0xffff)
  }
  return seqs
}

/** The media SSRC a feedback packet (RTPFB/PSFB) is about; the caller checked it is one, 12 bytes or more. */
export function feedbackMediaSsrc (datagram: Uint8Array, p: RtcpPacketView): number {
  return rtpSsrc(datagram.subarray(p.offset))
}
