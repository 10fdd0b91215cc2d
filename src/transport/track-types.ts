import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { KeyFrameRequestKind } from '../rtp/rtcp-feedback.ts'
import type { SenderStatsSnapshot } from '../rtp/sender-stats.ts'
import type { BandwidthEstimate } from '../rtp/bwe-estimate.ts'
import type { CongestionStats } from './congestion-controller.ts'
import { trackCongestion, type TrackCongestion } from './track-congestion.ts'

export type { KeyFrameRequestKind, SenderStatsSnapshot, TrackCongestion }
export type TrackKind = 'video' | 'audio'
export type TrackCodec = 'h264' | 'vp8' | 'vp9' | 'av1' | 'opus'

/** One m-line: what both ends of a track agree on (the sender's values, sent to the receiver out of band). */
export interface TrackInit {
  /** The media section id, unique within the session (1-64 printable characters). */
  mid: string
  kind: TrackKind
  codec: TrackCodec
  payloadType: number
  /** The sender's SSRC (announced in the sender's description). */
  ssrc: number
  clockRate: number
  /**
   * Receiving end: ask for lost packets with RTCP NACK (the sender resends from
   * its history). The receiving half is then sendrecv in the SDP, as
   * libdatachannel sends no RTCP of ours from a recvonly track.
   */
  nack?: boolean
  /**
   * Sending end (video): congestion control for this consumer — pacing,
   * transport-wide sequence numbers, a bandwidth estimate from the
   * receiver's feedback, capped repairs (congestion-controller.ts).
   */
  congestion?: { minBitrateBps: number, maxBitrateBps: number }
}

export interface TrackStats {
  mid: string
  direction: 'send' | 'recv'
  codec: TrackCodec
  open: boolean
  packets: number
  bytes: number
  /** Send: packets not sent (track not open yet, or the stack refused them). */
  dropped: number
  /** Send: PLI/FIR received from the remote end; recv: PLIs sent to it. */
  keyFrameRequests: number
  /** Recv with NACK: packets asked for again, and those that came back. */
  nacks?: { requested: number, recovered: number }
  /** Recv (WebRTC): interarrival jitter of what came, ms (RFC 3550 A.8). */
  jitterMs?: number
  /** Send: the per-consumer figures (SendTrack.senderStats()), where the session lists its tracks. */
  sender?: SenderStatsSnapshot
  /** Send: congestion control's figures (estimate, queueing delay, pacer, repairs); null without congestion control. */
  congestion?: TrackCongestion | null
}

export interface SendTrackEvents {
  open: []
  /** The receiver asked for a key frame (RTCP PLI or FIR). */
  'keyframe-request': [KeyFrameRequestKind]
  /** With congestion control: what this consumer's link carries now, after each update from the receiver. */
  estimate: [BandwidthEstimate]
  close: []
}

/** The sending end of a track: write RTP packets in, SRTP goes out. */
export interface SendTrack extends TypedEmitter<SendTrackEvents> {
  readonly init: TrackInit
  readonly isOpen: boolean
  readonly isClosed: boolean
  /** Send one RTP packet (payload type and SSRC rewritten to the track's if they differ); false when not sent. */
  sendRtp: (packet: Uint8Array) => boolean
  stats: () => TrackStats
  /**
   * This consumer's figures: sent, the receiver's reports (loss, jitter, RTT),
   * NACKs, retransmissions, PLI/FIR; `targetBitrateKbps` is what feeds it (its
   * source's encoder target), when the caller knows it. Network tracks have
   * it; a track that goes nowhere on the network (AccessUnitTrack) need not.
   */
  senderStats?: (targetBitrateKbps?: number | null) => SenderStatsSnapshot
  /** With congestion control: the estimate, pacer and repair figures (undefined without). */
  congestionStats?: () => CongestionStats | undefined
  close: () => void
}

export interface RecvTrackEvents {
  open: []
  /** One RTP packet from the remote sender (RTCP is handled by the stack). */
  rtp: [packet: Buffer]
  close: []
}

/** The receiving end of a track. */
export interface RecvTrack extends TypedEmitter<RecvTrackEvents> {
  readonly init: TrackInit
  readonly isOpen: boolean
  readonly isClosed: boolean
  /** Send an RTCP PLI to the sender; false when the track is not open. */
  requestKeyFrame: () => boolean
  /** The sender stamps transport-wide sequence numbers in extension `extensionId`: send transport-cc feedback. */
  enableTransportCc?: (extensionId: number) => void
  stats: () => TrackStats
  close: () => void
}

/**
 * A track's stats as its session lists them: a send track's with its consumer
 * figures (`sender`) and its congestion control's (`congestion`, null without).
 */
export function trackStats (track: SendTrack | RecvTrack): TrackStats {
  const stats = track.stats()
  if (!('senderStats' in track) || track.senderStats === undefined) return stats
  const congestion = track.congestionStats?.()
  return { ...stats, sender: track.senderStats(), congestion: congestion === undefined ? null : trackCongestion(congestion) }
}
