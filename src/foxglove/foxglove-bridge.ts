import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FoxgloveServer, ServerCapability, StatusLevel, type ChannelId } from '@foxglove/ws-protocol'
import type { Logger } from 'pino'
import { WebSocketServer, type WebSocket } from 'ws'
import type { ChannelEndpoint, Payload } from '../core/sessions/channel-endpoint.ts'
import type { ChannelHub } from '../core/sessions/channel-hub.ts'
import type { SessionManager } from '../core/sessions/session-manager.ts'
import type { AccessUnit, VideoFeeds, VideoSubscription } from '../core/watch/video-feeds.ts'
import type { MediaSources } from '../media/media-sources.ts'
import type { PeerInfo, Swarm } from '../signalling/types.ts'
import type { Channel } from '../transport/types.ts'
import { FoxgloveListenError } from '../util/errors.ts'
import { bearerMatches, parseHostPort, tokenMatches } from '../util/listen-address.ts'
import { CHANNEL_LABEL } from '../util/names.ts'
import type { Startable } from '../util/startable.ts'
import { ClientSocket, type Outgoing } from './client-socket.ts'
import { channelTopics, parseChannelTopic, presenceTopic, videoTopic, type TopicSpec } from './foxglove-topics.ts'
import { compressedVideoMessage } from '../core/watch/compressed-video.ts'
import { VideoClock } from '../core/watch/video-clock.ts'
import { isJsonObject } from '../util/json-object.ts'

export const FOXGLOVE_SUBPROTOCOL = 'foxglove.websocket.v1'
/** Foxglove clients at once. */
export const MAX_CLIENTS = 16
/** Largest message a client may send (a clientPublish payload). */
export const MAX_CLIENT_MESSAGE_BYTES = 4 * 1024 * 1024
/** A client's publishes waiting for their channel (it applies backpressure); more are dropped with a status. */
export const MAX_PENDING_PUBLISHES = 256
/** A channel's topic stays this long after its channel closed (a session being remade brings it back). */
export const CHANNEL_TOPIC_GRACE_MS = 5_000
/** A video subscription whose feed failed or ended is tried again after this. */
export const VIDEO_RETRY_MS = 3_000
/** Presence changes are sent at most this often… */
const PRESENCE_DEBOUNCE_MS = 200
/**
 * …and again this often while subscribed: FoxgloveServer reports a channel's
 * first subscriber only, so a client that subscribes later would otherwise
 * wait for the next change.
 */
const PRESENCE_REPEAT_MS = 2_000
/** How long stop() waits for clients to answer the close frame. */
const STOP_GRACE_MS = 1_000
/** Status messages to one client at most this often (a client publishing where it cannot). */
const STATUS_MIN_INTERVAL_MS = 1_000

export interface FoxgloveBridgeInit {
  /** foxglove.listen: host:port, port 0 picks a free one. */
  listen: string
  /** web.token: when set, clients need it (Authorization: Bearer … or ?token=…). */
  token?: string
  localPeer: string
  name: string
  video: Pick<VideoFeeds, 'subscribe'>
  media: Pick<MediaSources, 'list' | 'on' | 'off'>
  swarm: Pick<Swarm, 'peers' | 'on' | 'off'>
  sessions: Pick<SessionManager, 'list' | 'session' | 'on' | 'off'>
  channels: Pick<ChannelHub, 'endpoint' | 'find'>
  logger: Logger
}

export interface FoxgloveBridge extends Startable {
  /** host:port it listens on (the real port when asked for 0); null when not listening. */
  address: () => string | null
}

interface VideoEntry {
  kind: 'video'
  key: string
  id: ChannelId
  /** Undefined for this daemon's own sources. */
  peer: string | undefined
  source: string
  subscribed: boolean
  starting: boolean
  sub?: VideoSubscription
  retry?: NodeJS.Timeout
  removed: boolean
  /** Frames' capture times from their RTP timestamps (see VideoClock). */
  clock: VideoClock
}

