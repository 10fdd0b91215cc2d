/**
 * RTCP payload-specific feedback that asks an encoder for a key frame.
 * rtpbin's rtpsession answers both with GstForceKeyUnit upstream; it only
 * honours a FIR from a sender it knows, hence the empty RR in front.
 */
const PSFB = 206
const RR = 201

/** Picture Loss Indication (RFC 4585 §6.3.1): PSFB, FMT 1. */
export function buildPli (senderSsrc: number, mediaSsrc: number): Buffer {
  const p = Buffer.alloc(12)
  p[0] = 0x80 | 1
  p[1] = PSFB
  p.writeUInt16BE(2, 2)
  p.writeUInt32BE(senderSsrc >>> 0, 4)
  p.writeUInt32BE(mediaSsrc >>> 0, 8)
  return p
}

/** Full Intra Request (RFC 5104 §4.3.1) in a compound packet after an empty Receiver Report. */
export function buildFir (senderSsrc: number, mediaSsrc: number, sequence: number): Buffer {
  const rr = Buffer.alloc(8)
  rr[0] = 0x80
  rr[1] = RR
  rr.writeUInt16BE(1, 2)
  rr.writeUInt32BE(senderSsrc >>> 0, 4)
  const fir = Buffer.alloc(20)
  fir[0] = 0x80 | 4
  fir[1] = PSFB
  fir.writeUInt16BE(4, 2)
  fir.writeUInt32BE(senderSsrc >>> 0, 4)
  fir.writeUInt32BE(0, 8)
  fir.writeUInt32BE(mediaSsrc >>> 0, 12)
  fir[16] = sequence & 0xff
  return Buffer.concat([rr, fir])
}
