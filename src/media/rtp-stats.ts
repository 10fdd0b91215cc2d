import type { Codec } from './codecs.ts'
import { isKeyFramePayload } from './rtp-keyframe.ts'
import { parseRtpHeader } from '../rtp/rtp-header.ts'
import { SequenceTracker } from '../rtp/sequence-tracker.ts'

export const BITRATE_WINDOW_MS = 1_000

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
  /** Loss as receiver reports count it (RFC 3550 A.1); a restarted sender starts it over. */
  readonly #sequence = new SequenceTracker()
  #ssrc: number | undefined
  #restarts = 0
  /** Loss counted before the sender last restarted. */
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
    this.#count(h.ssrc, h.sequenceNumber)
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

  #count (ssrc: number, seq: number): void {
    const lost = this.#lostSince()
    if (ssrc !== this.#ssrc) {
      this.#ssrc = ssrc
      this.#sequence.newSource(seq)
    }
    this.#sequence.update(seq)
    // restarted (a new SSRC, or a new sequence): bank the loss so far and count anew
    if (this.#sequence.restarts !== this.#restarts) {
      this.#restarts = this.#sequence.restarts
      this.#lostBefore += lost
    }
  }

  /** Loss since the sender last (re)started; duplicates never make it negative. */
  #lostSince (): number {
    return Math.max(0, this.#sequence.lost)
  }

  get lost (): number {
    return this.#lostBefore + this.#lostSince()
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
