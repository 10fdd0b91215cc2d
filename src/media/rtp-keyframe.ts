import type { Codec } from './codecs.ts'

/**
 * True when an RTP payload starts (or carries) a key frame: H.264 IDR NAL
 * (type 5, alone, in a STAP-A, or the first FU-A fragment), VP8 key frame bit
 * (RFC 7741), VP9 descriptor without P and with B (RFC 9628), AV1 N bit of
 * the aggregation header (new coded video sequence). Opus has none.
 */
export function isKeyFramePayload (codec: Codec, payload: Uint8Array): boolean {
  if (payload.length === 0) return false
  switch (codec) {
    case 'h264': return h264HasIdr(payload)
    case 'vp8': return vp8IsKeyFrame(payload)
    case 'vp9': return (payload[0] & 0x40) === 0 && (payload[0] & 0x08) !== 0
    case 'av1': return (payload[0] & 0x08) !== 0
    default: return false
  }
}

function h264HasIdr (p: Uint8Array): boolean {
  const type = p[0] & 0x1f
  if (type === 5) return true
  if (type === 24) { // STAP-A: 16-bit size + NAL, repeated
    for (let o = 1; o + 2 < p.length;) {
      const size = (p[o] << 8) | p[o + 1]
      if ((p[o + 2] & 0x1f) === 5) return true
      o += 2 + size
    }
    return false
  }
  if (type === 28) return p.length > 1 && (p[1] & 0x80) !== 0 && (p[1] & 0x1f) === 5 // FU-A start
  return false
}

function vp8IsKeyFrame (p: Uint8Array): boolean {
  const d = p[0]
  if ((d & 0x10) === 0 || (d & 0x07) !== 0) return false // not the start of partition 0
  let o = 1
  if ((d & 0x80) !== 0) {
    const x = p[o++]
    if ((x & 0x80) !== 0) o += (p[o] & 0x80) !== 0 ? 2 : 1 // picture id
    if ((x & 0x40) !== 0) o++ // TL0PICIDX
    if ((x & 0x30) !== 0) o++ // TID/KEYIDX
  }
  return o < p.length && (p[o] & 0x01) === 0
}
