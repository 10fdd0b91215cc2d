import type { Logger } from 'pino'
import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { RecvTrack, SendTrack, TrackInit, TrackStats } from './track-types.ts'

export type { RecvTrack, SendTrack, TrackInit }

/** What travels over the signalling protocol for one session (transport's view). */
export type SessionSignal =
  /** `sdp` for the PeerConnection profiles; `params` (UDP address, no SDP) for trusted (see trusted-params.ts). */
  | { type: 'offer', sdp?: string, params?: SignalParams }
  | { type: 'answer', sdp?: string, params?: SignalParams }
  | { type: 'candidate', candidate: string, mid: string }

/** Profile-specific parameters of an offer or answer (trusted: host and port). */
export type SignalParams = Record<string, string | number>

export type SessionState = 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed'

export type StackProfile = 'webrtc' | 'media' | 'data' | 'trusted'

export interface ChannelOptions {
  ordered: boolean
  maxRetransmits?: number
  maxPacketLifeTime?: number
}

export interface IceServerConfig {
  urls: string
  username?: string
  credential?: string
}

export interface SelectedPair {
  local: { type: string, address: string, port: number, transport: string }
  remote: { type: string, address: string, port: number, transport: string }
}

export interface SessionStats {
  remotePeer: string
  state: SessionState
  profile: StackProfile
  role: SessionRole
  pair: SelectedPair | null
  rttMs: number | null
  bytesSent: number
  bytesReceived: number
  channels: ChannelStats[]
  /** The m= sections of the local and remote descriptions ("audio", "video", "application"); empty for `trusted`. */
  sections: { local: string[], remote: string[] }
  /** Its media tracks (mid = the watch id): send tracks carry `sender`, the consumer's figures. */
  tracks: TrackStats[]
  createdAt: string
  connectedAt: string | null
}

export interface ChannelStats {
  label: string
  ordered: boolean
  maxRetransmits?: number
  maxPacketLifeTime?: number
  open: boolean
  messagesSent: number
  messagesReceived: number
  bytesSent: number
  bytesReceived: number
  bufferedAmount: number
  /** Messages dropped because a lossy channel's queue was full. */
  dropped: number
  /** Messages waiting in a lossy channel's queue. */
  queued: number
}

export type SessionRole = 'offerer' | 'answerer'

/** A DTLS certificate fingerprint as in SDP `a=fingerprint:` (algorithm lower case, value upper-case hex with colons). */
export interface Fingerprint {
  algorithm: string
  value: string
}

/** Send-side buffering of a data channel. */
export interface ChannelLimits {
  /** Reliable channels: write() waits, and send() returns false, while the send buffer holds this many bytes or more (default 1 MiB). */
  highWaterMark: number
  /** Reliable channels: a waiting write() resumes once the send buffer has drained to this many bytes (default 256 KiB). */
  lowWaterMark: number
  /** Lossy channels: send-buffer level above which messages wait in the drop-oldest queue (default 64 KiB: lossy data is about freshness). */
  lossyHighWaterMark: number
  /** Lossy channels: messages held while the send buffer is full; the oldest is dropped beyond this (default 64). */
  lossyQueueLength: number
}

export interface ChannelEvents {
  open: []
  message: [data: string | Buffer]
  close: []
}

