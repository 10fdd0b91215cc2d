/** One packet of a compound RTCP datagram (RFC 3550 §6.1). */
export interface RtcpPacketView {
  /** Offset of its common header in the datagram. */
  offset: number
  /** Its length in bytes, header included. */
  length: number
  /** Packet type (200 SR, 201 RR, 205 RTPFB, 206 PSFB…). */
  type: number
  /** The 5-bit count/format field. */
  fmt: number
}

/**
 * The packets of a compound RTCP datagram, in order. The walk stops at the
 * first header that is not version 2 or whose length runs past the end: a
 * malformed tail is ignored, never read out of bounds.
 */
export function * rtcpPackets (datagram: Uint8Array): Generator<RtcpPacketView> {
  let offset = 0
  while (offset + 4 <= datagram.length) {
    if ((datagram[offset] >> 6) !== 2) return
    const length = (((datagram[offset + 2] << 8) | datagram[offset + 3]) + 1) * 4
    if (offset + length > datagram.length) return
    yield { offset, length, type: datagram[offset + 1], fmt: datagram[offset] & 0x1f }
    offset += length
  }
}
