import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { SourceInfo } from '../media/media-sources.ts'
import type { PeerInfo } from '../signalling/types.ts'
import type { SenderStatsSnapshot, TrackCongestion } from '../transport/track-types.ts'
import { BROWSER_PEER, browserConsumer } from '../web/browser-info.ts'
import type { BrowserInfo, SessionInfo } from './api-types.ts'

/** Where the metrics read the daemon's live state at every scrape (no counters spread through the code). */
export interface MetricsInit {
  peers: () => PeerInfo[]
  sessions: () => SessionInfo[]
  /** Browser sessions (WHEP players' send tracks are consumers too); none without a web listener. */
  browsers?: () => BrowserInfo[]
  sources: () => SourceInfo[]
  info: () => { version: string, peerId: string, swarm: string, stack: string }
}

export interface Metrics {
  readonly registry: Registry
  /** The Prometheus text exposition of every series; one render serves every request of the same RENDER_CACHE_MS. */
  render: () => Promise<string>
  readonly contentType: string
}

/**
 * Per-peer series (sessions) beyond this many are summed into one series with
 * peer="_other" (gauges that cannot be summed, like RTT, are left out).
 */
export const MAX_PEER_SERIES = 64
/**
 * Per-channel series beyond this many (peer, channel) pairs, over all peers,
 * are summed into one series with peer="_other", channel="_other": a peer or a
 * program opening label after label cannot grow a scrape without bound.
 */
export const MAX_CHANNEL_SERIES = 64
/**
 * Per-consumer series (a send track: one viewer of a source) beyond this many
 * are summed into one with peer="_other", consumer="_other"; figures that
 * cannot be summed (loss fraction, jitter, RTT, target, estimate, queueing
 * delay) are left out for them.
 */
export const MAX_CONSUMER_SERIES = 32
/** How long one rendering is served (a burst of scrapes, pipelined or not, costs one render). */
export const RENDER_CACHE_MS = 1000
export const OTHER = '_other'

type Labels<K extends string> = Partial<Record<K, string | number>>

/** A gauge whose values are recomputed from live state at each scrape. */
function liveGauge<K extends string> (registry: Registry, name: string, help: string, labelNames: K[], read: () => Array<[Labels<K>, number]>): void {
  new Gauge<K>({ name, help, labelNames, registers: [registry], collect () {
    this.reset()
    for (const [labels, value] of read()) this.set(labels, value)
  } })
}

/** A counter read from cumulative figures kept elsewhere (they restart with a new session or pipeline: a counter reset). */
function liveCounter<K extends string> (registry: Registry, name: string, help: string, labelNames: K[], read: () => Array<[Labels<K>, number]>): void {
  new Counter<K>({ name, help, labelNames, registers: [registry], collect () {
    this.reset()
    for (const [labels, value] of read()) this.inc(labels, Math.max(0, value))
  } })
}

/**
 * The first `max` series as they are, and the rest summed into one series
 * whose `labels` are `other` (same other labels summed together).
 */
export function capSeries<K extends string> (series: Array<[Labels<K>, number]>, max: number, key: (l: Labels<K>) => string, other: (l: Labels<K>) => Labels<K>): Array<[Labels<K>, number]> {
  const kept = new Set<string>()
  const out: Array<[Labels<K>, number]> = []
  const rest = new Map<string, [Labels<K>, number]>()
  for (const [labels, value] of series) {
    const k = key(labels)
    if (kept.has(k) || kept.size < max) {
      kept.add(k)
      out.push([labels, value])
      continue
    }
    const o = other(labels)
    const ok = JSON.stringify(o)
    const sum = rest.get(ok)
    if (sum === undefined) rest.set(ok, [o, value])
    else sum[1] += value
  }
  return [...out, ...rest.values()]
}

