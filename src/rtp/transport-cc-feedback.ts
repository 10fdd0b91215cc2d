import { MalformedRtcpError } from './bwe-malformed-rtcp-error.ts'

/**
 * The transport-wide congestion control feedback message: RTCP RTPFB (205),
 * FMT 15 (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
 *
 * Arrival times are in microseconds relative to the packet's reference
 * time (`referenceTime` × 64 ms), on the receiver's clock; the wire keeps
 * them in 250 µs ticks, so they are multiples of 250.
 */
export interface TransportFeedback {
  senderSsrc: number
  mediaSsrc: number
  /** Transport-wide sequence number of the first packet this message covers. */
  baseSequence: number
  /** How many consecutive sequence numbers from `baseSequence` it covers (1-65535). */
  statusCount: number
  /** 24-bit receive time of the first packet's reference, in 64 ms units (wraps). */
  referenceTime: number
  /** 8-bit count of feedback messages the receiver has sent (wraps), to spot lost feedback. */
  feedbackCount: number
  /** Packets that arrived, in sequence order; the others of the range are lost (so far). */
  received: ReceivedPacket[]
}

export interface ReceivedPacket {
  /** 16-bit transport-wide sequence number. */
  sequence: number
  /** Arrival, µs after the reference time (a multiple of 250; may be negative). */
  arrivalUs: number
}

export const RTPFB = 205
export const TRANSPORT_CC_FMT = 15
export const REFERENCE_TIME_UNIT_US = 64_000
export const DELTA_TICK_US = 250
/** The largest status count the 16-bit field holds. */
export const MAX_STATUS_COUNT = 0xffff
/** Deltas the large (16-bit signed) form holds, in ticks. */
export const MAX_DELTA_TICKS = 0x7fff
export const MIN_DELTA_TICKS = -0x8000

const HEADER_BYTES = 20
const NOT_RECEIVED = 0
const SMALL_DELTA = 1
const LARGE_DELTA = 2
const MAX_RUN_LENGTH = 0x1fff
const FORMAT = 'transport-cc feedback'

/** True when `packet` starts with an RTCP RTPFB FMT 15 header. */
export function isTransportFeedback (packet: Uint8Array): boolean {
  return packet.length >= 4 && (packet[0] >> 6) === 2 && (packet[0] & 0x1f) === TRANSPORT_CC_FMT && packet[1] === RTPFB
}

/**
 * Parses one transport-cc feedback message (the first RTCP packet of
 * `packet`). Throws MalformedRtcpError for anything that does not hold
 * together. What it allocates is bounded by the packet: one byte per
 * status (at most 64 KiB, the 16-bit count's limit) and one entry per
 * received packet, each of which needs a delta byte in the input.
 */
export function parseTransportFeedback (packet: Uint8Array): TransportFeedback {
  if (!isTransportFeedback(packet)) throw new MalformedRtcpError(FORMAT, 'not an RTPFB FMT 15 packet')
  const declared = (((packet[2] << 8) | packet[3]) + 1) * 4
  if (declared > packet.length) throw new MalformedRtcpError(FORMAT, `length field says ${declared} bytes, packet has ${packet.length}`)
  let end = declared
  if ((packet[0] & 0x20) !== 0) {
    const padding = packet[end - 1]
    if (padding === 0 || padding > end - HEADER_BYTES) throw new MalformedRtcpError(FORMAT, `bad padding count ${padding}`)
    end -= padding
  }
  if (end < HEADER_BYTES) throw new MalformedRtcpError(FORMAT, `${end} bytes is shorter than the ${HEADER_BYTES}-byte header`)
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength)
  const baseSequence = view.getUint16(12)
  const statusCount = view.getUint16(14)
  if (statusCount === 0) throw new MalformedRtcpError(FORMAT, 'packet status count is 0')
  const referenceTime = (packet[16] << 16) | (packet[17] << 8) | packet[18]
  const feedbackCount = packet[19]

  const statuses = new Uint8Array(statusCount)
  let filled = 0
  let offset = HEADER_BYTES
  let receivedCount = 0
  while (filled < statusCount) {
    if (offset + 2 > end) throw new MalformedRtcpError(FORMAT, `chunks end after ${filled} of ${statusCount} statuses`)
    const chunk = view.getUint16(offset)
    offset += 2
    if ((chunk & 0x8000) === 0) {
      const symbol = (chunk >> 13) & 0x3
      if (symbol === 3) throw new MalformedRtcpError(FORMAT, 'run-length chunk with the reserved status 3')
      const run = Math.min(chunk & MAX_RUN_LENGTH, statusCount - filled)
      if (symbol !== NOT_RECEIVED) {
        receivedCount += run
        // Every received packet needs at least a byte of delta: refuse early.
        if (receivedCount > end - offset) throw new MalformedRtcpError(FORMAT, `${receivedCount} received packets cannot fit their deltas in ${end - offset} bytes`)
        statuses.fill(symbol, filled, filled + run)
      }
      filled += run
    } else if ((chunk & 0x4000) === 0) {
      for (let bit = 13; bit >= 0 && filled < statusCount; bit--, filled++) {
        if ((chunk >> bit) & 1) { statuses[filled] = SMALL_DELTA; receivedCount++ }
      }
    } else {
      for (let shift = 12; shift >= 0 && filled < statusCount; shift -= 2, filled++) {
        const symbol = (chunk >> shift) & 0x3
        if (symbol === 3) throw new MalformedRtcpError(FORMAT, 'status vector with the reserved status 3')
        statuses[filled] = symbol
        if (symbol !== NOT_RECEIVED) receivedCount++
      }
    }
  }
  if (receivedCount > end - offset) throw new MalformedRtcpError(FORMAT, `${receivedCount} received packets cannot fit their deltas in ${end - offset} bytes`)

  const received: ReceivedPacket[] = []
  let ticks = 0
  for (let i = 0; i < statusCount; i++) {
    const status = statuses[i]
    if (status === NOT_RECEIVED) continue
    if (status === SMALL_DELTA) {
      if (offset + 1 > end) throw new MalformedRtcpError(FORMAT, 'deltas end early')
      ticks += packet[offset]
      offset += 1
    } else {
      if (offset + 2 > end) throw new MalformedRtcpError(FORMAT, 'deltas end early')
      ticks += view.getInt16(offset)
      offset += 2
    }
    received.push({ sequence: (baseSequence + i) & 0xffff, arrivalUs: ticks * DELTA_TICK_US })
  }
  return {
    senderSsrc: view.getUint32(4),
    mediaSsrc: view.getUint32(8),
    baseSequence,
    statusCount,
    referenceTime,
    feedbackCount,
    received
  }
}

