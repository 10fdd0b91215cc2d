import type { BrowserInfo, SessionInfo } from '../daemon/api-types.ts'
import type { SourceInfo } from '../media/media-sources.ts'
import { formatTable } from './format-table.ts'
import { formatRtt } from './commands/sessions.ts'
import { BROWSER_PEER, browserConsumer } from '../web/browser-info.ts'

/** What `edgectl top` fetches each tick. */
export interface TopSnapshot {
  at: number
  sessions: SessionInfo[]
  /** Browser sessions (GET /v1/sessions `browsers`; absent from older daemons). */
  browsers?: BrowserInfo[]
  sources: SourceInfo[]
}

/** One tick as `top --json` prints it: rates are bits per second since the previous tick (null on the first, or after a reconnect). */
export interface TopTick {
  at: string
  sessions: Array<{
    peer: string
    name: string | null
    state: string
    profile: string
    rttMs: number | null
    sendBps: number | null
    recvBps: number | null
    /** Messages dropped on lossy channels (send queue and local delivery). */
    dropped: number
  }>
  /**
   * One row per consumer: a send track of a session (a peer watching one of
   * our sources), then of a browser session (a WHEP player: peer "browser").
   */
  consumers: Array<{
    peer: string
    name: string | null
    /** The track's mid (the peer's watch id); a browser's: `<session id's first 8 characters>/<mid>`. */
    consumer: string
    /** A browser's track: its session's id (as GET /v1/sessions lists it under `browsers`); null for a peer's. */
    browser: string | null
    source: string | null
    bitrateKbps: number
    targetBitrateKbps: number | null
    /** Congestion control's estimate of the consumer's link (bit/s) and its signal; null without congestion control or before feedback. */
    estimateBps: number | null
    estimateSource: 'transport-cc' | 'remb' | 'receiver-reports' | null
    /** Queueing delay the estimator sees, ms. */
    queueingDelayMs: number | null
    /** Percent, from the receiver's last report; null before one. */
    lossPercent: number | null
    packetsLost: number | null
    rttMs: number | null
    jitterMs: number | null
    nacks: number
    retransmits: number
    plis: number
  }>
  sources: Array<{
    name: string
    kind: string
    running: boolean
    users: number
    bitrateKbps: number | null
    frames: number | null
    lost: number | null
    restarts: number | null
  }>
}

const rate = (now: number, before: number | undefined, seconds: number): number | null =>
  before === undefined || seconds <= 0 || now < before ? null : Math.round((now - before) * 8 / seconds)

type ConsumerRow = TopTick['consumers'][number]

/** A send track's row (none for a receive track): its sender's figures and its congestion control's. */
function consumerRow (t: SessionInfo['tracks'][number], who: Pick<ConsumerRow, 'peer' | 'name' | 'consumer' | 'browser'>): ConsumerRow[] {
  if (t.sender === undefined) return []
  return [{
    ...who,
    source: t.source ?? null,
    bitrateKbps: t.sender.bitrateKbps,
    targetBitrateKbps: t.sender.targetBitrateKbps,
    estimateBps: t.congestion?.estimateBps ?? null,
    estimateSource: t.congestion?.source ?? null,
    queueingDelayMs: t.congestion?.queueingDelayMs ?? null,
    lossPercent: t.sender.fractionLost === null ? null : Math.round(t.sender.fractionLost * 1000) / 10,
    packetsLost: t.sender.packetsLost,
    rttMs: t.sender.rttMs,
    jitterMs: t.sender.jitterMs,
    nacks: t.sender.nacks,
    retransmits: t.sender.retransmits,
    plis: t.sender.plis + t.sender.firs
  }]
}