/** Renders at most once per `ttlMs`; requests during a render share it. */
export function cachedRender (render: () => Promise<string>, ttlMs: number, now: () => number = Date.now): () => Promise<string> {
  let cached: { text: Promise<string>, at: number } | undefined
  return async () => {
    const t = now()
    if (cached === undefined || t - cached.at >= ttlMs) {
      const text = render()
      cached = { text, at: t }
      // A failed render is not served again.
      text.catch(() => { if (cached?.text === text) cached = undefined })
    }
    return await cached.text
  }
}

/** Prometheus metrics of one daemon: swarm, sessions, channels, media, and Node's own (event-loop lag…). */
export function createMetrics (init: MetricsInit): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })

  liveGauge(registry, 'edge_info', 'this daemon (always 1)', ['version', 'peer_id', 'swarm', 'stack'], () => {
    const i = init.info()
    return [[{ version: i.version, peer_id: i.peerId, swarm: i.swarm, stack: i.stack }, 1]]
  })
  liveGauge(registry, 'edge_peers', 'peers of the swarm known from their presence records', ['connected'], () => {
    const peers = init.peers()
    const connected = peers.filter(p => p.connected).length
    return [[{ connected: 'true' }, connected], [{ connected: 'false' }, peers.length - connected]]
  })
  liveGauge(registry, 'edge_sessions', 'WebRTC sessions by state and stack profile', ['state', 'profile'], () => {
    const counts = new Map<string, number>()
    for (const s of init.sessions()) counts.set(`${s.state}\n${s.profile}`, (counts.get(`${s.state}\n${s.profile}`) ?? 0) + 1)
    return [...counts].map(([key, n]) => {
      const [state, profile] = key.split('\n')
      return [{ state, profile }, n]
    })
  })
  const byPeer = (l: Labels<'peer'>): string => String(l.peer)
  const otherPeer = (): Labels<'peer'> => ({ peer: OTHER })
  liveGauge(registry, 'edge_session_rtt_seconds', 'round-trip time of the selected ICE candidate pair', ['peer'], () =>
    init.sessions().filter(s => s.rttMs !== null).slice(0, MAX_PEER_SERIES).map(s => [{ peer: s.peer }, (s.rttMs as number) / 1000]))
  liveCounter(registry, 'edge_session_failovers_total', 'times a peer\'s traffic moved onto its standby path (rtc.standby)', ['peer'], () =>
    capSeries(init.sessions().filter(s => (s.failovers ?? 0) > 0).map(s => [{ peer: s.peer }, s.failovers ?? 0]), MAX_PEER_SERIES, byPeer, otherPeer))
  liveCounter(registry, 'edge_session_sent_bytes_total', 'bytes sent on the current PeerConnection', ['peer'], () =>
    capSeries(init.sessions().filter(s => s.session !== null).map(s => [{ peer: s.peer }, s.bytesSent]), MAX_PEER_SERIES, byPeer, otherPeer))
  liveCounter(registry, 'edge_session_received_bytes_total', 'bytes received on the current PeerConnection', ['peer'], () =>
    capSeries(init.sessions().filter(s => s.session !== null).map(s => [{ peer: s.peer }, s.bytesReceived]), MAX_PEER_SERIES, byPeer, otherPeer))
  const byChannel = (l: Labels<'peer' | 'channel'>): string => `${l.peer}\n${l.channel}`
  liveCounter(registry, 'edge_channel_messages_total', 'data channel messages', ['peer', 'channel', 'direction'], () =>
    capSeries<'peer' | 'channel' | 'direction'>(init.sessions().flatMap(s => s.channels.flatMap(c => [
      [{ peer: s.peer, channel: c.label, direction: 'sent' }, c.messagesSent],
      [{ peer: s.peer, channel: c.label, direction: 'received' }, c.messagesReceived]
    ] as Array<[Labels<'peer' | 'channel' | 'direction'>, number]>)), MAX_CHANNEL_SERIES, byChannel, l => ({ peer: OTHER, channel: OTHER, direction: l.direction })))
  liveCounter(registry, 'edge_channel_dropped_messages_total',
    'messages dropped on lossy channels: send = full send queue, local = the local program was absent or too slow', ['peer', 'channel', 'where'], () =>
      capSeries<'peer' | 'channel' | 'where'>(init.sessions().flatMap(s => s.channels.flatMap(c => [
        [{ peer: s.peer, channel: c.label, where: 'send' }, c.dropped],
        [{ peer: s.peer, channel: c.label, where: 'local' }, c.localDropped ?? 0]
      ] as Array<[Labels<'peer' | 'channel' | 'where'>, number]>)), MAX_CHANNEL_SERIES, byChannel, l => ({ peer: OTHER, channel: OTHER, where: l.where })))

  // Consumers: this daemon's send tracks, labelled by peer and track (the mid is the peer's watch id);
  // a browser's are peer="browser", consumer="<session id's start>/<mid>" (browserConsumer), after the peers'.
  type ConsumerLabel = 'peer' | 'consumer'
  interface ConsumerFigures { labels: Labels<ConsumerLabel>, sender: SenderStatsSnapshot, congestion: TrackCongestion | null }
  const figuresOf = (peer: string, consumer: string, t: SessionInfo['tracks'][number]): ConsumerFigures[] =>
    t.sender === undefined ? [] : [{ labels: { peer, consumer }, sender: t.sender, congestion: t.congestion ?? null }]
  const consumers = (): ConsumerFigures[] => [
    ...init.sessions().flatMap(s => s.tracks.flatMap(t => figuresOf(s.peer, t.mid, t))),
    ...(init.browsers?.() ?? []).flatMap(b => b.tracks.flatMap(t => figuresOf(BROWSER_PEER, browserConsumer(b.id, t.mid), t)))
  ]
  const byConsumer = (l: Labels<ConsumerLabel>): string => `${l.peer}\n${l.consumer}`
  const otherConsumer = (): Labels<ConsumerLabel> => ({ peer: OTHER, consumer: OTHER })
  const consumerSum = (read: (s: SenderStatsSnapshot) => number) => () =>
    capSeries<ConsumerLabel>(consumers().map(c => [c.labels, read(c.sender)]), MAX_CONSUMER_SERIES, byConsumer, otherConsumer)
  const consumerEach = (read: (s: SenderStatsSnapshot, congestion: TrackCongestion | null) => number | null) => (): Array<[Labels<ConsumerLabel>, number]> =>
    consumers().slice(0, MAX_CONSUMER_SERIES).flatMap(c => { const v = read(c.sender, c.congestion); return v === null ? [] : [[c.labels, v]] })
  const consumerLabels: ConsumerLabel[] = ['peer', 'consumer']
  liveCounter(registry, 'edge_consumer_sent_packets_total', 'RTP packets sent on a consumer\'s track', consumerLabels, consumerSum(c => c.packets))
  liveCounter(registry, 'edge_consumer_sent_bytes_total', 'RTP bytes sent on a consumer\'s track', consumerLabels, consumerSum(c => c.bytes))
  liveGauge(registry, 'edge_consumer_bitrate_bits_per_second', 'bit rate sent on a consumer\'s track over the last second', consumerLabels, consumerSum(c => c.bitrateKbps * 1000))
  liveGauge(registry, 'edge_consumer_target_bitrate_bits_per_second', 'the target bit rate of the source feeding a consumer (where edged controls its encoder)', consumerLabels,
    consumerEach(c => c.targetBitrateKbps === null ? null : c.targetBitrateKbps * 1000))
  // Congestion control's view of the consumer's link (none without it, or before the receiver's first feedback).
  liveGauge(registry, 'edge_consumer_estimate_bits_per_second', 'congestion control\'s bandwidth estimate of a consumer\'s link', consumerLabels,
    consumerEach((_, c) => c?.estimateBps ?? null))
  liveGauge(registry, 'edge_consumer_queueing_delay_seconds', 'queueing delay the bandwidth estimator sees on a consumer\'s link', consumerLabels,
    consumerEach((_, c) => { const ms = c?.queueingDelayMs ?? null; return ms === null ? null : ms / 1000 }))
  liveCounter(registry, 'edge_consumer_nacks_total', 'RTCP NACK packets a consumer sent', consumerLabels, consumerSum(c => c.nacks))
  liveCounter(registry, 'edge_consumer_retransmits_total', 'packets resent for a consumer\'s NACKs', consumerLabels, consumerSum(c => c.retransmits))
  liveCounter(registry, 'edge_consumer_key_frame_requests_total', 'RTCP PLI and FIR a consumer sent', consumerLabels, consumerSum(c => c.plis + c.firs))
  liveGauge(registry, 'edge_consumer_packets_lost', 'cumulative packets lost, as the consumer\'s receiver reports say', consumerLabels, consumerSum(c => c.packetsLost ?? 0))
  liveGauge(registry, 'edge_consumer_fraction_lost', 'fraction lost in the consumer\'s last receiver report interval (0..1)', consumerLabels, consumerEach(c => c.fractionLost))
  liveGauge(registry, 'edge_consumer_jitter_seconds', 'interarrival jitter the consumer\'s receiver reports', consumerLabels, consumerEach(c => c.jitterMs === null ? null : c.jitterMs / 1000))
  liveGauge(registry, 'edge_consumer_rtt_seconds', 'round trip from the consumer\'s receiver reports (LSR/DLSR)', consumerLabels, consumerEach(c => c.rttMs === null ? null : c.rttMs / 1000))

  const sourceLabels = (s: SourceInfo): Labels<'source' | 'kind' | 'codec'> => ({ source: s.name, kind: s.kind, codec: s.codec })
  liveGauge(registry, 'edge_media_source_running', 'a local source\'s pipeline runs (1) or not (0)', ['source', 'kind', 'codec'], () =>
    init.sources().map(s => [sourceLabels(s), s.running ? 1 : 0]))
  liveGauge(registry, 'edge_media_source_users', 'holders (viewers\' tracks) of a local source', ['source'], () =>
    init.sources().map(s => [{ source: s.name }, s.users]))
  const running = (): Array<SourceInfo & { stats: NonNullable<SourceInfo['stats']> }> =>
    init.sources().filter((s): s is SourceInfo & { stats: NonNullable<SourceInfo['stats']> } => s.stats !== null)
  liveGauge(registry, 'edge_media_source_bitrate_bits_per_second', 'RTP bit rate out of the encoder over the last second', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.bitrateKbps * 1000]))
  liveCounter(registry, 'edge_media_source_packets_total', 'RTP packets from the encoder', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.packets]))
  liveCounter(registry, 'edge_media_source_bytes_total', 'RTP bytes from the encoder', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.bytes]))
  liveCounter(registry, 'edge_media_source_packets_lost_total', 'RTP packets missing from the encoder\'s sequence', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.lost]))
  liveCounter(registry, 'edge_media_source_frames_total', 'frames (distinct RTP timestamps) from the encoder', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.frames]))
  liveCounter(registry, 'edge_media_source_key_frames_total', 'key frames from the encoder', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.keyFrames]))
  liveCounter(registry, 'edge_media_source_key_frame_requests_total', 'key frames asked of the encoder (PLI/FIR)', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.keyFrameRequests]))
  liveCounter(registry, 'edge_gstreamer_restarts_total', 'restarts of a source\'s gst-launch process by its supervisor', ['source'], () =>
    running().map(s => [{ source: s.name }, s.stats.restarts]))

  return {
    registry,
    contentType: registry.contentType,
    render: cachedRender(async () => await registry.metrics(), RENDER_CACHE_MS)
  }
}