/**
 * Builds the message. `received` must be in sequence order, within
 * `statusCount` of `baseSequence`, with arrival times in 250 µs steps whose
 * differences fit 16 signed bits of ticks (±8.19 s); anything else is a
 * RangeError (the caller, not a peer, is at fault).
 */
export function buildTransportFeedback (feedback: TransportFeedback): Uint8Array {
  const { baseSequence, statusCount, received } = feedback
  if (!Number.isInteger(statusCount) || statusCount < 1 || statusCount > MAX_STATUS_COUNT) throw new RangeError(`status count ${statusCount} is not within 1-${MAX_STATUS_COUNT}`)
  const statuses = new Uint8Array(statusCount)
  const deltas: number[] = []
  let previousTicks = 0
  let previousIndex = -1
  for (const packet of received) {
    const index = (packet.sequence - baseSequence) & 0xffff
    if (index >= statusCount || index <= previousIndex) throw new RangeError(`received sequence ${packet.sequence} is out of order or outside ${baseSequence}+${statusCount}`)
    const ticks = Math.round(packet.arrivalUs / DELTA_TICK_US)
    const delta = ticks - previousTicks
    if (delta < MIN_DELTA_TICKS || delta > MAX_DELTA_TICKS) throw new RangeError(`arrival delta of ${delta} ticks does not fit 16 bits`)
    statuses[index] = delta >= 0 && delta <= 0xff ? SMALL_DELTA : LARGE_DELTA
    deltas.push(delta)
    previousTicks = ticks
    previousIndex = index
  }
  const chunks = encodeChunks(statuses)
  const deltaBytes = deltas.reduce((sum, d) => sum + (d >= 0 && d <= 0xff ? 1 : 2), 0)
  const unpadded = HEADER_BYTES + chunks.length * 2 + deltaBytes
  const length = Math.ceil(unpadded / 4) * 4
  const out = new Uint8Array(length)
  const view = new DataView(out.buffer)
  const padding = length - unpadded
  out[0] = 0x80 | (padding > 0 ? 0x20 : 0) | TRANSPORT_CC_FMT
  out[1] = RTPFB
  view.setUint16(2, length / 4 - 1)
  view.setUint32(4, feedback.senderSsrc >>> 0)
  view.setUint32(8, feedback.mediaSsrc >>> 0)
  view.setUint16(12, baseSequence & 0xffff)
  view.setUint16(14, statusCount)
  const reference = feedback.referenceTime & 0xffffff
  out[16] = reference >> 16; out[17] = (reference >> 8) & 0xff; out[18] = reference & 0xff
  out[19] = feedback.feedbackCount & 0xff
  let offset = HEADER_BYTES
  for (const chunk of chunks) { view.setUint16(offset, chunk); offset += 2 }
  for (const delta of deltas) {
    if (delta >= 0 && delta <= 0xff) { out[offset] = delta; offset += 1 } else { view.setInt16(offset, delta); offset += 2 }
  }
  if (padding > 0) out[length - 1] = padding
  return out
}

/**
 * Greedy chunk encoding: a run of 14 or more of one status is a run-length
 * chunk; otherwise 14 one-bit symbols when the next 14 are all "not
 * received" or "small delta", else 7 two-bit symbols.
 */
function encodeChunks (statuses: Uint8Array): number[] {
  const chunks: number[] = []
  let i = 0
  while (i < statuses.length) {
    const symbol = statuses[i]
    let run = 1
    while (i + run < statuses.length && statuses[i + run] === symbol && run < MAX_RUN_LENGTH) run++
    if (run >= 14) {
      chunks.push((symbol << 13) | run)
      i += run
      continue
    }
    let oneBit = true
    for (let k = i; k < Math.min(i + 14, statuses.length); k++) if (statuses[k] > SMALL_DELTA) { oneBit = false; break }
    if (oneBit) {
      let chunk = 0x8000
      for (let k = 0; k < 14 && i + k < statuses.length; k++) chunk |= statuses[i + k] << (13 - k)
      chunks.push(chunk)
      i += 14
    } else {
      let chunk = 0xc000
      for (let k = 0; k < 7 && i + k < statuses.length; k++) chunk |= statuses[i + k] << (12 - 2 * k)
      chunks.push(chunk)
      i += 7
    }
  }
  return chunks
}
