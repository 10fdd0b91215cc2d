import type { Logger } from 'pino'
import type { Channel } from '../../transport/types.ts'
import { ChannelEndpoint } from './channel-endpoint.ts'
import { TooManyChannelsError, TooManyLabelsError } from '../../util/errors.ts'
import { CHANNEL_LABEL } from '../../util/names.ts'
import { isPathMessage, parseEdgeMessage, type EdgeMessage } from './edge-messages.ts'

/** The daemons' own channel on every session: flow control and resumption for the user channels. */
export const EDGE_CHANNEL = '_edge'

/**
 * Channel labels one peer may have with us. An endpoint lives as long as its
 * peer (a label's queue and sequence numbers outlast sessions), so without a
 * bound a peer opening channel after channel, or a program posting to label
 * after label, would grow the daemon for good. Robots' topics are tens.
 */
export const MAX_CHANNELS_PER_PEER = 1024

/**
 * Labels one client may create: a control-socket connection (each WebSocket
 * is one; a keep-alive connection POSTing to label after label is one too)
 * or a browser session. A label counts against its creator until it is
 * released (see ChannelEndpoint.unused).
 */
export const MAX_LABELS_PER_CLIENT = 64
/**
 * Labels the peer itself may create (channels it opens, resumes on `_edge`):
 * the other half of MAX_CHANNELS_PER_PEER stays for our local programs.
 * libdatachannel gives each side of a session about 512 SCTP streams anyway.
 */
export const MAX_PEER_OPENED_LABELS = MAX_CHANNELS_PER_PEER / 2

/** Who asks for a new label: its count of labels is bounded by `maxLabels`. Compared by identity. */
export interface ChannelClient {
  readonly maxLabels: number
  /** Named in the error. */
  readonly name: string
}

/** A new ChannelClient for a control-socket connection or a browser session. */
export function channelClient (name: string, maxLabels = MAX_LABELS_PER_CLIENT): ChannelClient {
  return { name, maxLabels }
}

/** Resumes held for a session whose `_edge` channel is not open yet. */
const MAX_PENDING = 256
/**
 * A peer gone from presence with no session keeps its endpoints this long: a
 * partition that outlived both comes back to the local programs' sockets and
 * to what was written and not yet acknowledged.
 */
export const PEER_GRACE_MS = 60_000

/** One session's `_edge` channel, and what waits for it to open. */
interface EdgeLink {
  channel?: Channel
  pending: string[]
}

/** All channel endpoints of the daemon, by peer and label. */
export class ChannelHub {
  readonly #endpoints = new Map<string, ChannelEndpoint>()
  readonly #log: Logger
  /** Listeners on the endpoints that match (edgectl listen: a label of every peer; a recording: a peer's labels). */
  readonly #listeners = new Set<{ match: (e: ChannelEndpoint) => boolean, onEndpoint: (e: ChannelEndpoint) => void }>()
  /** By session id. */
  readonly #edges = new Map<string, EdgeLink>()
  readonly #dropTimers = new Map<string, NodeJS.Timeout>()
  /** Endpoints by peer: their count is what MAX_CHANNELS_PER_PEER bounds. */
  readonly #perPeer = new Map<string, number>()
  /** Labels each client created and still holds (ChannelClient.maxLabels). */
  readonly #perClient = new Map<ChannelClient, number>()
  readonly #creator = new Map<ChannelEndpoint, ChannelClient>()
  /** The client standing for each peer itself (MAX_PEER_OPENED_LABELS). */
  readonly #peerClients = new Map<string, ChannelClient>()

  constructor (logger: Logger) {
    this.#log = logger
  }

