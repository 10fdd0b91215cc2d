import { parseRtpHeader } from './rtp-header.ts'

/** Largest access unit put together (a 1080p key frame is well under 1 MiB); a bigger one is dropped. */
export const MAX_ACCESS_UNIT_BYTES = 4 * 1024 * 1024

/** A packet this far behind the last one is late (dropped); further behind, the sequence restarted. */
const MAX_REORDER = 100
const START_CODE = Buffer.from([0, 0, 0, 1])
const NAL_IDR = 5
const NAL_SPS = 7
const NAL_PPS = 8
const NAL_AUD = 9
const STAP_A = 24
const FU_A = 28

/** One coded H.264 picture: its NAL units as an Annex-B byte stream. */
export interface AccessUnit {
  /** The NAL units, each after a 4-byte start code (00 00 00 01). */
  data: Buffer
  /** The RTP timestamp of its packets (90 kHz for video). */
  rtpTimestamp: number
  /** Wall-clock time (ms since the epoch) its first packet arrived. */
  receivedAt: number
  /** It holds an IDR picture: a decoder can start here. */
  keyFrame: boolean
}

export interface H264DepacketizerInit {
  /**
   * A packet was lost (sequence gap) or a unit could not be put together: the
   * depacketizer now drops units until the next key frame, and the caller
   * should ask the sender for one (PLI).
   */
  onKeyFrameNeeded?: () => void
  maxUnitBytes?: number
}

export interface H264DepacketizerStats {
  units: number
  keyFrames: number
  /** Units dropped: broken by loss or bad payloads, too big, or while waiting for a key frame. */
  dropped: number
  /** Packets that were not RTP or not H.264 payloads we take. */
  invalid: number
  /** Sequence gaps seen. */
  gaps: number
}

interface PendingUnit {
  timestamp: number
  receivedAt: number
  nals: Buffer[]
  bytes: number
  keyFrame: boolean
  broken: boolean
}

/**
 * H.264 RTP payloads (RFC 6184, packetization-mode 1: single NAL unit, STAP-A,
 * FU-A) back into access units. A unit ends on the RTP marker bit or when the
 * timestamp changes. A sequence gap drops the unit it hits and every unit after
 * it until a key frame, so what comes out always decodes; the first unit out is
 * a key frame. Packets out of order count as loss (no jitter buffer here).
 * Never throws on what it is given.
 */
export class H264Depacketizer {
  readonly #onKeyFrameNeeded: (() => void) | undefined
  readonly #maxUnitBytes: number
  #unit: PendingUnit | undefined
  /** FU-A fragments of the NAL unit being put together. */
  #fragments: Buffer[] | undefined
  #fragmentBytes = 0
  #lastSeq: number | undefined
  #ssrc: number | undefined
  #waitingForKeyFrame = true
  readonly stats: H264DepacketizerStats = { units: 0, keyFrames: 0, dropped: 0, invalid: 0, gaps: 0 }

  constructor (init: H264DepacketizerInit = {}) {
    this.#onKeyFrameNeeded = init.onKeyFrameNeeded
    this.#maxUnitBytes = init.maxUnitBytes ?? MAX_ACCESS_UNIT_BYTES
  }

