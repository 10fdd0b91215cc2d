import { randomBytes, randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import { channelClient, type ChannelHub } from '../core/sessions/channel-hub.ts'
import type { SessionManager } from '../core/sessions/session-manager.ts'
import type { Consumer } from '../core/media-router/consumer.ts'
import type { MediaRouter } from '../core/media-router/media-router.ts'
import type { MediaSources } from '../media/media-sources.ts'
import type { PeerInfo } from '../signalling/types.ts'
import { trackStats, type TrackCodec, type TrackInit, type TrackKind } from '../transport/track-types.ts'
import { BadRequestError, BadSdpError, NotFoundError, TooManySessionsError } from '../util/errors.ts'
import { SOURCE_NAME } from '../util/names.ts'
import type { Startable } from '../util/startable.ts'
import { attachBrowserChannel } from './browser-channels.ts'
import type { BrowserInfo, BrowserSessionInfo } from './browser-info.ts'
import { BrowserSession, type BrowserRtcConfig } from './browser-session.ts'
import { findReceivingSection, offeredSections, pickCodec, publisherCodec, receivingSection, sendingSections, type OfferedCodec, type OfferedSection } from './offer-sdp.ts'
import { PublishedSource } from './published-source.ts'

/** Browser sessions (WHEP players and WHIP publishers) at once. */
export const MAX_BROWSER_SESSIONS = 32
/** What a WHIP client may publish (it chooses among them by its own order). */
const PUBLISHED_VIDEO: TrackInit['codec'][] = ['h264', 'vp8', 'vp9', 'av1']

export type { BrowserInfo, BrowserSessionInfo }

interface Entry {
  session: BrowserSession
  kind: 'whep' | 'whip'
  peer: string | null
  /** WHEP: the source played; WHIP: the sources published, comma-separated. */
  source: string
  audio: string | null
  /** The source of each of the session's tracks, send tracks then receive tracks (as they are in the session). */
  trackSources: string[]
}

export interface BrowserServiceInit {
  localPeer: string
  media: MediaSources
  sessions: Pick<SessionManager, 'link' | 'connect' | 'on' | 'off' | 'session'>
  channels: Pick<ChannelHub, 'endpoint' | 'endpointIfRoom'>
  peers: () => PeerInfo[]
  /** The daemon's media router: its sources, and peers' sources it forwards; each browser track is a consumer. */
  router: Pick<MediaRouter, 'describe' | 'consume'>
  /** The rtc settings browser sessions use (bind address, ports, MTU, ICE servers). */
  rtc: () => BrowserRtcConfig
  logger: Logger
}

/**
 * Browsers and other WHEP/WHIP clients: plays this daemon's sources and its
 * peers' (forwarded), one BrowserSession per client, each ended by DELETE on
 * its resource, by the client going away, or by stop().
 */
export class BrowserService implements Startable {
  readonly #init: BrowserServiceInit
  readonly #log: Logger
  readonly #entries = new Map<string, Entry>()
  #running = false

  constructor (init: BrowserServiceInit) {
    this.#init = init
    this.#log = init.logger
  }

  async start (): Promise<void> {
    this.#running = true
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    // Their tracks close, and so their consumers (the router stops after us).
    for (const e of [...this.#entries.values()]) e.session.close()
  }

  list (): BrowserSessionInfo[] {
    return [...this.#entries.entries()].map(([id, e]) => sessionInfo(id, e))
  }

  /** list() with each session's tracks and their figures (a WHEP player's send tracks are consumers: `sender`, `congestion`). */
  listWithTracks (): BrowserInfo[] {
    return [...this.#entries.entries()].map(([id, e]) => ({
      ...sessionInfo(id, e),
      tracks: [...e.session.sendTracks, ...e.session.recvTracks].map((t, i) => ({ ...trackStats(t), source: e.trackSources[i] }))
    }))
  }

  /**
   * WHEP: play `source` of this daemon (peer undefined or ours) or of a peer,
   * with an audio source in the same session: `audio` when given, else
   * `<source>.audio` when there is one (a WHIP publisher's) and the offer can
   * receive audio. Resolves to the resource id and our SDP answer.
   */
  async play (offer: string, peer: string | undefined, source: string, audio?: string): Promise<{ id: string, answer: string }> {
    const remote = peer !== undefined && peer !== this.#init.localPeer
    const from = remote ? peer : undefined
    const describe = (name: string): { kind: TrackKind, codec: TrackCodec } => this.#init.router.describe(from, name)
    const main = describe(source)
    this.#checkRoom()
    const sections = offeredSections(offer)
    const played = [{ name: source, ...main, ...playedCodec(receivingSection(sections, main.kind), main.codec, source) }]
    if (audio !== undefined) {
      const extra = describe(audio)
      if (extra.kind !== 'audio' || main.kind !== 'video') throw new BadRequestError(`audio=${audio}: plays an audio source beside a video one (${source} is ${main.kind}, ${audio} is ${extra.kind})`)
      played.push({ name: audio, ...extra, ...playedCodec(receivingSection(sections, 'audio'), extra.codec, audio) })
    } else if (main.kind === 'video') {
      const companion = companionAudio(sections, `${source}.audio`, name => { try { return describe(name) } catch { return undefined } })
      if (companion !== undefined) played.push(companion)
    }
    const id = randomBytes(12).toString('base64url')
    const client = channelClient(`browser session ${id}`)
    const tracks: TrackInit[] = played.map(p => ({ mid: p.section.mid, kind: p.kind, codec: p.codec, payloadType: p.offered.payloadType, ssrc: randomInt(1, 0xffffffff), clockRate: p.offered.clockRate }))
    const session = new BrowserSession({
      id,
      offer,
      send: tracks,
      rtc: this.#init.rtc(),
      onChannel: dc => { attachBrowserChannel({ channels: this.#init.channels, client, sessions: this.#init.sessions, logger: this.#log }, dc, remote ? peer : undefined) },
      logger: this.#log
    })
    const entry: Entry = { session, kind: 'whep', peer: remote ? peer : null, source, audio: played[1]?.name ?? null, trackSources: played.map(p => p.name) }
    this.#keep(id, entry)
    const held = played.map(async p => await this.#init.router.consume(from, p.name, { kind: 'browser', client: `browser ${id}` }))
    const [answered, ...acquired] = await Promise.allSettled([session.answer(), ...held])
    const failed = [answered, ...acquired].find(r => r.status === 'rejected')
    if (failed !== undefined) {
      session.close()
      for (const got of acquired) if (got.status === 'fulfilled') got.value.close()
      throw failed.reason
    }
    // Each track plays its source until it closes (the session ends), or closes when the stream ends.
    for (const [i, got] of acquired.entries()) (got as PromiseFulfilledResult<Consumer>).value.attach(session.sendTracks[i])
    this.#log.info({ browser: id, peer: entry.peer, source, audio: entry.audio }, 'browser playing')
    return { id, answer: (answered as PromiseFulfilledResult<string>).value }
  }

  /**
   * WHIP: publish the client's tracks as sources of this daemon: its video as
   * `name`, its audio as `name` too when it sends nothing else, else as
   * `name.audio`. They are in MediaSources (so in presence, for peers to
   * watch, and for WHEP) until the session ends. Resolves to the resource id,
   * our answer and the names.
   */
  async publish (offer: string, name: string, publisher: string): Promise<{ id: string, answer: string, sources: string[] }> {
    this.#checkRoom()
    const sections = sendingSections(offeredSections(offer))
    const video = sections.find(s => s.kind === 'video')
    const audio = sections.find(s => s.kind === 'audio')
    if (video === undefined && audio === undefined) throw new BadSdpError('the offer has no audio or video section that sends (a=sendonly or a=sendrecv): nothing to publish')
    const wanted: Array<{ name: string, section: OfferedSection, codec: TrackInit['codec'], offered: OfferedCodec }> = []
    if (video !== undefined) wanted.push({ name, section: video, ...publishedCodec(video, PUBLISHED_VIDEO) })
    if (audio !== undefined) wanted.push({ name: video === undefined ? name : `${name}.audio`, section: audio, ...publishedCodec(audio, ['opus']) })
    for (const w of wanted) {
      if (!SOURCE_NAME.test(w.name)) throw new BadRequestError(`source names are 1-64 letters, digits, . _ - (${JSON.stringify(w.name.slice(0, 80))} is not)`)
    }
    // Before a PeerConnection is made for it; publish() checks again once we have answered.
    this.#init.media.checkPublishable(wanted.map(w => w.name))
    const id = randomBytes(12).toString('base64url')
    const recv: TrackInit[] = wanted.map(w => ({
      mid: w.section.mid,
      kind: w.section.kind as TrackInit['kind'],
      codec: w.codec,
      payloadType: w.offered.payloadType,
      ssrc: w.section.ssrc ?? randomInt(1, 0xffffffff),
      clockRate: w.offered.clockRate
    }))
    const session = new BrowserSession({ id, offer, recv, rtc: this.#init.rtc(), logger: this.#log })
    const entry: Entry = { session, kind: 'whip', peer: null, source: wanted.map(w => w.name).join(','), audio: null, trackSources: wanted.map(w => w.name) }
    this.#keep(id, entry)
    const answer = await session.answer()
    const published: PublishedSource[] = []
    try {
      for (const [i, w] of wanted.entries()) {
        const source = new PublishedSource({ name: w.name, track: session.recvTracks[i], publisher: `whip ${publisher}` })
        this.#init.media.publish(w.name, { source, onRemoved: reason => { this.#log.info({ browser: id, source: w.name, reason }, 'published source taken away'); session.close() } })
        published.push(source)
      }
    } catch (err) {
      // Another publisher took a name while we answered.
      for (const source of published) this.#init.media.unpublish(source.name, source, 'its publisher failed to start')
      session.close()
      throw err
    }
    session.once('close', () => {
      for (const source of published) this.#init.media.unpublish(source.name, source, `its publisher left (WHIP session ${id} ended)`)
    })
    this.#log.info({ browser: id, sources: entry.source, codecs: wanted.map(w => w.codec) }, 'browser publishing')
    return { id, answer, sources: wanted.map(w => w.name) }
  }

  /** DELETE on a resource. */
  end (id: string): void {
    const entry = this.#entries.get(id)
    if (entry === undefined) throw new NotFoundError(`no browser session ${id}`)
    entry.session.close()
  }

  #checkRoom (): void {
    if (!this.#running) throw new TooManySessionsError('the web listener is stopping')
    if (this.#entries.size >= MAX_BROWSER_SESSIONS) throw new TooManySessionsError(`this daemon serves at most ${MAX_BROWSER_SESSIONS} browser sessions`)
  }

  #keep (id: string, entry: Entry): void {
    this.#entries.set(id, entry)
    entry.session.once('close', () => {
      this.#entries.delete(id)
      this.#log.info({ browser: id, kind: entry.kind, source: entry.source }, 'browser session ended')
    })
  }
}

function sessionInfo (id: string, e: Entry): BrowserSessionInfo {
  return {
    id,
    kind: e.kind,
    peer: e.peer,
    source: e.source,
    audio: e.audio,
    state: e.session.state,
    createdAt: e.session.createdAt.toISOString(),
    connectedAt: e.session.connectedAt?.toISOString() ?? null,
    ...e.session.stats(),
    packetsSent: e.session.sendTracks.reduce((n, t) => n + t.stats().packets, 0)
  }
}

/** The offered payload type for a source's codec, or a BadSdpError. */
function playedCodec (section: OfferedSection, codec: TrackCodec, source: string): { section: OfferedSection, offered: OfferedCodec } {
  const offered = pickCodec(section, codec)
  if (offered === undefined) {
    throw new BadSdpError(`the offer's ${section.kind} section (mid ${section.mid}) does not offer ${codec}${codec === 'h264' ? ' with packetization-mode=1, constrained baseline' : ''}, which source ${source} sends`)
  }
  return { section, offered }
}

/** `name` as the audio of a video played, when it exists and the offer can take it; else nothing (it is optional). */
function companionAudio (sections: OfferedSection[], name: string, describe: (name: string) => { kind: TrackKind, codec: TrackCodec } | undefined): { name: string, kind: TrackKind, codec: TrackCodec, section: OfferedSection, offered: OfferedCodec } | undefined {
  const info = describe(name)
  if (info?.kind !== 'audio') return undefined
  const section = findReceivingSection(sections, 'audio')
  const offered = section === undefined ? undefined : pickCodec(section, info.codec)
  return section === undefined || offered === undefined ? undefined : { name, ...info, section, offered }
}

/** The WHIP client's preferred codec among those accepted (publisherCodec), or a BadSdpError naming what it offered. */
function publishedCodec (section: OfferedSection, accepted: Array<TrackInit['codec']>): { codec: TrackInit['codec'], offered: OfferedCodec } {
  const chosen = publisherCodec(section, accepted)
  if (chosen !== undefined) return chosen
  const names = [...new Set(section.codecs.map(c => c.name).filter(n => n !== ''))].join(', ')
  throw new BadSdpError(`the offer's ${section.kind} section (mid ${section.mid}) sends ${names === '' ? 'no codec' : names}; this daemon takes ${accepted.join(', ')}${accepted.includes('h264') ? ' (H.264 with packetization-mode=1, baseline)' : ''}`)
}
