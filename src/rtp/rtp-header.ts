/** The RTP fixed header fields Edge Stack looks at (RFC 3550 §5.1). */
export interface RtpHeader {
  marker: boolean
  payloadType: number
  sequenceNumber: number
  timestamp: number
  ssrc: number
  /** Offset of the payload (after CSRCs and the header extension). */
  payloadOffset: number
  /** End of the payload (before padding). */
  payloadEnd: number
}

/** True for RTCP on an RTP/RTCP-multiplexed port (RFC 5761: packet types 192-223). */
export function isRtcp (packet: Uint8Array): boolean {
  return packet.length >= 8 && (packet[0] >> 6) === 2 && packet[1] >= 192 && packet[1] <= 223
}

/** The SSRC of an RTP packet (bytes 8-11); the caller checked it has 12 bytes. */
export function rtpSsrc (packet: Uint8Array): number {
  return ((packet[8] << 24) | (packet[9] << 16) | (packet[10] << 8) | packet[11]) >>> 0
}

export function parseRtpHeader (packet: Uint8Array): RtpHeader | undefined {
  if (packet.length < 12 || (packet[0] >> 6) !== 2) return undefined
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  let offset = 12 + (packet[0] & 0x0f) * 4
  if ((packet[0] & 0x10) !== 0) {
    if (packet.length < offset + 4) return undefined
    offset += 4 + view.getUint16(offset + 2) * 4
  }
  let end = packet.length
  if ((packet[0] & 0x20) !== 0) end -= packet[packet.length - 1]
  if (offset > end) return undefined
  return {
    marker: (packet[1] & 0x80) !== 0,
    payloadType: packet[1] & 0x7f,
    sequenceNumber: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    payloadOffset: offset,
    payloadEnd: end
  }
}
