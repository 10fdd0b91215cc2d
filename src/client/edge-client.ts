import type { PeersResponse, SessionInfo, SessionsResponse, SourceControlRequest, SourceControlResult, SourcesResponse, StatusResponse, WatchesResponse, WatchInfo } from '../daemon/api-types.ts'
import {
  createControlClient, type ChannelMessage, type ChannelOpenOptions, type ControlClient, type ControlClientInit,
  type ControlEvent, type EventsEnd, type RequestOptions, type SendBody, type SendResponse, type SseOptions
} from './control-client.ts'
import { clientSocketPath } from './socket-path.ts'
import type { ChannelSocket } from './channel-socket.ts'

export interface EdgeClientInit extends Partial<ControlClientInit> {}

/**
 * edged's control API for programs on the robot: HTTP/JSON over the daemon's
 * unix socket. Every method is one request; failures reject with an EdgeError:
 * `DaemonNotRunningError` when nobody answers on the socket, `DaemonError` when
 * edged answered with an error (its `remoteName` is the API's error name, such
 * as `NotFoundError` or `ConflictError`), `TimeoutError`, `ProtocolError`.
 *
 * ```ts
 * const edge = new EdgeClient()            // $EDGED_SOCKET, else the socket edgectl uses
 * const { peers } = await edge.peers()
 * await edge.send(peers[0].peerId, 'chat', { text: 'hello' })
 * ```
 */
export class EdgeClient implements ControlClient {
  /** The control socket this client talks to. */
  readonly socket: string
  private readonly client: ControlClient

  constructor (init: EdgeClientInit = {}) {
    this.socket = init.socket ?? clientSocketPath()
    this.client = createControlClient({ ...init, socket: this.socket })
  }

  /** Any control API call: JSON body in, parsed JSON out (undefined for an empty body). */
  async request<T = unknown> (method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
    return await this.client.request<T>(method, path, body, options)
  }

  /** This daemon: peer id, name, version, swarm, stack profile, addresses, web listener, counts. */
  async status (): Promise<StatusResponse> { return await this.client.status() }

  /** The swarm's other daemons, from their signed presence records. */
  async peers (): Promise<PeersResponse> { return await this.client.peers() }

  /** Every session: state, profile, selected pair, RTT, bytes, channels. */
  async sessions (): Promise<SessionsResponse> { return await this.client.sessions() }

  /** One peer's session (rejects with remoteName `NotFoundError` when there is none). */
  async session (peer: string): Promise<SessionInfo> { return await this.client.session(peer) }

  /** Ask for a session with the peer; it resolves at once (202), before the session is connected. */
  async connect (peer: string): Promise<SessionInfo> { return await this.client.connect(peer) }

  /** End the session with the peer; it stays disconnected until connected again. */
  async disconnect (peer: string): Promise<void> { await this.client.disconnect(peer) }

  /**
   * One message on a peer's channel (`{ text }` or `{ base64 }`); edged opens the
   * channel with `options` if it is not open. Resolves once edged has written it
   * into the channel (it waits while a reliable channel applies backpressure).
   */
  async send (peer: string, channel: string, body: SendBody, options?: ChannelOpenOptions): Promise<SendResponse> {
    return await this.client.send(peer, channel, body, options)
  }

  /** Follow any Server-Sent Events path until `signal` aborts or edged closes the stream. */
  async sse (path: string, onEvent: (event: ControlEvent) => void, signal?: AbortSignal, options?: SseOptions): Promise<EventsEnd> {
    return await this.client.sse(path, onEvent, signal, options)
  }

  /**
   * Follow the daemon's events (`peer:discovered`, `peer:updated`, `peer:lost`,
   * `session:state`) until `signal` aborts ('aborted') or edged stops ('closed').
   */
  async events (onEvent: (event: ControlEvent) => void, signal?: AbortSignal): Promise<EventsEnd> {
    return await this.client.events(onEvent, signal)
  }

  /** Follow every peer's messages on the channel with this label (text as `text`, binary as `base64`). */
  async messages (channel: string, onMessage: (message: ChannelMessage) => void, signal?: AbortSignal): Promise<EventsEnd> {
    return await this.client.messages(channel, onMessage, signal)
  }

  /**
   * A peer's data channel to send and receive on, text or binary, with the WebSocket's
   * backpressure (`send` resolves once written; edged stops reading while the channel
   * cannot take more). Opened on demand with `options` (lossy: `ordered: false` and
   * `maxRetransmits` or `maxPacketLifeTime`). A refusal (no connected session with the
   * peer, a bad label, too many channels) rejects `receive()` with a DaemonError naming it.
   *
   * ```ts
   * const chat = await edge.channel(peer, 'chat')
   * await chat.send('hello')
   * for await (const message of chat) console.log(message)
   * ```
   */
  async channel (peer: string, label: string, options?: ChannelOpenOptions): Promise<ChannelSocket> {
    return await this.client.channel(peer, label, options)
  }

  /** This daemon's sources (with their encoders), the swarm's, and who watches ours. */
  async sources (): Promise<SourcesResponse> { return await this.client.sources() }
  /** Change a running source of this daemon while it plays (bit rate in kbit/s, resolution, frame rate, a key frame now). */
  async controlSource (name: string, change: SourceControlRequest): Promise<SourceControlResult> { return await this.client.controlSource(name, change) }

  /**
   * Watch a peer's source into a sink: `count` (decode and count frames; the
   * default), `file:/abs/path.mkv` (record), `rtp://HOST:PORT` (re-expose as RTP).
   * Resolves once the watch is active.
   */
  async watch (peer: string, source: string, sink?: string): Promise<WatchInfo> { return await this.client.watch(peer, source, sink) }

  /** One watch with its stats: packets, frames, frames decoded, loss, bit rate. */
  async watchInfo (id: string): Promise<WatchInfo> { return await this.client.watchInfo(id) }

  /** Every watch of this daemon. */
  async watches (): Promise<WatchesResponse> { return await this.client.watches() }

  /** Stop a watch; a `file:` recording is finalised before this resolves. */
  async unwatch (id: string): Promise<void> { await this.client.unwatch(id) }
}
