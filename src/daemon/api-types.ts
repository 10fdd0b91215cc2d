/** Shapes of the control API's JSON bodies, shared by the daemon and edgectl. */
import type { PeerInfo } from '../signalling/types.ts'

export type { PeerInfo }

export interface StatusResponse {
  peerId: string
  name: string
  version: string
  swarm: string
  stack: string
  addresses: string[]
  /** The web listener's address (host:port) or null when it is off. */
  web: string | null
  pid: number
  uptimeS: number
  peers: number
  sessions: number
  config: string
}

export interface PeersResponse {
  peers: PeerInfo[]
}

export interface ErrorResponse {
  error: { name: string, message: string }
}

/** Events on /v1/events (SSE `event:` is the type, `data:` the JSON payload). */
export interface DaemonEvents {
  'peer:discovered': [PeerInfo]
  'peer:updated': [PeerInfo]
  'peer:lost': [PeerInfo]
}
