/**
 * edge-stack/client: drive the local edged from a TypeScript (or JavaScript)
 * program, the same API edgectl uses.
 *
 * ```ts
 * import { EdgeClient } from 'edge-stack/client'
 * const edge = new EdgeClient()
 * console.log((await edge.status()).peerId)
 * ```
 */
export { EdgeClient, type EdgeClientInit } from './edge-client.ts'
export {
  createControlClient, DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_SINK,
  type ChannelMessage, type ChannelOpenOptions, type ControlClient, type ControlClientInit, type ControlEvent,
  type EventsEnd, type RequestOptions, type SendBody, type SendResponse, type SseOptions
} from './control-client.ts'
export { clientSocketPath, SYSTEM_SOCKET } from './socket-path.ts'
export { CHANNEL_MAX_MESSAGE_BYTES, CHANNEL_RECEIVE_QUEUE, type ChannelPayload, type ChannelSocket } from './channel-socket.ts'
export type {
  BrowserInfo, DaemonEvents, ErrorResponse, PeerInfo, PeersResponse, RemoteSource, SessionInfo, SessionsResponse,
  SourceControlRequest, SourceControlResult, SourcesResponse, StatusResponse, ViewerInfo, WatchesResponse, WatchInfo, WatchState, WatchStats
} from '../daemon/api-types.ts'
export { DaemonError, DaemonNotRunningError, EdgeError, ProtocolError, StreamClosedError, TimeoutError } from '../util/errors.ts'
