import type { Logger } from 'pino'

/** What travels over the signalling protocol for one session (transport's view). */
export type SessionSignal =
  | { type: 'offer', sdp: string }
  | { type: 'answer', sdp: string }
  | { type: 'candidate', candidate: string, mid: string }

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
  state: SessionState
  profile: StackProfile
  role: 'offerer' | 'answerer'
  pair: SelectedPair | null
  rttMs: number | null
  bytesSent: number
  bytesReceived: number
  channels: ChannelStats[]
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
}
