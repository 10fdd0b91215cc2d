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
  copy[1] = (copy[1] & 0x80) | payloadType
  copy.writeUInt32BE(ssrc >>> 0, 8)
  return copy
}
