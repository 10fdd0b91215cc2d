/**
 * The transport-wide sequence number RTP header extension
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §2), written as an
 * RFC 8285 one-byte header element: `ID | L=1`, then the 16-bit number.
 * The ID is whatever the SDP negotiated for
 * `http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01`.
 */

export const TRANSPORT_CC_EXTENSION_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01'

const ONE_BYTE_PROFILE = 0xbede
const TWO_BYTE_PROFILE_MASK = 0xfff0
const TWO_BYTE_PROFILE = 0x1000

/** Where an RTP packet's header extension block sits, if it has one. */
interface ExtensionBlock {
  /** Offset of the 4-byte extension header (profile, length). */
  start: number
  profile: number
  /** Offset of the first element and the end of the block. */
  dataStart: number
  dataEnd: number
}

function csrcEnd (packet: Uint8Array): number | undefined {
  if (packet.length < 12 || (packet[0] >> 6) !== 2) return undefined
  const end = 12 + (packet[0] & 0x0f) * 4
  return end <= packet.length ? end : undefined
}

function extensionBlock (packet: Uint8Array): ExtensionBlock | undefined {
  const start = csrcEnd(packet)
  if (start === undefined || (packet[0] & 0x10) === 0 || packet.length < start + 4) return undefined
  const profile = (packet[start] << 8) | packet[start + 1]
  const words = (packet[start + 2] << 8) | packet[start + 3]
  const dataEnd = start + 4 + words * 4
  if (dataEnd > packet.length) return undefined
  return { start, profile, dataStart: start + 4, dataEnd }
}

/** Offset of element `id`'s data in a one-byte-header block, or undefined. */
function findOneByteElement (packet: Uint8Array, block: ExtensionBlock, id: number): { offset: number, length: number } | undefined {
  let i = block.dataStart
  while (i < block.dataEnd) {
    const b = packet[i]
    if (b === 0) { i++; continue } // padding
    const elementId = b >> 4
    if (elementId === 15) return undefined // RFC 8285 §4.2: stop processing
    const length = (b & 0x0f) + 1
    if (i + 1 + length > block.dataEnd) return undefined
    if (elementId === id) return { offset: i + 1, length }
    i += 1 + length
  }
  return undefined
}

/** Offset of element `id`'s data in a two-byte-header block, or undefined. */
function findTwoByteElement (packet: Uint8Array, block: ExtensionBlock, id: number): { offset: number, length: number } | undefined {
  let i = block.dataStart
  while (i < block.dataEnd) {
    const elementId = packet[i]
    if (elementId === 0) { i++; continue }
    if (i + 2 > block.dataEnd) return undefined
    const length = packet[i + 1]
    if (i + 2 + length > block.dataEnd) return undefined
    if (elementId === id) return { offset: i + 2, length }
    i += 2 + length
  }
  return undefined
}

function checkId (id: number): void {
  if (!Number.isInteger(id) || id < 1 || id > 14) throw new RangeError(`transport-cc extension id ${id} is not a one-byte RFC 8285 id (1-14)`)
}

/**
 * The transport-wide sequence number in `packet`'s extension `id`, or
 * undefined when the packet is not RTP, carries no such element, or the
 * element is not 2 bytes. Reads both one- and two-byte header forms.
 */
export function readTransportSequence (packet: Uint8Array, id: number): number | undefined {
  const block = extensionBlock(packet)
  if (block === undefined) return undefined
  let element: { offset: number, length: number } | undefined
  if (block.profile === ONE_BYTE_PROFILE) element = findOneByteElement(packet, block, id)
  else if ((block.profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE) element = findTwoByteElement(packet, block, id)
  if (element?.length !== 2) return undefined
  return (packet[element.offset] << 8) | packet[element.offset + 1]
}

/**
 * `packet` with transport-wide sequence number `sequence` in extension `id`.
 * When the packet already has the element, it is overwritten in place (and
 * `packet` itself is returned); otherwise a new buffer is returned with the
 * element appended to the packet's one-byte extension block, or with a new
 * block. A packet with a two-byte block gets a two-byte element. Returns
 * undefined for bytes that are not an RTP packet with a sane header.
 *
 * A new buffer is a Buffer from Node's pool (Buffer.allocUnsafe: a slice of a
 * shared slab, every byte written here), not an ArrayBuffer of its own: a
 * send track makes one for every packet it sends.
 */
export function writeTransportSequence (packet: Uint8Array, id: number, sequence: number): Uint8Array | undefined {
  checkId(id)
  const start = csrcEnd(packet)
  if (start === undefined) return undefined
  const seq = sequence & 0xffff
  const hasExtension = (packet[0] & 0x10) !== 0
  if (!hasExtension) {
    const out = Buffer.allocUnsafe(packet.length + 8)
    out.set(packet.subarray(0, start), 0)
    out[0] |= 0x10
    out[start] = 0xbe; out[start + 1] = 0xde; out[start + 2] = 0; out[start + 3] = 1
    out[start + 4] = (id << 4) | 1; out[start + 5] = seq >> 8; out[start + 6] = seq & 0xff; out[start + 7] = 0
    out.set(packet.subarray(start), start + 8)
    return out
  }
  const block = extensionBlock(packet)
  if (block === undefined) return undefined
  const oneByte = block.profile === ONE_BYTE_PROFILE
  const twoByte = (block.profile & TWO_BYTE_PROFILE_MASK) === TWO_BYTE_PROFILE
  if (!oneByte && !twoByte) return undefined // another profile's extension: not ours to mix
  const found = oneByte ? findOneByteElement(packet, block, id) : findTwoByteElement(packet, block, id)
  if (found !== undefined) {
    if (found.length !== 2) return undefined
    packet[found.offset] = seq >> 8
    packet[found.offset + 1] = seq & 0xff
    return packet
  }
  // Append after the last element, over trailing padding, then re-pad to 32 bits.
  const used = usedEnd(packet, block, oneByte)
  const element = oneByte ? [(id << 4) | 1, seq >> 8, seq & 0xff] : [id, 2, seq >> 8, seq & 0xff]
  const dataLength = used - block.dataStart + element.length
  const words = Math.ceil(dataLength / 4)
  const newDataEnd = block.dataStart + words * 4
  const out = Buffer.allocUnsafe(packet.length - block.dataEnd + newDataEnd)
  out.set(packet.subarray(0, used), 0)
  out.set(element, used)
  out.fill(0, used + element.length, newDataEnd) // the block's padding
  out.set(packet.subarray(block.dataEnd), newDataEnd)
  out[block.start + 2] = words >> 8
  out[block.start + 3] = words & 0xff
  return out
}

/** End of the last element in a block (trailing zero padding excluded). */
function usedEnd (packet: Uint8Array, block: ExtensionBlock, oneByte: boolean): number {
  let i = block.dataStart
  let end = block.dataStart
  while (i < block.dataEnd) {
    if (packet[i] === 0) { i++; continue }
    if (oneByte) {
      if (packet[i] >> 4 === 15) break
      i += 2 + (packet[i] & 0x0f)
    } else {
      if (i + 2 > block.dataEnd) break
      i += 2 + packet[i + 1]
    }
    end = Math.min(i, block.dataEnd)
  }
  return end
}
