/** Shapes of the control API's JSON bodies, shared by the daemon and edgectl. */
import type { PeerInfo } from '../signalling/types.ts'
import type { SessionInfo } from '../core/sessions/session-info.ts'
import type { SourceControlResult, SourceInfo } from '../media/media-sources.ts'
import type { EncoderChoice } from '../media/encoder-probe.ts'
import type { ViewerInfo, WatchesResponse, WatchInfo, WatchState, WatchStats } from '../core/watch/watch-types.ts'

import type { RecordingInfo, RecordingsResponse, RecordRequest } from '../core/record/record-types.ts'
import type { ConsumerInfo, ProducerInfo } from '../core/media-router/router-info.ts'
import type { BrowserInfo } from '../web/browser-info.ts'

export type { PeerInfo, SessionInfo, ViewerInfo, WatchesResponse, WatchInfo, WatchState, WatchStats, RecordingInfo, RecordingsResponse, RecordRequest, ProducerInfo, ConsumerInfo, BrowserInfo }

export interface StatusResponse {
  peerId: string
  name: string
  version: string
  swarm: string
  stack: string
  addresses: string[]
  /** The web listener's address (host:port) or null when it is off. */
  web: string | null
  /** The Foxglove listener's address (host:port) or null when it is off. */
  foxglove: string | null
  pid: number
  uptimeS: number
  peers: number
  sessions: number
  config: string
}

/** Answer of POST /v1/reload: the keys applied live and the changed keys that wait for a restart. */
export interface ReloadResponse {
  /** The file re-read ("(defaults)" when edged runs without one). */
  config: string
  applied: string[]
  restartNeeded: string[]
}

export interface PeersResponse {
  peers: PeerInfo[]
}

export interface SessionsResponse {
  sessions: SessionInfo[]
  /**
   * Browser sessions on the web listener (WHEP players, WHIP publishers), with
   * their tracks: a player's send tracks are consumers like peers' (`sender`,
   * `congestion`). Empty when the web listener is off; absent from older daemons.
   */
  browsers?: BrowserInfo[]
}

export interface RemoteSource {
  peer: string
  peerName: string
  name: string
  kind: 'video' | 'audio'
  codec: string
}

export interface SourcesResponse {
  local: SourceInfo[]
  encoders: EncoderChoice[]
  /** Sources of the swarm's other daemons, from their presence records. */
  remote: RemoteSource[]
  /** Peers watching this daemon's sources. */
  viewers: ViewerInfo[]
  /** The media router: every stream this daemon sends now (one producer each) and where it goes (its consumers). */
  producers: ProducerInfo[]
}

/** POST /v1/sources/:name/control: at least one; `bitrate` in kbit/s, `framerate` in frames per second. */
export interface SourceControlRequest {
  bitrate?: number
  width?: number
  height?: number
  framerate?: number
  keyFrame?: boolean
}

export type { SourceControlResult }

export interface ErrorResponse {
  error: { name: string, message: string }
}

/** Events on /v1/events (SSE `event:` is the type, `data:` the JSON payload). */
export interface DaemonEvents {
  'peer:discovered': [PeerInfo]
  'peer:updated': [PeerInfo]
  'peer:lost': [PeerInfo]
  /** A session changed state (or was created, or ended). */
  'session:state': [SessionInfo]
}
