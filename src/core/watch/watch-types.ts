import type { RecordingInfo } from '../record/record-types.ts'
import type { TrackCongestion } from '../../transport/track-congestion.ts'

/** Shapes of watches (this daemon viewing a peer's source) and viewers (peers viewing ours) in the control API. */

export type WatchState =
  /** Waiting for a connected session with the peer. */
  | 'connecting'
  /** Asked the peer; waiting for its answer and the track. */
  | 'negotiating'
  | 'active'
  /** The session dropped; asking again on the next one (the sink keeps running). */
  | 'reconnecting'
  /** The peer refused or ended it (see error); the sink has stopped. */
  | 'failed'

export interface WatchStats {
  packets: number
  bytes: number
  /** Packets missing from the sequence. */
  lost: number
  /** lost / (packets + lost), 0..1. */
  lossRate: number
  bitrateKbps: number
  /** Distinct RTP timestamps received (video frames, Opus frames). */
  frames: number
  keyFrames: number
  /** Frames the count sink decoded (0 for file: and rtp:// sinks). */
  framesDecoded: number
  fps: number
  /** PLIs this end sent to the source. */
  keyFrameRequests: number
  /** Packets that came while the sink pipeline was not ready. */
  discarded: number
  sinkRestarts: number
  /** Lost packets asked for again with NACK (repeats count), and those that came back (this track only). */
  nacksSent: number
  retransmitsReceived: number
  /** Interarrival jitter of what the track received, ms (RFC 3550 A.8; what this end reports to the sender); 0 on a trusted session. */
  jitterMs: number
}

export interface WatchInfo {
  id: string
  peer: string
  source: string
  sink: string
  state: WatchState
  kind: 'video' | 'audio' | null
  codec: string | null
  error: { name: string, message: string } | null
  createdAt: string
  /** When the track last opened. */
  activeAt: string | null
  stats: WatchStats
}

export interface WatchesResponse {
  watches: WatchInfo[]
  /** MCAP recordings (edgectl record): a kind of watch, ended by DELETE /v1/watch/:id too. */
  recordings: RecordingInfo[]
}

/** A peer watching one of this daemon's sources. */
export interface ViewerInfo {
  id: string
  peer: string
  source: string
  /** The SSRC this viewer's track sends with: its own (announced in `watching`), not the source's. */
  ssrc: number
  open: boolean
  since: string
  packetsSent: number
  bytesSent: number
  /** Packets not sent (track not open yet or refused by the stack). */
  dropped: number
  /** PLI/FIR the viewer sent. */
  keyFrameRequests: number
  /** Congestion control of this viewer's track (adaptive video), else null. */
  congestion: ViewerCongestion | null
}

/** What the sender sees of one viewer's link (congestion-controller.ts), and the encoder target it leads to. */
export interface ViewerCongestion extends TrackCongestion {
  /** The source's encoder target now (kbit/s): the lowest viewer's estimate less headroom. */
  targetKbps: number | null
}
