import type { Codec } from './codecs.ts'
import { isKeyFramePayload } from './rtp-keyframe.ts'
import { parseRtpHeader } from '../rtp/rtp-header.ts'

export const BITRATE_WINDOW_MS = 1_000
/** A sequence jump this large is a restarted sender, not loss. */
const MAX_DROPOUT = 3_000

export interface RtpStatsSnapshot {
  packets: number
  bytes: number
  /** Packets missing from the sequence (RFC 3550 cumulative loss; never negative). */
  lost: number
  /** Distinct RTP timestamps seen: frames for video, audio frames for Opus. */
  frames: number
  keyFrames: number
  /** Over the last second. */
  bitrateKbps: number
  lastPacketAt: number | null
  lastKeyFrameAt: number | null
}

/** Counts what flows through an RTP stream: packets, bytes, loss, frames, key frames, bit rate. */
export class RtpStats {
  readonly codec: Codec
  #packets = 0
  #bytes = 0
  #frames = 0
  #keyFrames = 0
  #lastTimestamp: number | undefined
  #lastKeyTimestamp: number | undefined
  #baseSeq = 0
  #maxSeq = 0
  #cycles = 0
  #received = 0
  #lostBefore = 0
  #lastPacketAt: number | null = null
  #lastKeyFrameAt: number | null = null
  #window: Array<[number, number]> = []

  constructor (codec: Codec) {
    this.codec = codec
  }

  /** Account one packet; returns true when it starts (or carries) a key frame. */
  add (packet: Uint8Array, now = Date.now()): boolean {
    const h = parseRtpHeader(packet)
    if (h === undefined) return false
    this.#packets++
    this.#bytes += packet.length
    this.#lastPacketAt = now
    this.#window.push([now, packet.length])
    this.#trackSequence(h.sequenceNumber)
    if (h.timestamp !== this.#lastTimestamp) {
      this.#frames++
      this.#lastTimestamp = h.timestamp
    }
    const key = isKeyFramePayload(this.codec, packet.subarray(h.payloadOffset, h.payloadEnd))
    if (key && h.timestamp !== this.#lastKeyTimestamp) {
      this.#keyFrames++
      this.#lastKeyTimestamp = h.timestamp
      this.#lastKeyFrameAt = now
      return true
    }
    return false
  }

  #trackSequence (seq: number): void {
    if (this.#received === 0) {
      this.#baseSeq = seq
      this.#maxSeq = seq
      this.#received = 1
      return
    }
    const delta = (seq - this.#maxSeq + 0x10000) % 0x10000
    if (delta > 0 && delta < MAX_DROPOUT) {
      if (seq < this.#maxSeq) this.#cycles += 0x10000
      this.#maxSeq = seq
    } else if (delta >= MAX_DROPOUT && delta < 0x10000 - 100) {
      // restarted sender: bank the loss so far and start counting anew
      this.#lostBefore = this.lost
      this.#baseSeq = seq
      this.#maxSeq = seq
      this.#cycles = 0
      this.#received = 0
    }
    this.#received++
  }

  get lost (): number {
    if (this.#received === 0) return this.#lostBefore
    const expected = this.#cycles + this.#maxSeq - this.#baseSeq + 1
    return this.#lostBefore + Math.max(0, expected - this.#received)
  }

  bitrateKbps (now = Date.now()): number {
    while (this.#window.length > 0 && this.#window[0][0] <= now - BITRATE_WINDOW_MS) this.#window.shift()
    const bytes = this.#window.reduce((sum, [, size]) => sum + size, 0)
    return Math.round(bytes * 8 / BITRATE_WINDOW_MS)
  }

  snapshot (now = Date.now()): RtpStatsSnapshot {
    return {
      packets: this.#packets,
      bytes: this.#bytes,
      lost: this.lost,
      frames: this.#frames,
      keyFrames: this.#keyFrames,
      bitrateKbps: this.bitrateKbps(now),
      lastPacketAt: this.#lastPacketAt,
      lastKeyFrameAt: this.#lastKeyFrameAt
    }
  }
}
