import { writeTransportSequence } from './transport-cc-extension.ts'

/**
 * One source feeds many tracks: the packet as it is when its payload type
 * and SSRC are already the track's (no copy), else a copy with both
 * rewritten (the marker bit kept). Each track has its own SSRC, so a copy
 * is the rule: two sections of one session announcing one SSRC leave one
 * of them without media.
 */
export function withPayloadTypeAndSsrc (packet: Uint8Array, payloadType: number, ssrc: number): Buffer {
  const buffer = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)
  if ((buffer[1] & 0x7f) === payloadType && buffer.readUInt32BE(8) === ssrc >>> 0) return buffer
  const copy = Buffer.from(buffer)
  rewrite(copy, payloadType, ssrc)
  return copy
}

/**
 * A track's own copy of `packet` for congestion control: its payload type
 * and SSRC, and a transport-wide sequence number element `extensionId`
 * (number 0 until the sender stamps it in place). Always a new buffer,
 * never `packet` (other tracks share it), and in the usual case (a packet
 * with no extension block) the only copy: rewriting and then adding the
 * element would make two. Undefined for bytes that are not RTP with a sane
 * header, or whose extension block has another profile.
 */
export function withPayloadTypeSsrcAndTransportSequence (packet: Uint8Array, payloadType: number, ssrc: number, extensionId: number): Buffer | undefined {
  // An existing block may hold the element already: it is written in place, so into a copy.
  const source = (packet[0] & 0x10) !== 0 ? Buffer.from(packet) : packet
  const out = writeTransportSequence(source, extensionId, 0)
  if (out === undefined) return undefined
  const own = Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength)
  rewrite(own, payloadType, ssrc)
  return own
}

function rewrite (packet: Buffer, payloadType: number, ssrc: number): void {
  packet[1] = (packet[1] & 0x80) | payloadType
  packet.writeUInt32BE(ssrc >>> 0, 8)
}
