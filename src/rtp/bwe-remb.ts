import { MalformedRtcpError } from './bwe-malformed-rtcp-error.ts'

/**
 * Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03):
 * RTCP PSFB (206), FMT 15, application 'REMB'. The fallback signal from
 * receivers that do not send transport-cc feedback.
 */
export interface Remb {
  senderSsrc: number
  /** Bits per second the receiver says the sender may send, in total, to the listed SSRCs. */
  bitrateBps: number
  ssrcs: number[]
}

export const PSFB = 206
export const REMB_FMT = 15
const REMB_ID = [0x52, 0x45, 0x4d, 0x42] // 'REMB'
const HEADER_BYTES = 20
const MAX_MANTISSA = 0x3ffff
const FORMAT = 'REMB'

/** True when `packet` starts with an RTCP PSFB FMT 15 header carrying 'REMB'. */
export function isRemb (packet: Uint8Array): boolean {
  return packet.length >= 16 && (packet[0] >> 6) === 2 && (packet[0] & 0x1f) === REMB_FMT && packet[1] === PSFB &&
    packet[12] === REMB_ID[0] && packet[13] === REMB_ID[1] && packet[14] === REMB_ID[2] && packet[15] === REMB_ID[3]
}

/** Parses one REMB message; throws MalformedRtcpError. Allocates one entry per SSRC the packet holds (at most 255). */
export function parseRemb (packet: Uint8Array): Remb {
  if (!isRemb(packet)) throw new MalformedRtcpError(FORMAT, 'not a PSFB FMT 15 REMB packet')
  const length = (((packet[2] << 8) | packet[3]) + 1) * 4
  if (length > packet.length || length < HEADER_BYTES) throw new MalformedRtcpError(FORMAT, `length field says ${length} bytes, packet has ${packet.length}`)
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  const count = packet[16]
  if (HEADER_BYTES + count * 4 > length) throw new MalformedRtcpError(FORMAT, `${count} SSRCs do not fit in ${length} bytes`)
  const exponent = packet[17] >> 2
  const mantissa = ((packet[17] & 0x03) << 16) | (packet[18] << 8) | packet[19]
  const ssrcs: number[] = []
  for (let i = 0; i < count; i++) ssrcs.push(view.getUint32(HEADER_BYTES + i * 4))
  return { senderSsrc: view.getUint32(4), bitrateBps: mantissa * 2 ** exponent, ssrcs }
}

/** Builds a REMB message; the bit rate is rounded down to what 18 bits of mantissa hold. */
export function buildRemb (remb: Remb): Uint8Array {
  if (remb.ssrcs.length > 255) throw new RangeError(`REMB holds at most 255 SSRCs, not ${remb.ssrcs.length}`)
  if (!(remb.bitrateBps >= 0) || !Number.isFinite(remb.bitrateBps)) throw new RangeError(`REMB bit rate ${remb.bitrateBps} is not a finite number >= 0`)
  let mantissa = Math.floor(remb.bitrateBps)
  let exponent = 0
  while (mantissa > MAX_MANTISSA && exponent < 63) { mantissa = Math.floor(mantissa / 2); exponent++ }
  mantissa = Math.min(mantissa, MAX_MANTISSA)
  const length = HEADER_BYTES + remb.ssrcs.length * 4
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  out[0] = 0x80 | REMB_FMT
  out[1] = PSFB
  view.setUint16(2, length / 4 - 1)
  view.setUint32(4, remb.senderSsrc >>> 0)
  view.setUint32(8, 0)
  out.set(REMB_ID, 12)
  out[16] = remb.ssrcs.length
  out[17] = (exponent << 2) | (mantissa >> 16)
  out[18] = (mantissa >> 8) & 0xff
  out[19] = mantissa & 0xff
  remb.ssrcs.forEach((ssrc, i) => view.setUint32(HEADER_BYTES + i * 4, ssrc >>> 0))
  return out
}