  /** True until the next key frame (at the start and after a loss). */
  get waitingForKeyFrame (): boolean { return this.#waitingForKeyFrame }

  /** One RTP packet in; the access units it completes out (zero, one, or two when it also closed the one before). */
  push (packet: Uint8Array, now = Date.now()): AccessUnit[] {
    const header = parseRtpHeader(packet)
    if (header === undefined || header.payloadEnd <= header.payloadOffset) {
      this.stats.invalid++
      return []
    }
    const out: AccessUnit[] = []
    const seq = header.sequenceNumber
    if (this.#ssrc !== header.ssrc) {
      // Another sender (the peer's source restarted, a session was remade): start over at a key frame.
      if (this.#ssrc !== undefined) this.#lose()
      this.#ssrc = header.ssrc
    } else if (this.#lastSeq !== undefined) {
      const delta = (seq - this.#lastSeq) & 0xffff
      // A repeat, or a packet from just before the last one: already counted as lost.
      if (delta === 0 || delta > 0x10000 - MAX_REORDER) return []
      if (delta !== 1) {
        this.stats.gaps++
        this.#lose()
      }
    }
    this.#lastSeq = seq
    if (this.#unit !== undefined && this.#unit.timestamp !== header.timestamp) this.#finish(out)
    this.#unit ??= { timestamp: header.timestamp, receivedAt: now, nals: [], bytes: 0, keyFrame: false, broken: false }
    this.#payload(Buffer.from(packet.buffer, packet.byteOffset + header.payloadOffset, header.payloadEnd - header.payloadOffset))
    if (header.marker) this.#finish(out)
    return out
  }

  /** Forget everything (the stream restarted); the next unit out is a key frame. */
  reset (): void {
    this.#unit = undefined
    this.#fragments = undefined
    this.#lastSeq = undefined
    this.#ssrc = undefined
    this.#waitingForKeyFrame = true
  }

  #payload (p: Buffer): void {
    const unit = this.#unit as PendingUnit
    const type = p[0] & 0x1f
    if ((p[0] & 0x80) !== 0) { // forbidden_zero_bit
      this.#bad(unit)
      return
    }
    if (type >= 1 && type <= 23) {
      this.#fragments = undefined
      this.#add(unit, p)
    } else if (type === STAP_A) {
      this.#fragments = undefined
      for (let o = 1; o < p.length;) {
        if (o + 2 > p.length) { this.#bad(unit); return }
        const size = p.readUInt16BE(o)
        if (size === 0 || o + 2 + size > p.length) { this.#bad(unit); return }
        this.#add(unit, p.subarray(o + 2, o + 2 + size))
        o += 2 + size
      }
    } else if (type === FU_A) {
      if (p.length < 3) { this.#bad(unit); return }
      const start = (p[1] & 0x80) !== 0
      const end = (p[1] & 0x40) !== 0
      if (start) {
        this.#fragments = [Buffer.from([(p[0] & 0xe0) | (p[1] & 0x1f)]), p.subarray(2)]
        this.#fragmentBytes = p.length - 1
      } else if (this.#fragments !== undefined) {
        this.#fragments.push(p.subarray(2))
        this.#fragmentBytes += p.length - 2
      } else {
        // A middle or end without its start (lost before a gap we saw, or a bad sender).
        this.#bad(unit)
        return
      }
      if (unit.bytes + this.#fragmentBytes > this.#maxUnitBytes) {
        this.#fragments = undefined
        this.#bad(unit)
        return
      }
      if (end) {
        const nal = Buffer.concat(this.#fragments, this.#fragmentBytes)
        this.#fragments = undefined
        this.#add(unit, nal)
      }
    } else {
      // STAP-B, MTAP, FU-B (not in packetization-mode 1) and reserved types.
      this.#bad(unit)
    }
  }

  #add (unit: PendingUnit, nal: Buffer): void {
    if (unit.broken) return
    if (unit.bytes + START_CODE.length + nal.length > this.#maxUnitBytes) {
      this.#bad(unit)
      return
    }
    if ((nal[0] & 0x1f) === NAL_IDR) unit.keyFrame = true
    unit.nals.push(START_CODE, nal)
    unit.bytes += START_CODE.length + nal.length
  }

  #bad (unit: PendingUnit): void {
    this.stats.invalid++
    if (!unit.broken) this.#lose()
  }

  /** Loss: the unit being put together is broken, and so is every one until a key frame. */
  #lose (): void {
    this.#fragments = undefined
    if (this.#unit !== undefined) {
      this.#unit.broken = true
      this.#unit.nals = []
    }
    this.#waitingForKeyFrame = true
    this.#onKeyFrameNeeded?.()
  }

  #finish (out: AccessUnit[]): void {
    const unit = this.#unit
    this.#unit = undefined
    // A NAL unit cut by the end of its access unit (its FU-A end never came).
    const cut = this.#fragments !== undefined
    this.#fragments = undefined
    if (unit === undefined) return
    if (unit.broken || cut || unit.nals.length === 0 || (this.#waitingForKeyFrame && !unit.keyFrame)) {
      this.stats.dropped++
      if (cut && !unit.broken) this.#lose()
      return
    }
    this.#waitingForKeyFrame = false
    this.stats.units++
    if (unit.keyFrame) this.stats.keyFrames++
    const nals = parameterSetsFirst(unit.nals)
    out.push({ data: Buffer.concat(nals, nals.reduce((n, b) => n + b.length, 0)), rtpTimestamp: unit.timestamp, receivedAt: unit.receivedAt, keyFrame: unit.keyFrame })
  }
}

/**
 * The unit's NAL units (each after its start code) with SPS and PPS moved
 * before its first slice, repeats dropped. rtph264pay (config-interval=-1)
 * puts them before every IDR slice, so a picture in several slices has them
 * between its slices, where a decoder takes them for the start of a new
 * picture (h264parse then splits one frame into two).
 */
function parameterSetsFirst (chunks: Buffer[]): Buffer[] {
  const params: Buffer[] = []
  const rest: Buffer[] = []
  let moved = false
  for (let i = 0; i + 1 < chunks.length; i += 2) {
    const nal = chunks[i + 1]
    const type = nal[0] & 0x1f
    if (type === NAL_SPS || type === NAL_PPS) {
      if (rest.some(n => isSlice(n[0] & 0x1f))) moved = true
      if (!params.some(p => p.equals(nal))) params.push(nal)
      else moved = true
    } else {
      rest.push(nal)
    }
  }
  if (!moved) return chunks
  // An access unit delimiter stays first.
  const aud = rest[0] !== undefined && (rest[0][0] & 0x1f) === NAL_AUD ? [rest.shift() as Buffer] : []
  return [...aud, ...params, ...rest].flatMap(n => [START_CODE, n])
}

function isSlice (type: number): boolean {
  return type >= 1 && type <= 5
}
