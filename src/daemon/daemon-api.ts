import type { DaemonEvents, PeerInfo, StatusResponse } from './api-types.ts'
import type { TypedEmitter } from '../util/typed-emitter.ts'

/** What the control API's routes need from the daemon (and nothing more). */
export interface DaemonApi {
  status: () => StatusResponse
  peers: () => PeerInfo[]
  events: TypedEmitter<DaemonEvents>
}
