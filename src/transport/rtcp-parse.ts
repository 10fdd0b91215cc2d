/** Key-frame requests in a (compound) RTCP packet from a receiver. */
const PSFB = 206
const FMT_PLI = 1
const FMT_FIR = 4

export type KeyFrameRequestKind = 'pli' | 'fir'

/** The PLI/FIR feedback messages a compound RTCP packet carries, in order; malformed tails are ignored. */
export function keyFrameRequests (packet: Uint8Array): KeyFrameRequestKind[] {
  const found: KeyFrameRequestKind[] = []
  let offset = 0
  while (offset + 4 <= packet.length) {
    if ((packet[offset] >> 6) !== 2) break
    const length = (((packet[offset + 2] << 8) | packet[offset + 3]) + 1) * 4
    if (offset + length > packet.length) break
    if (packet[offset + 1] === PSFB) {
      const fmt = packet[offset] & 0x1f
      if (fmt === FMT_PLI) found.push('pli')
      else if (fmt === FMT_FIR) found.push('fir')
    }
    offset += length
  }
  return found
}
