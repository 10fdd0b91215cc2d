import http from 'node:http'
import type { ErrorResponse, PeersResponse, SessionInfo, SessionsResponse, SourceControlRequest, SourceControlResult, SourcesResponse, StatusResponse, WatchesResponse, WatchInfo } from '../daemon/api-types.ts'
import { SSE_HEARTBEAT_MS } from '../daemon/routes/events.ts'
import { WRITE_WAIT_MS } from '../core/sessions/channel-endpoint.ts'
import { DaemonError, DaemonNotRunningError, EdgeError, ProtocolError, TimeoutError } from '../util/errors.ts'
import { SseParser } from './sse-parser.ts'
import { openChannelSocket, type ChannelSocket } from './channel-socket.ts'

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
/** edged holds a send up to WRITE_WAIT_MS while the channel opens or reconnects: wait longer than that. */
export const SEND_TIMEOUT_MS = WRITE_WAIT_MS + 5_000
/** Silence this long on the event stream (no event, no heartbeat) means edged hangs. */
export const EVENTS_IDLE_TIMEOUT_MS = 3 * SSE_HEARTBEAT_MS
/** POST /v1/watch waits up to 8 s for the watch to start, DELETE for a recording to be finalised. */
export const WATCH_TIMEOUT_MS = 15_000
/** What `watch()` decodes into when no sink is given: decode and count frames. */
export const DEFAULT_SINK = 'count'

/** Socket errors that mean nobody (we may talk to) listens on the control socket. */
const NOT_RUNNING_CODES = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'ENOTSOCK', 'EACCES', 'EPERM'])

export interface ControlClientInit {
  /** The control socket's path (see clientSocketPath for the one edgectl uses). */
  socket: string
  /** How long a request may wait for its answer (default DEFAULT_REQUEST_TIMEOUT_MS). */
  timeoutMs?: number
}

export interface RequestOptions {
  timeoutMs?: number
}

/** An event from an SSE stream (/v1/events, /v1/messages); `data` is the parsed JSON payload (the raw text if it is not JSON). */
export interface ControlEvent {
  type: string
  data: unknown
  id?: string
}

/** Why `events()` (or any `sse()` stream) returned: the caller aborted, or edged ended the stream (it is stopping). */
export type EventsEnd = 'aborted' | 'closed'

export interface SseOptions {
  /** Silence (no event, no comment) this long fails the stream with a TimeoutError; 0 waits forever. */
  idleTimeoutMs?: number
}

/** A data channel message from GET /v1/messages: text stays text, binary comes as base64. */
export type ChannelMessage =
  | { peer: string, channel: string, text: string }
  | { peer: string, channel: string, base64: string }

/** Body of POST /v1/channels/:peer/:label. */
export type SendBody = { text: string } | { base64: string }

/** Answer of POST /v1/channels/:peer/:label (202). */
export interface SendResponse {
  peer: string
  channel: string
  bytes: number
}

/** How to open the channel if it is not open yet (query of POST /v1/channels/:peer/:label). */
export interface ChannelOpenOptions {
  ordered?: boolean
  maxRetransmits?: number
  maxPacketLifeTime?: number
}