interface ChannelEntry {
  kind: 'channel'
  key: string
  peer: string
  label: string
  jsonId: ChannelId
  rawId: ChannelId
  /** Which of its two Foxglove channels have subscribers. */
  subscribed: Set<ChannelId>
  detach?: () => void
  removed: boolean
}

interface PresenceEntry {
  kind: 'presence'
  id: ChannelId
  subscribed: boolean
}

type Entry = VideoEntry | ChannelEntry | PresenceEntry

interface PublisherState {
  chain: Promise<void>
  pending: number
  lastStatusAt: number
}

/**
 * edged's Foxglove WebSocket server (the protocol from @foxglove/ws-protocol):
 * every H.264 video source of this daemon and of its peers as a
 * foxglove.CompressedVideo topic, every data channel with a peer as a topic
 * (clients may publish on it: clientPublish), and presence as a topic. Topics
 * come and go with sources, peers and channels. A video topic's first
 * subscriber starts one in-process feed (VideoFeeds: the browsers' encoder or
 * watch), its last one ends it.
 */
export function createFoxgloveBridge (init: FoxgloveBridgeInit): FoxgloveBridge {
  const log = init.logger
  const server = new FoxgloveServer({ name: `edged ${init.name}`, capabilities: [ServerCapability.clientPublish], supportedEncodings: ['json', 'application/octet-stream'], metadata: { peerId: init.localPeer } })
  const entries = new Map<string, VideoEntry | ChannelEntry>()
  const byId = new Map<ChannelId, Entry>()
  /** Data channels open with peers, by `peer\nlabel`. */
  const openChannels = new Map<string, Channel>()
  const goneTimers = new Map<string, NodeJS.Timeout>()
  const sockets = new Map<WebSocket, ClientSocket>()
  const publishers = new Map<unknown, PublisherState>()
  let outgoing: Outgoing | undefined
  let http: Server | undefined
  let wss: WebSocketServer | undefined
  let running = false
  let presenceTimer: NodeJS.Timeout | undefined
  let presenceRepeat: NodeJS.Timeout | undefined
  const presence: PresenceEntry = { kind: 'presence', id: 0, subscribed: false }

  server.on('error', err => { log.debug({ err: err.message }, 'bad message from a Foxglove client') })
  server.on('subscribe', id => { subscribe(id) })
  server.on('unsubscribe', id => { unsubscribe(id) })
  server.on('advertise', channel => {
    if (parseChannelTopic(channel.topic) === undefined) {
      status(channel.client.connection, StatusLevel.WARNING, `edged takes publishes on /peers/PEER/channels/LABEL (JSON objects) and /peers/PEER/channels/LABEL/raw (bytes), not on ${channel.topic}`)
    }
  })
  server.on('message', ({ client, channel, data }) => { publish(client.connection, channel.topic, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) })

  function addChannel (spec: TopicSpec): ChannelId {
    return server.addChannel({ topic: spec.topic, encoding: spec.encoding, schemaName: spec.schemaName, schema: spec.schema, ...(spec.schemaEncoding !== undefined ? { schemaEncoding: spec.schemaEncoding } : {}) })
  }

  function status (connection: unknown, level: StatusLevel, message: string): void {
    const state = publisher(connection)
    if (Date.now() - state.lastStatusAt < STATUS_MIN_INTERVAL_MS) return
    state.lastStatusAt = Date.now()
    server.sendStatus({ level, message: message.slice(0, 512) }, connection as ClientSocket)
  }

  function publisher (connection: unknown): PublisherState {
    let state = publishers.get(connection)
    if (state === undefined) {
      state = { chain: Promise.resolve(), pending: 0, lastStatusAt: 0 }
      publishers.set(connection, state)
    }
    return state
  }

  // --- topics -------------------------------------------------------------

  /** The topics there should be now, by key. */
  function wanted (): Map<string, { kind: 'video', peer: string | undefined, source: string } | { kind: 'channel', peer: string, label: string }> {
    const want = new Map<string, { kind: 'video', peer: string | undefined, source: string } | { kind: 'channel', peer: string, label: string }>()
    for (const s of init.media.list()) {
      if (s.kind === 'video' && s.codec === 'h264') want.set(`v\n\n${s.name}`, { kind: 'video', peer: undefined, source: s.name })
    }
    for (const p of init.swarm.peers()) {
      for (const s of p.sources) {
        if (s.kind === 'video' && s.codec === 'h264') want.set(`v\n${p.peerId}\n${s.name}`, { kind: 'video', peer: p.peerId, source: s.name })
      }
    }
    for (const key of openChannels.keys()) {
      const [peer, label] = key.split('\n')
      want.set(`c\n${key}`, { kind: 'channel', peer, label })
    }
    return want
  }

  /** Advertise what appeared, take back what went away. */
  function sync (): void {
    if (!running) return
    const want = wanted()
    for (const [key, entry] of entries) {
      if (!want.has(key)) remove(entry)
    }
    for (const [key, w] of want) {
      if (entries.has(key)) continue
      if (w.kind === 'video') {
        const entry: VideoEntry = { kind: 'video', key, id: addChannel(videoTopic(w.peer, w.source)), peer: w.peer, source: w.source, subscribed: false, starting: false, removed: false, clock: new VideoClock() }
        entries.set(key, entry)
        byId.set(entry.id, entry)
      } else {
        const topics = channelTopics(w.peer, w.label)
        const entry: ChannelEntry = { kind: 'channel', key, peer: w.peer, label: w.label, jsonId: addChannel(topics.json), rawId: addChannel(topics.raw), subscribed: new Set(), removed: false }
        entries.set(key, entry)
        byId.set(entry.jsonId, entry)
        byId.set(entry.rawId, entry)
      }
    }
  }

  function remove (entry: VideoEntry | ChannelEntry): void {
    entry.removed = true
    entries.delete(entry.key)
    if (entry.kind === 'video') {
      byId.delete(entry.id)
      stopVideo(entry)
      server.removeChannel(entry.id)
    } else {
      byId.delete(entry.jsonId)
      byId.delete(entry.rawId)
      entry.detach?.()
      entry.detach = undefined
      server.removeChannel(entry.jsonId)
      server.removeChannel(entry.rawId)
    }
  }

  function subscribe (id: ChannelId): void {
    const entry = byId.get(id)
    if (entry === undefined) return
    if (entry.kind === 'presence') {
      entry.subscribed = true
      sendPresence()
      presenceRepeat ??= setInterval(sendPresence, PRESENCE_REPEAT_MS)
    } else if (entry.kind === 'video') {
      entry.subscribed = true
      void startVideo(entry)
    } else {
      entry.subscribed.add(id)
      attachChannel(entry)
    }
  }

  function unsubscribe (id: ChannelId): void {
    const entry = byId.get(id)
    if (entry === undefined) return
    if (entry.kind === 'presence') {
      entry.subscribed = false
      clearInterval(presenceRepeat)
      presenceRepeat = undefined
    } else if (entry.kind === 'video') {
      entry.subscribed = false
      stopVideo(entry)
    } else {
      entry.subscribed.delete(id)
      if (entry.subscribed.size === 0) {
        entry.detach?.()
        entry.detach = undefined
      }
    }
  }

  // --- video --------------------------------------------------------------

  async function startVideo (entry: VideoEntry): Promise<void> {
    if (entry.sub !== undefined || entry.starting || entry.removed || !running) return
    clearTimeout(entry.retry)
    entry.retry = undefined
    entry.starting = true
    const where = { peer: entry.peer ?? 'local', source: entry.source }
    try {
      const sub = await init.video.subscribe(entry.peer, entry.source, unit => { sendVideo(entry, unit) }, 'foxglove')
      if (!entry.subscribed || entry.removed || !running) {
        sub.close()
        return
      }
      entry.sub = sub
      sub.on('end', () => {
        if (entry.sub !== sub) return
        entry.sub = undefined
        log.info(where, 'Foxglove video feed ended')
        retryVideo(entry)
      })
      log.info(where, 'Foxglove video feed started')
    } catch (err) {
      log.warn({ ...where, err: (err as Error).message }, 'Foxglove video feed did not start')
      server.sendStatus({ level: StatusLevel.ERROR, message: `${videoTopic(entry.peer, entry.source).topic}: ${(err as Error).name}: ${(err as Error).message}`.slice(0, 512) })
      retryVideo(entry)
    } finally {
      entry.starting = false
    }
  }

  function retryVideo (entry: VideoEntry): void {
    if (!entry.subscribed || entry.removed || !running || entry.retry !== undefined) return
    entry.retry = setTimeout(() => {
      entry.retry = undefined
      if (entry.subscribed) void startVideo(entry)
    }, VIDEO_RETRY_MS)
  }

  function stopVideo (entry: VideoEntry): void {
    clearTimeout(entry.retry)
    entry.retry = undefined
    const sub = entry.sub
    entry.sub = undefined
    sub?.close()
  }

  function sendVideo (entry: VideoEntry, unit: AccessUnit): void {
    const sub = entry.sub
    // The capture time by the encoder's clock, anchored at the first frame's arrival (as recordings stamp it).
    const timestampNs = entry.clock.timestamp(unit.rtpTimestamp, BigInt(unit.receivedAt) * 1_000_000n)
    outgoing = { video: true, keyFrame: unit.keyFrame, requestKeyFrame: () => { sub?.requestKeyFrame() } }
    try {
      server.sendMessage(entry.id, timestampNs, compressedVideoMessage(entry.source, unit.data, timestampNs))
    } finally {
      outgoing = undefined
    }
  }

  // --- data channels ------------------------------------------------------

  function attachChannel (entry: ChannelEntry): void {
    if (entry.detach !== undefined || entry.removed) return
    let endpoint: ChannelEndpoint
    try {
      endpoint = init.channels.find(entry.peer, entry.label) ?? init.channels.endpoint(entry.peer, entry.label)
    } catch (err) {
      server.sendStatus({ level: StatusLevel.ERROR, message: `${channelTopics(entry.peer, entry.label).json.topic}: ${(err as Error).message}`.slice(0, 512) })
      return
    }
    // A Foxglove client is a local program on the channel; a slow one loses messages in its ClientSocket, it never pauses the peer.
    entry.detach = endpoint.addConsumer({
      deliver: data => { sendChannelMessage(entry, data); return true },
      backlog: () => 0,
      overflow: () => {}
    })
  }

  function sendChannelMessage (entry: ChannelEntry, data: Payload): void {
    const json = typeof data === 'string' && isJsonObject(data)
    const id = json ? entry.jsonId : entry.rawId
    if (!entry.subscribed.has(id)) return
    outgoing = { video: false, keyFrame: false, requestKeyFrame: () => {} }
    try {
      server.sendMessage(id, BigInt(Date.now()) * 1_000_000n, typeof data === 'string' ? Buffer.from(data) : data)
    } finally {
      outgoing = undefined
    }
  }

  const onChannel = (peer: string, channel: Channel): void => {
    if (!CHANNEL_LABEL.test(channel.label)) return // _edge and other daemon-internal labels
    const key = `${peer}\n${channel.label}`
    clearTimeout(goneTimers.get(key))
    goneTimers.delete(key)
    openChannels.set(key, channel)
    channel.once('close', () => {
      if (openChannels.get(key) !== channel || goneTimers.has(key)) return
      goneTimers.set(key, setTimeout(() => {
        goneTimers.delete(key)
        if (openChannels.get(key) !== channel) return
        openChannels.delete(key)
        sync()
      }, CHANNEL_TOPIC_GRACE_MS))
    })
    sync()
  }

  /** A client's message on one of its advertised channels: a send on the peer's data channel. */
  function publish (connection: unknown, topic: string, data: Uint8Array): void {
    const target = parseChannelTopic(topic)
    if (target === undefined) return
    const state = publisher(connection)
    if (state.pending >= MAX_PENDING_PUBLISHES) {
      status(connection, StatusLevel.WARNING, `${topic}: dropping messages, the channel is not taking them fast enough`)
      return
    }
    const session = init.sessions.session(target.peer)
    if (session === undefined) {
      status(connection, StatusLevel.ERROR, `${topic}: no connected session with ${target.peer}`)
      return
    }
    let endpoint: ChannelEndpoint
    try {
      endpoint = init.channels.endpoint(target.peer, target.label)
      if (session.channel(target.label) === undefined) session.openChannel(target.label, { ordered: true })
    } catch (err) {
      status(connection, StatusLevel.ERROR, `${topic}: ${(err as Error).name}: ${(err as Error).message}`)
      return
    }
    const payload: Payload = target.raw ? Buffer.from(data) : Buffer.from(data).toString('utf8')
    state.pending++
    state.chain = state.chain.then(async () => { await endpoint.write(payload) }).catch((err: unknown) => {
      status(connection, StatusLevel.ERROR, `${topic}: ${(err as Error).name}: ${(err as Error).message}`)
    }).finally(() => { state.pending-- })
  }

  // --- presence -----------------------------------------------------------

  function presenceMessage (): Buffer {
    const now = Date.now()
    const topicOf = (peer: string | undefined, s: { name: string, kind: string, codec: string }): string | null =>
      s.kind === 'video' && s.codec === 'h264' ? videoTopic(peer, s.name).topic : null
    const summary = (peer: string | undefined) => (s: { name: string, kind: string, codec: string }) => ({ name: s.name, kind: s.kind, codec: s.codec, topic: topicOf(peer, s) })
    return Buffer.from(JSON.stringify({
      timestamp: { sec: Math.floor(now / 1000), nsec: (now % 1000) * 1_000_000 },
      self: { peerId: init.localPeer, name: init.name, sources: init.media.list().map(summary(undefined)) },
      peers: init.swarm.peers().map((p: PeerInfo) => ({ peerId: p.peerId, name: p.name, connected: p.connected, lastSeen: p.lastSeen, sources: p.sources.map(summary(p.peerId)) })),
      sessions: init.sessions.list().map(s => ({ peer: s.peer, state: s.state, profile: s.profile, rttMs: s.rttMs, channels: s.channels.map(c => c.label).filter(l => CHANNEL_LABEL.test(l)) }))
    }))
  }

  function sendPresence (): void {
    if (!presence.subscribed || !running) return
    outgoing = { video: false, keyFrame: false, requestKeyFrame: () => {} }
    try {
      server.sendMessage(presence.id, BigInt(Date.now()) * 1_000_000n, presenceMessage())
    } finally {
      outgoing = undefined
    }
  }

  /** Sources, peers or sessions changed: topics follow, presence is sent (debounced). */
  const onChange = (): void => {
    sync()
    if (presenceTimer !== undefined || !presence.subscribed) return
    presenceTimer = setTimeout(() => {
      presenceTimer = undefined
      sendPresence()
    }, PRESENCE_DEBOUNCE_MS)
  }

  // --- listener -----------------------------------------------------------

  function authorized (req: IncomingMessage): boolean {
    const token = init.token
    if (token === undefined) return true
    if (bearerMatches(req.headers.authorization, token)) return true
    const query = new URL(req.url ?? '/', 'http://edged').searchParams.get('token')
    return query !== null && tokenMatches(query, token)
  }

  function onConnection (ws: WebSocket, req: IncomingMessage): void {
    const name = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`
    if (ws.protocol !== FOXGLOVE_SUBPROTOCOL) {
      ws.close(1002, `speak ${FOXGLOVE_SUBPROTOCOL}`)
      return
    }
    if (sockets.size >= MAX_CLIENTS) {
      ws.close(1013, `this daemon serves at most ${MAX_CLIENTS} Foxglove clients`)
      return
    }
    const socket = new ClientSocket(ws, () => outgoing, log.child({ client: name }))
    sockets.set(ws, socket)
    ws.on('close', () => {
      sockets.delete(ws)
      publishers.delete(socket)
      log.info({ client: name, ...socket.stats }, 'Foxglove client left')
    })
    server.handleConnection(socket, name)
    log.info({ client: name }, 'Foxglove client connected')
  }

  const events = {
    media: onChange,
    peer: (_p: PeerInfo) => { onChange() },
    session: () => { onChange() }
  }

  return {
    address () {
      const a = http?.listening === true ? http.address() as AddressInfo | null : null
      if (a === null) return null
      return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`
    },

    async start () {
      if (running) return
      const { host, port } = parseHostPort(init.listen)
      http = createServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' })
        res.end(`edged: the Foxglove WebSocket protocol (${FOXGLOVE_SUBPROTOCOL}) is served here\n`)
      })
      wss = new WebSocketServer({
        server: http,
        maxPayload: MAX_CLIENT_MESSAGE_BYTES,
        handleProtocols: protocols => server.handleProtocols(protocols),
        verifyClient: (info, done) => {
          if (authorized(info.req)) done(true)
          else done(false, 401, 'this listener needs the web token (Authorization: Bearer <web.token> or ?token=<web.token>)', { 'www-authenticate': 'Bearer realm="edged"' })
        }
      })
      wss.on('connection', onConnection)
      try {
        await new Promise<void>((resolve, reject) => {
          http?.once('error', reject)
          http?.listen(port, host, () => { http?.off('error', reject); resolve() })
        })
      } catch (err) {
        wss.close()
        http.close()
        http = undefined
        wss = undefined
        throw new FoxgloveListenError(init.listen, err)
      }
      running = true
      presence.id = addChannel(presenceTopic())
      byId.set(presence.id, presence)
      for (const info of init.sessions.list()) {
        for (const channel of init.sessions.session(info.peer)?.channels() ?? []) {
          if (!channel.isClosed) onChannel(info.peer, channel)
        }
      }
      init.sessions.on('channel', onChannel)
      init.sessions.on('session', events.session)
      init.swarm.on('peer:discovered', events.peer)
      init.swarm.on('peer:updated', events.peer)
      init.swarm.on('peer:lost', events.peer)
      init.media.on('changed', events.media)
      init.media.on('removed', events.media)
      sync()
      log.info({ address: this.address(), token: init.token !== undefined }, 'Foxglove listener up')
    },

    async stop () {
      if (!running) return
      running = false
      init.sessions.off('channel', onChannel)
      init.sessions.off('session', events.session)
      init.swarm.off('peer:discovered', events.peer)
      init.swarm.off('peer:updated', events.peer)
      init.swarm.off('peer:lost', events.peer)
      init.media.off('changed', events.media)
      init.media.off('removed', events.media)
      clearTimeout(presenceTimer)
      clearInterval(presenceRepeat)
      presenceTimer = undefined
      presenceRepeat = undefined
      for (const timer of goneTimers.values()) clearTimeout(timer)
      goneTimers.clear()
      for (const entry of entries.values()) {
        entry.removed = true
        if (entry.kind === 'video') stopVideo(entry)
        else entry.detach?.()
      }
      entries.clear()
      byId.clear()
      openChannels.clear()
      // Clients hear the close frame if they answer within STOP_GRACE_MS; the rest are cut.
      const left = [...sockets.keys()].map(async ws => { await new Promise<void>(resolve => { ws.once('close', () => { resolve() }) }) })
      for (const ws of sockets.keys()) ws.close(1001, 'edged stopping')
      let grace: NodeJS.Timeout | undefined
      await Promise.race([Promise.all(left), new Promise<void>(resolve => { grace = setTimeout(resolve, STOP_GRACE_MS) })])
      clearTimeout(grace)
      for (const ws of sockets.keys()) ws.terminate()
      const h = http as Server
      await new Promise<void>(resolve => { (wss as WebSocketServer).close(() => { resolve() }) })
      h.closeAllConnections()
      await new Promise<void>(resolve => { h.close(() => { resolve() }) })
      http = undefined
      wss = undefined
    }
  }
}
