import type { ChannelStats, SelectedPair, SessionRole, SessionState, StackProfile } from '../../transport/types.ts'
import type { TrackStats } from '../../transport/track-types.ts'

/** A session as the control API shows it (GET /v1/sessions). */
export interface SessionInfo {
  peer: string
  /** The peer's node name from its presence, if known. */
  name: string | null
  /** Current negotiation's id (a new one per PeerConnection). */
  session: string | null
  state: SessionState | 'idle'
  profile: StackProfile
  role: SessionRole | null
  pair: SelectedPair | null
  rttMs: number | null
  bytesSent: number
  bytesReceived: number
  channels: Array<ChannelStats & {
    /** Messages handed to local programs (WebSocket, listen). */
    localDelivered?: number
    /** Messages dropped on the way to local programs (nobody listening for long, or too slow on a lossy channel). */
    localDropped?: number
    consumers?: number
  }>
  /** The m= sections of the local and remote descriptions: what the stack profile negotiated (none for `trusted`). */
  sections: { local: string[], remote: string[] }
  /**
   * Its media tracks. A send track is one consumer of a source: `sender` has
   * its figures (sent, the receiver's loss/jitter/RTT, NACKs, PLI/FIR), and
   * `source` names what feeds it (the control API fills it in).
   */
  tracks: Array<TrackStats & { source?: string }>
  connectedAt: string | null
  /** PeerConnections made for this peer so far (reconnects add one each). */
  attempts: number
  lastError: { code: string, message: string } | null
  /** The standby PeerConnection beside this session (rtc.standby), if there is one. */
  standby?: StandbyInfo | null
  /** Times the traffic moved onto a standby path (failovers). */
  failovers?: number
}

/** A standby path as the control API shows it. */
export interface StandbyInfo {
  session: string
  state: SessionState
  pair: SelectedPair | null
  /** The local address its PeerConnection is bound to (another interface than the active path's), or null. */
  bindAddress: string | null
  /** Its heartbeat is heard: a failover to it would work now. */
  alive: boolean
}
