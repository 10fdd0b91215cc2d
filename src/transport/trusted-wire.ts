import { isRtcp } from '../rtp/rtp-header.ts'

/**
 * What travels on a trusted session's UDP socket, unencrypted:
 *
 *   RTP and RTCP as they are (first byte 0b10xxxxxx, RFC 3550), so the wire
 *   carries plain RTP any RTP tool can read;
 *   0x01 <label length> <label> <0 text | 1 binary> <payload>: a lossy message;
 *   0x02 <8 bytes> / 0x03 <8 bytes>: ping and its echo (RTT).
 */
export const MESSAGE_DATAGRAM = 0x01
export const PING_DATAGRAM = 0x02
export const PONG_DATAGRAM = 0x03
/** A lossy message fits one UDP datagram (IP fragments beyond the MTU). */
export const MAX_LOSSY_MESSAGE_BYTES = 60_000

export type DatagramKind = 'rtp' | 'rtcp' | 'message' | 'ping' | 'pong' | 'unknown'

export function datagramKind (packet: Uint8Array): DatagramKind {
  if (packet.length === 0) return 'unknown'
  if ((packet[0] >> 6) === 2 && packet.length >= 8) return isRtcp(packet) ? 'rtcp' : (packet.length >= 12 ? 'rtp' : 'unknown')
  switch (packet[0]) {
    case MESSAGE_DATAGRAM: return 'message'
    case PING_DATAGRAM: return packet.length === 9 ? 'ping' : 'unknown'
    case PONG_DATAGRAM: return packet.length === 9 ? 'pong' : 'unknown'
    default: return 'unknown'
  }
}

export function encodeMessageDatagram (label: string, data: string | Uint8Array): Buffer {
  const labelBytes = Buffer.from(label, 'utf8')
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const out = Buffer.allocUnsafe(3 + labelBytes.length + payload.byteLength)
  out[0] = MESSAGE_DATAGRAM
  out[1] = labelBytes.length
  labelBytes.copy(out, 2)
  out[2 + labelBytes.length] = typeof data === 'string' ? 0 : 1
  out.set(payload, 3 + labelBytes.length)
  return out
}

/** A lossy message from a peer's datagram, or undefined when it is not one (too short, no label, unknown kind). */
export function decodeMessageDatagram (packet: Buffer): { label: string, data: string | Buffer } | undefined {
  if (packet.length < 3 || packet[0] !== MESSAGE_DATAGRAM) return undefined
  const length = packet[1]
  if (packet.length < 3 + length || length === 0) return undefined
  const label = packet.subarray(2, 2 + length).toString('utf8')
  const kind = packet[2 + length]
  const payload = packet.subarray(3 + length)
  if (kind === 0) return { label, data: payload.toString('utf8') }
  if (kind === 1) return { label, data: Buffer.from(payload) }
  return undefined
}