export function topTick (now: TopSnapshot, previous: TopSnapshot | undefined): TopTick {
  const seconds = previous === undefined ? 0 : (now.at - previous.at) / 1000
  const before = new Map(previous?.sessions.filter(s => s.session !== null).map(s => [`${s.peer} ${s.session}`, s]) ?? [])
  return {
    at: new Date(now.at).toISOString(),
    sessions: now.sessions.map(s => {
      const prev = s.session === null ? undefined : before.get(`${s.peer} ${s.session}`)
      return {
        peer: s.peer,
        name: s.name,
        state: s.state,
        profile: s.profile,
        rttMs: s.rttMs,
        sendBps: s.session === null ? null : rate(s.bytesSent, prev?.bytesSent, seconds),
        recvBps: s.session === null ? null : rate(s.bytesReceived, prev?.bytesReceived, seconds),
        dropped: s.channels.reduce((n, c) => n + c.dropped + (c.localDropped ?? 0), 0)
      }
    }),
    consumers: [
      ...now.sessions.flatMap(s => s.tracks.flatMap(t => consumerRow(t, { peer: s.peer, name: s.name, consumer: t.mid, browser: null }))),
      ...(now.browsers ?? []).flatMap(b => b.tracks.flatMap(t => consumerRow(t, { peer: BROWSER_PEER, name: null, consumer: browserConsumer(b.id, t.mid), browser: b.id })))
    ],
    sources: now.sources.map(s => ({
      name: s.name,
      kind: s.kind,
      running: s.running,
      users: s.users,
      bitrateKbps: s.stats?.bitrateKbps ?? null,
      frames: s.stats?.frames ?? null,
      lost: s.stats?.lost ?? null,
      restarts: s.stats?.restarts ?? null
    }))
  }
}

/** A bit rate the way people read it: `0 bit/s`, `850 kbit/s`, `1.5 Mbit/s`. */
export function formatBitrate (bps: number | null): string {
  if (bps === null) return '-'
  if (bps < 1000) return `${bps} bit/s`
  if (bps < 1_000_000) return `${Math.round(bps / 1000)} kbit/s`
  return `${(bps / 1_000_000).toFixed(1)} Mbit/s`
}

const dash = (v: number | null): string => v === null ? '-' : String(v)

/** Peer ids in the consumers table: the last 8 characters (as the web viewer shows them); the sessions table above has them whole. */
const PEER_SUFFIX_CHARS = 8
export const shortPeer = (peer: string): string => peer.length > PEER_SUFFIX_CHARS + 1 ? `…${peer.slice(-PEER_SUFFIX_CHARS)}` : peer

/** The full screen of one tick (without the ANSI clear). */
export function formatTop (tick: TopTick, socket: string): string {
  const sessions = tick.sessions.length === 0
    ? 'no sessions\n'
    : formatTable(['PEER', 'NAME', 'STATE', 'PROFILE', 'RTT', 'SEND', 'RECV', 'DROPPED'], tick.sessions.map(s => [
      s.peer, s.name ?? '-', s.state, s.profile, formatRtt(s.rttMs), formatBitrate(s.sendBps), formatBitrate(s.recvBps), String(s.dropped)
    ]))
  const sources = tick.sources.length === 0
    ? 'no local sources\n'
    : formatTable(['SOURCE', 'KIND', 'RUNNING', 'VIEWERS', 'BITRATE', 'FRAMES', 'LOST', 'RESTARTS'], tick.sources.map(s => [
      s.name, s.kind, s.running ? 'yes' : 'no', String(s.users),
      formatBitrate(s.bitrateKbps === null ? null : s.bitrateKbps * 1000), dash(s.frames), dash(s.lost), dash(s.restarts)
    ]))
  const kbps = (v: number | null): string => formatBitrate(v === null ? null : v * 1000)
  const ms = (v: number | null): string => v === null ? '-' : `${v.toFixed(1)} ms`
  const consumers = tick.consumers.length === 0
    ? 'no consumers\n'
    : formatTable(['PEER', 'NAME', 'CONSUMER', 'SOURCE', 'BITRATE', 'TARGET', 'ESTIMATE', 'QDELAY', 'LOSS', 'LOST', 'RTT', 'JITTER', 'NACKS', 'RESENT', 'PLI'], tick.consumers.map(c => [
      shortPeer(c.peer), c.name ?? '-', c.consumer, c.source ?? '-', kbps(c.bitrateKbps), kbps(c.targetBitrateKbps), formatBitrate(c.estimateBps), ms(c.queueingDelayMs),
      c.lossPercent === null ? '-' : `${c.lossPercent} %`, dash(c.packetsLost), ms(c.rttMs), ms(c.jitterMs), String(c.nacks), String(c.retransmits), String(c.plis)
    ]))
  return `edged ${socket}  ${tick.at.slice(11, 19)}  (q to quit)\n\n${sessions}\n${consumers}\n${sources}`
}
