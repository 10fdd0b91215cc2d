/** Shapes of recordings in the control API, and what a recording needs of the video feed. */

export type RecordingState =
  /** Writing; sources and channels come and go with the session (a remade session goes on in the same file). */
  | 'recording'
  /** A write failed (see error): the file stops there, unfinalised. */
  | 'failed'

export interface RecordedSourceInfo {
  source: string
  /** Access units written (one a frame). */
  frames: number
  /** The feed runs now (false while it is being asked for again: the source went away, the session is remade). */
  live: boolean
  /** Why the feed is not running, if it is not. */
  error: { name: string, message: string } | null
}

export interface RecordingInfo {
  id: string
  peer: string
  /** The MCAP file (absolute). */
  file: string
  state: RecordingState
  error: { name: string, message: string } | null
  createdAt: string
  sources: RecordedSourceInfo[]
  /** Channel labels recorded; null: every channel with the peer, as they appear. */
  channels: string[] | null
  stats: {
    /** Messages written to the file (video frames and channel messages). */
    messages: number
    bytes: number
    /** Channel messages (both ways) taken for the file. */
    channelMessages: number
    /** Messages lost because the disk fell behind. */
    dropped: number
  }
}

export interface RecordingsResponse {
  recordings: RecordingInfo[]
}

/** Body of POST /v1/record. */
export interface RecordRequest {
  peer: string
  /** H.264 video sources of the peer; default: all of them (from its presence). */
  sources?: string[]
  /** Channel labels; default: every channel with the peer. */
  channels?: string[]
  /** Absolute path of the new file, ending in .mcap. */
  out: string
}

/** One H.264 access unit from the video feed: Annex-B, with its RTP timestamp (90 kHz). */
export interface RecordedUnit {
  data: Uint8Array
  rtpTimestamp: number
  keyFrame: boolean
}

/** A running subscription to a source's access units. */
export interface VideoInputSubscription {
  close: () => void
  /** The feed ended without close() (the source went away, the peer ended the watch). */
  once: (event: 'end', listener: () => void) => unknown
}

/** Where recordings get video: the in-process video feed (one watch per peer's source, shared). */
export interface VideoInput {
  subscribe: (peer: string, source: string, onUnit: (unit: RecordedUnit) => void, client?: string) => Promise<VideoInputSubscription>
}