export interface ControlClient {
  readonly socket: string
  /** Any control API call: JSON body in, parsed JSON out (undefined for an empty body). */
  request: <T = unknown>(method: string, path: string, body?: unknown, options?: RequestOptions) => Promise<T>
  status: () => Promise<StatusResponse>
  peers: () => Promise<PeersResponse>
  sessions: () => Promise<SessionsResponse>
  session: (peer: string) => Promise<SessionInfo>
  /** Ask for a session with the peer (202: it is on its way, not yet connected). */
  connect: (peer: string) => Promise<SessionInfo>
  disconnect: (peer: string) => Promise<void>
  /** One message on a peer's channel; edged opens the channel with `options` if needed. */
  send: (peer: string, channel: string, body: SendBody, options?: ChannelOpenOptions) => Promise<SendResponse>
  /** Follow any Server-Sent Events path until `signal` aborts or edged closes the stream. */
  sse: (path: string, onEvent: (event: ControlEvent) => void, signal?: AbortSignal, options?: SseOptions) => Promise<EventsEnd>
  /** Follow /v1/events until `signal` aborts or edged closes the stream. */
  events: (onEvent: (event: ControlEvent) => void, signal?: AbortSignal) => Promise<EventsEnd>
  /** Follow the messages of every peer's channel with this label (GET /v1/messages). */
  messages: (channel: string, onMessage: (message: ChannelMessage) => void, signal?: AbortSignal) => Promise<EventsEnd>
  /**
   * A peer's data channel to send and receive on (a WebSocket); edged opens the
   * channel with `options` if it is not open. Resolves once the socket is open;
   * a refusal (no session, a bad label) rejects the first `receive()`.
   */
  channel: (peer: string, label: string, options?: ChannelOpenOptions) => Promise<ChannelSocket>
  /** This daemon's sources, the swarm's, and who watches ours. */
  sources: () => Promise<SourcesResponse>
  /** Change a running source of this daemon while it plays (bit rate in kbit/s, resolution, frame rate, a key frame now). */
  controlSource: (name: string, change: SourceControlRequest) => Promise<SourceControlResult>
  /**
   * Watch a peer's source into a sink: `count` (decode and count frames, the default),
   * `file:PATH` (record; an absolute path, edged resolves it) or `rtp://HOST:PORT`. Resolves once it is active.
   */
  watch: (peer: string, source: string, sink?: string) => Promise<WatchInfo>
  /** One watch with its stats (packets, frames decoded, loss, ...). */
  watchInfo: (id: string) => Promise<WatchInfo>
  watches: () => Promise<WatchesResponse>
  /** Stop a watch; a file: recording is finalised before this resolves. */
  unwatch: (id: string) => Promise<void>
}

function parseJson (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}

function isErrorResponse (body: unknown): body is ErrorResponse {
  const error = (body as ErrorResponse | undefined)?.error
  return typeof error?.name === 'string' && typeof error?.message === 'string'
}

function isChannelMessage (data: unknown): data is ChannelMessage {
  const m = data as Record<string, unknown> | null
  return typeof m?.peer === 'string' && typeof m.channel === 'string' && (typeof m.text === 'string' || typeof m.base64 === 'string')
}

function channelQuery (options: ChannelOpenOptions): string {
  const query = new URLSearchParams()
  if (options.ordered === false) query.set('ordered', 'false')
  if (options.maxRetransmits !== undefined) query.set('maxRetransmits', String(options.maxRetransmits))
  if (options.maxPacketLifeTime !== undefined) query.set('maxPacketLifeTime', String(options.maxPacketLifeTime))
  const text = query.toString()
  return text === '' ? '' : `?${text}`
}

const enc = encodeURIComponent

function httpError (status: number, text: string): DaemonError {
  const body = parseJson(text)
  if (isErrorResponse(body)) return new DaemonError(status, body.error.name, body.error.message)
  return new DaemonError(status, `HTTP${status}`, text.trim().slice(0, 500) || http.STATUS_CODES[status] || 'error')
}