  /**
   * The endpoint of `label` with `peer`, made if new; TooManyChannelsError
   * when the peer has MAX_CHANNELS_PER_PEER already, TooManyLabelsError when
   * `client`, who asks for a new label, holds its maxLabels already.
   */
  endpoint (peer: string, label: string, client?: ChannelClient): ChannelEndpoint {
    const key = `${peer}\n${label}`
    let endpoint = this.#endpoints.get(key)
    if (endpoint === undefined) {
      const count = this.#perPeer.get(peer) ?? 0
      if (count >= MAX_CHANNELS_PER_PEER) throw new TooManyChannelsError(`peer ${peer} has ${MAX_CHANNELS_PER_PEER} channels already: no channel ${JSON.stringify(label.slice(0, 64))}`)
      const held = client === undefined ? 0 : (this.#perClient.get(client) ?? 0)
      if (client !== undefined && held >= client.maxLabels) {
        throw new TooManyLabelsError(`${client.name} holds ${client.maxLabels} channel labels already: no channel ${JSON.stringify(label.slice(0, 64))}`)
      }
      endpoint = new ChannelEndpoint(peer, label, this.#log, e => { this.releaseIfUnused(e) })
      this.#endpoints.set(key, endpoint)
      this.#perPeer.set(peer, count + 1)
      if (client !== undefined) {
        this.#perClient.set(client, held + 1)
        this.#creator.set(endpoint, client)
      }
      for (const l of this.#listeners) if (l.match(endpoint)) l.onEndpoint(endpoint)
    }
    return endpoint
  }

  /**
   * Forget an endpoint nobody uses (no consumer, no message ever, no open
   * channel: see ChannelEndpoint.unused), so a failed or abandoned open does
   * not keep its label. True when it was forgotten.
   */
  releaseIfUnused (endpoint: ChannelEndpoint): boolean {
    const key = `${endpoint.peer}\n${endpoint.label}`
    if (this.#endpoints.get(key) !== endpoint || !endpoint.unused) return false
    this.#forget(key, endpoint)
    return true
  }

  #forget (key: string, endpoint: ChannelEndpoint): void {
    endpoint.close()
    this.#endpoints.delete(key)
    const count = (this.#perPeer.get(endpoint.peer) ?? 1) - 1
    if (count > 0) this.#perPeer.set(endpoint.peer, count)
    else this.#perPeer.delete(endpoint.peer)
    const client = this.#creator.get(endpoint)
    if (client !== undefined) {
      this.#creator.delete(endpoint)
      const held = (this.#perClient.get(client) ?? 1) - 1
      if (held > 0) this.#perClient.set(client, held)
      else this.#perClient.delete(client)
    }
  }

  /** The labels held now: by a peer (all of them), or by one client. */
  labels (of: string | ChannelClient): number {
    return typeof of === 'string' ? (this.#perPeer.get(of) ?? 0) : (this.#perClient.get(of) ?? 0)
  }

  #peerClient (peer: string): ChannelClient {
    let client = this.#peerClients.get(peer)
    if (client === undefined) {
      client = channelClient(`peer ${peer}`, MAX_PEER_OPENED_LABELS)
      this.#peerClients.set(peer, client)
    }
    return client
  }

  /**
   * For what a peer (or a browser: `client`) opens: the endpoint, or
   * undefined, logged, when the peer or the client has no room for a new label.
   */
  endpointIfRoom (peer: string, label: string, what: string, client: ChannelClient = this.#peerClient(peer)): ChannelEndpoint | undefined {
    try {
      return this.endpoint(peer, label, client)
    } catch (err) {
      if (!(err instanceof TooManyChannelsError) && !(err instanceof TooManyLabelsError)) throw err
      this.#log.warn({ peer, err: err.message }, what)
      return undefined
    }
  }

  find (peer: string, label: string): ChannelEndpoint | undefined {
    return this.#endpoints.get(`${peer}\n${label}`)
  }

  /**
   * A channel of session `session` opened: attach it to its endpoint. The
   * `_edge` channel carries flow control (a daemon whose local consumers fall
   * behind on a reliable channel asks the sending daemon to pause) and the
   * acknowledgements and resumes that carry reliable channels across sessions
   * (see channel-endpoint.ts and edge-messages.ts).
   */
  attach (peer: string, channel: Channel, session: string): void {
    if (channel.label === EDGE_CHANNEL) {
      const edge = this.#edge(session)
      edge.channel = channel
      for (const text of edge.pending.splice(0)) this.#sendOn(channel, session, text)
      channel.on('message', data => {
        const message = parseEdgeMessage(data)
        if (message === undefined) { this.#log.warn({ peer }, 'ignoring a malformed message on the _edge channel'); return }
        // Heartbeats and switches are the path's (see path-heartbeat.ts), not a channel's.
        if (isPathMessage(message)) return
        // A resume can come before the channel it is about reaches us: keep it on the endpoint.
        const endpoint = message.t === 'resume' && CHANNEL_LABEL.test(message.label)
          ? this.endpointIfRoom(peer, message.label, 'ignoring a resume on the _edge channel')
          : this.find(peer, message.label)
        endpoint?.control(session, message)
      })
      channel.on('close', () => { if (this.#edges.get(session)?.channel === channel) this.#edges.delete(session) })
      return
    }
    const endpoint = this.endpointIfRoom(peer, channel.label, 'closing a channel the peer opened')
    if (endpoint === undefined) { channel.close(); return }
    endpoint.attach(channel, {
      session,
      send: (message, queue = false) => { this.#send(session, message, queue) }
    })
    // What waited for an _edge channel that never came. A channel the peer refused
    // (glare) closes in a session that goes on: its _edge channel may still come.
    channel.on('close', () => { if (!channel.refused && this.#edges.get(session)?.channel === undefined) this.#edges.delete(session) })
  }

  #edge (session: string): EdgeLink {
    let edge = this.#edges.get(session)
    if (edge === undefined) {
      edge = { pending: [] }
      this.#edges.set(session, edge)
    }
    return edge
  }

  #send (session: string, message: EdgeMessage, queue: boolean): void {
    const text = JSON.stringify(message)
    const edge = this.#edges.get(session)
    if (edge?.channel !== undefined) {
      if (edge.channel.isOpen) this.#sendOn(edge.channel, session, text)
      return
    }
    if (!queue) return
    const pending = this.#edge(session).pending
    if (pending.length < MAX_PENDING) pending.push(text)
  }

  /** A lost _edge message is logged, not thrown: the channel is closing, and the next session's resumes. */
  #sendOn (channel: Channel, session: string, text: string): void {
    try {
      channel.send(text)
    } catch (err) {
      this.#log.debug({ err, session }, 'sending on the _edge channel')
    }
  }

  /** Endpoints of a label, now and as they appear, for every peer. */
  onLabel (label: string, onEndpoint: (e: ChannelEndpoint) => void): () => void {
    return this.onEndpoint(e => e.label === label, onEndpoint)
  }

  /**
   * Endpoints that `match`, now and as they appear (a peer's endpoints dropped
   * and made again come again); returns the function that stops listening.
   */
  onEndpoint (match: (e: ChannelEndpoint) => boolean, onEndpoint: (e: ChannelEndpoint) => void): () => void {
    const listener = { match, onEndpoint }
    this.#listeners.add(listener)
    for (const e of this.#endpoints.values()) if (match(e)) onEndpoint(e)
    return () => { this.#listeners.delete(listener) }
  }

  /** Forget a peer's endpoints after PEER_GRACE_MS if `gone()` still says so then. */
  dropPeerLater (peer: string, gone: () => boolean, graceMs = PEER_GRACE_MS): void {
    if (this.#dropTimers.has(peer)) return
    const timer = setTimeout(() => {
      this.#dropTimers.delete(peer)
      if (gone()) this.dropPeer(peer)
    }, graceMs)
    timer.unref()
    this.#dropTimers.set(peer, timer)
  }

  /** Forget a peer's endpoints (it left the swarm). */
  dropPeer (peer: string): void {
    clearTimeout(this.#dropTimers.get(peer))
    this.#dropTimers.delete(peer)
    for (const [key, e] of this.#endpoints) {
      if (e.peer === peer) this.#forget(key, e)
    }
    this.#perPeer.delete(peer)
    this.#peerClients.delete(peer)
  }

  close (): void {
    for (const timer of this.#dropTimers.values()) clearTimeout(timer)
    this.#dropTimers.clear()
    for (const e of this.#endpoints.values()) e.close()
    this.#endpoints.clear()
    this.#perPeer.clear()
    this.#perClient.clear()
    this.#creator.clear()
    this.#peerClients.clear()
    this.#listeners.clear()
    this.#edges.clear()
  }
}
