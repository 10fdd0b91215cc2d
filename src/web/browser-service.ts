import { randomBytes, randomInt } from 'node:crypto'
import type { Logger } from 'pino'
import type { ChannelHub } from '../daemon/sessions/channel-hub.ts'
import type { SessionManager } from '../daemon/sessions/session-manager.ts'
import type { MediaSources } from '../media/media-sources.ts'
import type { PeerInfo } from '../signalling/types.ts'
import type { TrackInit } from '../transport/track-types.ts'
import { BadSdpError, NotFoundError, TooManySessionsError } from '../util/errors.ts'
import type { Startable } from '../util/startable.ts'
import { attachBrowserChannel } from './browser-channels.ts'
import { BrowserSession, type BrowserRtcConfig } from './browser-session.ts'
import { LocalFeeds } from './local-feeds.ts'
import { offeredSections, pickCodec, receivingSection } from './offer-sdp.ts'
import { RemoteFeeds } from './remote-feeds.ts'

/** Browser sessions (WHEP players and WHIP publishers) at once. */
export const MAX_BROWSER_SESSIONS = 32

export interface BrowserSessionInfo {
  id: string
  kind: 'whep' | 'whip'
  peer: string | null
  source: string
  state: string
  createdAt: string
  connectedAt: string | null
  rttMs: number | null
  bytesSent: number
  bytesReceived: number
  packetsSent: number
}

interface Entry {
  session: BrowserSession
  kind: 'whep' | 'whip'
  peer: string | null
  source: string
}

export interface BrowserServiceInit {
  localPeer: string
  media: MediaSources
  sessions: Pick<SessionManager, 'link' | 'connect' | 'on' | 'off' | 'session'>
  channels: Pick<ChannelHub, 'endpoint'>
  peers: () => PeerInfo[]
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
  readonly local: LocalFeeds
  readonly remote: RemoteFeeds
  #running = false

  constructor (init: BrowserServiceInit) {
    this.#init = init
    this.#log = init.logger
    this.local = new LocalFeeds({ media: init.media, logger: init.logger })
    this.remote = new RemoteFeeds({ localPeer: init.localPeer, sessions: init.sessions, peers: init.peers, logger: init.logger })
  }

  async start (): Promise<void> {
    this.#running = true
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    for (const e of [...this.#entries.values()]) e.session.close()
    this.local.close()
    await this.remote.close()
  }

  list (): BrowserSessionInfo[] {
    return [...this.#entries.entries()].map(([id, e]) => ({
      id,
      kind: e.kind,
      peer: e.peer,
      source: e.source,
      state: e.session.state,
      createdAt: e.session.createdAt.toISOString(),
      connectedAt: e.session.connectedAt?.toISOString() ?? null,
      ...e.session.stats(),
      packetsSent: e.session.sendTracks.reduce((n, t) => n + t.stats().packets, 0)
    }))
  }

  /**
   * WHEP: play `source` of this daemon (peer undefined or ours) or of a peer.
   * Resolves to the resource id and our SDP answer.
   */
  async play (offer: string, peer: string | undefined, source: string): Promise<{ id: string, answer: string }> {
    const remote = peer !== undefined && peer !== this.#init.localPeer
    const { kind, codec } = remote ? this.remote.describe(peer, source) : this.local.describe(source)
    this.#checkRoom()
    const sections = offeredSections(offer)
    const section = receivingSection(sections, kind)
    const offered = pickCodec(section, codec)
    if (offered === undefined) {
      throw new BadSdpError(`the offer's ${kind} section (mid ${section.mid}) does not offer ${codec}${codec === 'h264' ? ' with packetization-mode=1, constrained baseline' : ''}, which source ${source} sends`)
    }
    const id = randomBytes(12).toString('base64url')
    const track: TrackInit = { mid: section.mid, kind, codec, payloadType: offered.payloadType, ssrc: randomInt(1, 0xffffffff), clockRate: offered.clockRate }
    const session = new BrowserSession({
      id,
      offer,
      send: [track],
      rtc: this.#init.rtc(),
      onChannel: dc => { attachBrowserChannel({ channels: this.#init.channels, sessions: this.#init.sessions, logger: this.#log }, dc, remote ? peer : undefined) },
      logger: this.#log
    })
    const entry: Entry = { session, kind: 'whep', peer: remote ? peer : null, source }
    this.#keep(id, entry)
    const sendTrack = session.sendTracks[0]
    const held = remote ? this.remote.acquire(peer, source).then(() => undefined) : this.local.acquire(source)
    const [answered, acquired] = await Promise.allSettled([session.answer(), held])
    if (answered.status === 'rejected' || acquired.status === 'rejected') {
      session.close()
      if (acquired.status === 'fulfilled') await (remote ? this.remote.release(peer, source) : this.local.release(source))
      throw answered.status === 'rejected' ? answered.reason : (acquired as PromiseRejectedResult).reason
    }
    if (remote) this.remote.feed(peer, source, sendTrack)
    else this.local.feed(source, acquired.value as NonNullable<typeof acquired.value>, sendTrack)
    this.#log.info({ browser: id, peer: entry.peer, source }, 'browser playing')
    return { id, answer: answered.value }
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