/** Typed client for edged's control API: HTTP/JSON over its unix socket. */
export function createControlClient (init: ControlClientInit): ControlClient {
  const socket = init.socket
  const defaultTimeout = init.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS

  const connectionError = (err: NodeJS.ErrnoException, what: string): Error => {
    if (err instanceof EdgeError) return err
    const code = err.code ?? ''
    if (NOT_RUNNING_CODES.has(code)) return new DaemonNotRunningError(socket, code, { cause: err })
    return new ProtocolError(`connection to edged failed during ${what} (socket ${socket}): ${err.message}`, 'control')
  }

  const open = (method: string, path: string, headers: http.OutgoingHttpHeaders, timeoutMs: number): http.ClientRequest => {
    const req = http.request({ socketPath: socket, method, path, headers, agent: false, timeout: timeoutMs })
    req.on('timeout', () => {
      req.destroy(new TimeoutError(`edged did not answer ${method} ${path} within ${timeoutMs} ms (socket ${socket})`))
    })
    return req
  }

  const request = async <T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> => {
    const what = `${method} ${path}`
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' }
    if (payload !== undefined) headers['content-type'] = 'application/json'
    return await new Promise<T>((resolve, reject) => {
      const req = open(method, path, headers, options.timeoutMs ?? defaultTimeout)
      req.on('error', err => { reject(connectionError(err, what)) })
      req.on('response', res => {
        res.setEncoding('utf8')
        let text = ''
        res.on('data', (chunk: string) => { text += chunk })
        res.on('error', err => { reject(connectionError(err, what)) })
        res.on('end', () => {
          const status = res.statusCode ?? 0
          if (status >= 400) { reject(httpError(status, text)); return }
          if (text === '') { resolve(undefined as T); return }
          const parsed = parseJson(text)
          if (parsed === undefined) reject(new ProtocolError(`edged sent invalid JSON for ${what}`, 'control'))
          else resolve(parsed as T)
        })
      })
      req.end(payload)
    })
  }

  const sse = async (path: string, onEvent: (event: ControlEvent) => void, signal?: AbortSignal, options: SseOptions = {}): Promise<EventsEnd> => {
    if (signal?.aborted === true) return 'aborted'
    const what = `GET ${path}`
    return await new Promise<EventsEnd>((resolve, reject) => {
      const req = open('GET', path, { accept: 'text/event-stream' }, defaultTimeout)
      let settled = false
      const finish = (end: EventsEnd | Error): void => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        req.destroy()
        if (end instanceof Error) reject(end)
        else resolve(end)
      }
      const onAbort = (): void => { finish('aborted') }
      signal?.addEventListener('abort', onAbort, { once: true })

      req.on('error', err => { finish(connectionError(err, what)) })
      req.on('response', res => {
        res.setEncoding('utf8')
        const status = res.statusCode ?? 0
        if (status !== 200) {
          let text = ''
          res.on('data', (chunk: string) => { text += chunk })
          res.on('end', () => { finish(status >= 400 ? httpError(status, text) : new ProtocolError(`unexpected HTTP ${status} for ${what}`, 'control')) })
          return
        }
        req.setTimeout(options.idleTimeoutMs ?? EVENTS_IDLE_TIMEOUT_MS)
        const parser = new SseParser(event => {
          const data = parseJson(event.data)
          const out: ControlEvent = { type: event.type, data: data === undefined ? event.data : data }
          if (event.id !== undefined) out.id = event.id
          onEvent(out)
        })
        res.on('data', (chunk: string) => {
          try { parser.push(chunk) } catch (err) { finish(err as Error) }
        })
        // A daemon that dies mid-stream resets the connection: for a follower that is an end, not a failure.
        res.on('error', err => { finish(err instanceof EdgeError ? err : 'closed') })
        res.on('end', () => { finish('closed') })
        res.on('close', () => { finish('closed') })
      })
      req.end()
    })
  }

  return {
    socket,
    request,
    status: async () => await request<StatusResponse>('GET', '/v1/status'),
    peers: async () => await request<PeersResponse>('GET', '/v1/peers'),
    sessions: async () => await request<SessionsResponse>('GET', '/v1/sessions'),
    session: async peer => await request<SessionInfo>('GET', `/v1/sessions/${enc(peer)}`),
    connect: async peer => await request<SessionInfo>('POST', '/v1/sessions', { peer }),
    disconnect: async peer => { await request('DELETE', `/v1/sessions/${enc(peer)}`) },
    send: async (peer, channel, body, options = {}) =>
      await request<SendResponse>('POST', `/v1/channels/${enc(peer)}/${enc(channel)}${channelQuery(options)}`, body, { timeoutMs: SEND_TIMEOUT_MS }),
    sse,
    events: async (onEvent, signal) => await sse('/v1/events', onEvent, signal),
    messages: async (channel, onMessage, signal) => await sse(`/v1/messages?channel=${enc(channel)}`, event => {
      if (event.type === 'message' && isChannelMessage(event.data)) onMessage(event.data)
    }, signal),
    channel: async (peer, label, options = {}) => await openChannelSocket(socket, peer, label, channelQuery(options), defaultTimeout),
    sources: async () => await request<SourcesResponse>('GET', '/v1/sources'),
    controlSource: async (name, change) => await request<SourceControlResult>('POST', `/v1/sources/${enc(name)}/control`, change),
    watch: async (peer, source, sink = DEFAULT_SINK) => await request<WatchInfo>('POST', '/v1/watch', { peer, source, sink }, { timeoutMs: WATCH_TIMEOUT_MS }),
    watchInfo: async id => await request<WatchInfo>('GET', `/v1/watch/${enc(id)}`),
    watches: async () => await request<WatchesResponse>('GET', '/v1/watch'),
    unwatch: async id => { await request('DELETE', `/v1/watch/${enc(id)}`, undefined, { timeoutMs: WATCH_TIMEOUT_MS }) }
  }
}