/** One data channel of a PeerSession. */
export interface Channel extends TypedEmitter<ChannelEvents> {
  readonly label: string
  readonly options: ChannelOptions
  /** Lossy channels (maxRetransmits or maxPacketLifeTime set) drop instead of waiting. */
  readonly lossy: boolean
  readonly isOpen: boolean
  readonly isClosed: boolean
  /**
   * The far end dropped this channel as it arrived, without taking it: both
   * ends opened its label at once in one session and the far end's channel
   * won (see the sessions' glare rule). Nothing sent on it reached the far
   * end's programs, nothing came on it from them. Set before its close.
   */
  readonly refused: boolean
  /** Largest message the remote end accepts (from SDP a=max-message-size). */
  readonly maxMessageSize: number
  readonly bufferedAmount: number
  /** Set when the stack refused to create the channel (it closed without ever opening); why. */
  readonly failure?: string
  /**
   * Hand a message to the stack without waiting. Reliable channels always take
   * it and return false once the send buffer is at or over highWaterMark (like
   * stream.write). Lossy channels queue it while the buffer is full, dropping
   * the oldest queued message beyond lossyQueueLength, and return false when it
   * was queued rather than sent.
   */
  send: (data: string | Uint8Array) => boolean
  /** Reliable channels: wait for open and for the send buffer to drain below highWaterMark, then send. Lossy: as send(). */
  write: (data: string | Uint8Array) => Promise<void>
  close: () => void
  stats: () => ChannelStats
}

export interface PeerSessionInit {
  /** Remote peer id (logs, stats). */
  remotePeer: string
  role: SessionRole
  profile: StackProfile
  iceServers?: IceServerConfig[]
  portRange?: { min: number, max: number }
  /** Bind ICE to this local address (tests: 127.0.0.1). */
  bindAddress?: string
  /** RTP/SCTP MTU (libdatachannel drops RTP packets above it). */
  mtu?: number
  /** Largest message this end accepts, announced as a=max-message-size. */
  maxMessageSize?: number
  /** Channels the offerer opens at start; the answerer receives them through 'channel' (attach 'message' listeners there). */
  channels?: Record<string, ChannelOptions>
  channelLimits?: Partial<ChannelLimits>
  /**
   * The offerer signals its own candidates once its ICE is connected, or this
   * long after the answer (default 250 ms), so that it finishes ICE first (see
   * peer-session.ts). Only a NAT in front of the answerer makes this wait count.
   */
  candidateHoldMs?: number
  /** Not connected by then (default 30 s): the session fails and closes. */
  connectTimeoutMs?: number
  /** Hands a local description or candidate to the signalling layer. */
  sendSignal: (signal: SessionSignal) => void
  logger: Logger
}

export interface PeerSessionEvents {
  state: [SessionState]
  /** A data channel is open (opened by either side). */
  channel: [Channel]
  close: []
}

/** One PeerConnection to one remote peer. */
export interface PeerSession extends TypedEmitter<PeerSessionEvents> {
  readonly remotePeer: string
  readonly role: SessionRole
  readonly profile: StackProfile
  readonly state: SessionState
  /** Apply a remote offer, answer or candidate; bad input throws InvalidSignalError and changes nothing. */
  handleSignal: (signal: SessionSignal) => void
  /**
   * Open a channel (either side). It is created at once, or, on an answerer before
   * the offer and on either side while SCTP is coming up, as soon as that is safe;
   * 'channel' and the channel's 'open' tell when it is usable.
   */
  openChannel: (label: string, options?: ChannelOptions) => Channel
  channel: (label: string) => Channel | undefined
  channels: () => Channel[]
  /**
   * Add a media section that sends RTP (SSRC announced). Both ends add their
   * side of a track (send here, addRecvTrack there, same mid) before the offer
   * that carries it; then the offerer calls negotiate(). Throws ConflictError
   * when the profile has no media, the mid is taken or the SDP is full.
   */
  addSendTrack: (init: TrackInit) => SendTrack
  /** Add a media section that receives RTP (RTCP receiver reports and PLI from this end). */
  addRecvTrack: (init: TrackInit) => RecvTrack
  /** Offerer only: make a new offer for the tracks added or closed (queued while one is out). */
  negotiate: () => void
  stats: () => SessionStats
  /** The path in use (what stats() reports as `pair`), without the rest of the stats' work. */
  pair: () => SelectedPair | null
  localFingerprint: () => Fingerprint | null
  /** The fingerprint of the certificate the remote end presented in DTLS (null before that). */
  remoteFingerprint: () => Fingerprint | null
  /** Closes the channels, then the PeerConnection; emits 'close' once. Idempotent. */
  close: () => void
}
