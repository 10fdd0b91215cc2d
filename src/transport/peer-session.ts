import { PeerConnection, type DataChannel } from 'node-datachannel'
import type { Logger } from 'pino'
import { ChannelOpenError, ConflictError, InvalidSignalError, SessionClosedError } from '../util/errors.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { logRateLimited, type RateLimitedLog } from '../util/rate-limited-log.ts'
import { DEFAULT_CHANNEL_LIMITS, RtcChannel } from './channel.ts'
import { decodeChannelProtocol, encodeChannelProtocol } from './channel-protocol.ts'
import { fingerprintFromSdp, normaliseFingerprint, sameFingerprint } from './fingerprint.ts'
import { MEDIA_ANCHOR_MID, mediaAnchor } from './media-anchor.ts'
import { profileSettings, type ProfileSettings } from './profiles.ts'
import { rtcConfig } from './rtc-config.ts'
import { takeCandidates } from './sdp-candidates.ts'
import { sdpSections } from './sdp-sections.ts'
import { transportCcExtmaps, withTransportCcExtmap } from './sdp-extmap.ts'
import { selectedPair } from './selected-pair.ts'
import { keepChannel } from './session-channels.ts'
import { SessionStateMachine } from './session-state.ts'
import { checkCandidate, checkSdp, MAX_MEDIA_SECTIONS } from './signal-limits.ts'
import { RtcRecvTrack, RtcSendTrack, trackDescription } from './track.ts'
import { trackStats, type RecvTrack, type SendTrack, type TrackInit } from './track-types.ts'
import type {
  Channel, ChannelLimits, ChannelOptions, Fingerprint, PeerSession, PeerSessionEvents, PeerSessionInit,
  SelectedPair, SessionRole, SessionSignal, SessionState, SessionStats, StackProfile
} from './types.ts'

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000
export const DEFAULT_CANDIDATE_HOLD_MS = 250
/** Remote candidates held until the remote description is applied. */
const MAX_EARLY_CANDIDATES = 64
/** Remote candidates accepted over a session's life (each one costs connectivity checks). */
const MAX_REMOTE_CANDIDATES = 256
const RELIABLE: ChannelOptions = { ordered: true }
/**
 * A pre-negotiated channel both ends create and never use. It gives an offerer
 * with no channels to open an SCTP association (libdatachannel negotiates one
 * only for a channel), and its opening tells us libdatachannel has opened the
 * channels that waited for SCTP: a channel created between SCTP coming up and
 * that moment is opened twice, and the far end resets its stream.
 */
const SYNC_LABEL = 'edge-stack/sync'
const SYNC_STREAM_ID = 1023

const STATES: Record<string, SessionState> = {
  new: 'connecting',
  connecting: 'connecting',
  connected: 'connected',
  disconnected: 'disconnected',
  failed: 'failed',
  closed: 'closed'
}

/** One PeerConnection to one remote peer, with its data channels. */
export function createPeerSession (init: PeerSessionInit): PeerSession {
  return new RtcPeerSession(init)
}

/**
 * Channels a session may have opening (asked for, not yet open) at once: a
 * burst of opens (a thousand WebSockets on new labels) is refused beyond it
 * with ChannelOpenError rather than queued in libdatachannel.
 */
export const MAX_OPENING_CHANNELS = 64

class RtcPeerSession extends TypedEmitter<PeerSessionEvents> implements PeerSession {
  readonly remotePeer: string
  readonly role: SessionRole
  readonly profile: StackProfile
  readonly #init: PeerSessionInit
  readonly #settings: ProfileSettings
  readonly #limits: ChannelLimits
  readonly #log: Logger
  readonly #pc: PeerConnection
  readonly #channels = new Map<string, RtcChannel>()
  /** Channels this end opened (openChannel), as opposed to those the peer opened. */
  readonly #ours = new WeakSet<RtcChannel>()
  /** Channels waiting to be created (see openChannel). */
  readonly #deferred: RtcChannel[] = []
  /**
   * libdatachannel refused a channel (its SCTP streams are used up): refuse
   * the next ones without asking it, until a channel closes and frees a stream.
   */
  #streamsFull: string | undefined
  readonly #warnRefused: RateLimitedLog
  #sync: RtcChannel | null = null
  /** The `media` profile's inactive section (see media-anchor.ts). */
  #anchor: ReturnType<PeerConnection['addTrack']> | null = null
  readonly #state: SessionStateMachine
  #closed = false
  readonly #createdAt = new Date()
  #connectedAt: Date | null = null
  #timer: NodeJS.Timeout | undefined
  #localDescriptionSent = false
  /** Local candidates not signalled yet (see #flushLocalCandidates). */
  readonly #unsentCandidates: Array<{ candidate: string, mid: string }> = []
  #releaseCandidates = false
  #holdTimer: NodeJS.Timeout | undefined
  #remoteSdp: string | null = null
  readonly #earlyCandidates: Array<{ candidate: string, mid: string }> = []
  #remoteCandidates = 0
  #remoteFingerprint: Fingerprint | null = null
  /** The o= line of the last remote description applied: a description that repeats it is a replay. */
  #remoteOrigin: string | null = null
  #finalBytes: { sent: number, received: number } | null = null
  /** Tracks by mid; media sections stay in the SDP once added (closed ones as port 0). */
  readonly #tracks = new Map<string, RtcSendTrack | RtcRecvTrack>()
  #mediaSections = 0
  /** Offerer: our offer awaits its answer. */
  #offerPending = false
  /** Offerer: tracks changed while an offer was out: offer again after the answer. */
  #renegotiate = false

  constructor (init: PeerSessionInit) {
    super()
    this.remotePeer = init.remotePeer
    this.role = init.role
    this.profile = init.profile
    this.#init = init
    this.#settings = profileSettings(init.profile)
    this.#limits = { ...DEFAULT_CHANNEL_LIMITS, ...init.channelLimits }
    this.#log = init.logger.child({ peer: init.remotePeer, role: init.role })
    this.#warnRefused = logRateLimited(this.#log, 60_000)
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'session listener threw') }
    this.#state = new SessionStateMachine({ session: this, isClosed: () => this.#closed, log: this.#log, failMessage: 'session failed' })

    this.#pc = new PeerConnection(init.remotePeer, rtcConfig(init, this.#settings))
    // Every callback is set before anything can fire; onStateChange must be set for
    // node-datachannel to release the connection's native callbacks once closed.
    this.#pc.onStateChange(state => { this.#guard('state', () => { this.#pcState(state) }) })
    this.#pc.onLocalDescription((sdp, type) => { this.#guard('local-description', () => { this.#localDescription(sdp, type) }) })
    this.#pc.onLocalCandidate((candidate, mid) => { this.#guard('local-candidate', () => { this.#localCandidate(candidate, mid) }) })
    this.#pc.onIceStateChange(state => {
      this.#guard('ice-state', () => {
        this.#log.debug({ ice: state }, 'ice state')
        if (state === 'connected' || state === 'completed') this.#releaseOffererCandidates('ICE connected')
      })
    })
    this.#pc.onDataChannel(dc => { this.#guard('data-channel', () => { this.#remoteChannel(dc) }) })
    // Both ends add a track's media section before the offer carrying it (see addSendTrack):
    // a track libdatachannel creates from a remote offer is one nobody asked for.
    this.#pc.onTrack(track => {
      this.#guard('track', () => {
        this.#log.warn({ mid: track.mid() }, 'closing a track the peer added unasked')
        track.close()
      })
    })

    try {
      if (this.role === 'offerer') this.#openDeclaredChannels()
      if (!this.#settings.dataChannels) {
        // No SCTP: both ends add the anchor section; the offerer offers it (tracks do not auto-negotiate).
        this.#anchor = this.#pc.addTrack(mediaAnchor())
        this.#mediaSections++
        if (this.role === 'offerer') this.#pc.setLocalDescription('offer')
      }
    } catch (err) {
      this.close()
      throw err
    }
    const timeoutMs = init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    this.#timer = setTimeout(() => { this.#state.fail(`not connected after ${timeoutMs} ms`) }, timeoutMs)
    this.#log.debug({ profile: this.profile }, 'session created')
  }

  get state (): SessionState {
    return this.#state.current
  }

  handleSignal (signal: SessionSignal): void {
    if (this.#closed) {
      this.#log.debug({ type: signal?.type }, 'signal after close ignored')
      return
    }
    switch (signal?.type) {
      case 'offer': this.#remoteDescription(signal.sdp ?? '', 'offer'); break
      case 'answer': this.#remoteDescription(signal.sdp ?? '', 'answer'); break
      case 'candidate': this.#remoteCandidate(signal.candidate, signal.mid); break
      default: throw new InvalidSignalError(`unknown signal type ${JSON.stringify((signal as { type?: unknown })?.type)}`)
    }
  }

  openChannel (label: string, options: ChannelOptions = RELIABLE): Channel {
    if (this.#closed) throw new SessionClosedError(`session with ${this.remotePeer} is closed`)
    if (!this.#settings.dataChannels) throw new ConflictError(`stack profile ${this.profile} has no data channels`)
    if (label === SYNC_LABEL) throw new ConflictError(`channel label ${label} is reserved`)
    if (this.#channels.has(label)) throw new ConflictError(`channel ${label} already exists`)
    let opening = 0
    for (const c of this.#channels.values()) if (!c.isOpen && !c.isClosed) opening++
    if (opening >= MAX_OPENING_CHANNELS) throw new ChannelOpenError(`channel ${label} to ${this.remotePeer} not opened: ${opening} channels are opening already, try again`)
    const channel = this.#newChannel(label, options)
    this.#ours.add(channel)
    // An answerer waits for the offer (a channel before it makes libdatachannel offer
    // too: glare); once the descriptions are in, SCTP may come up, and a channel
    // waits until libdatachannel has opened the pending ones (see SYNC_LABEL).
    const wait = this.#remoteSdp === null ? this.role === 'answerer' : this.#sync?.isOpen !== true
    if (wait) this.#deferred.push(channel)
    else if (!this.#createNative(channel)) throw new ChannelOpenError(`channel ${label} to ${this.remotePeer} could not be created: ${channel.failure}`)
    return channel
  }

  addSendTrack (init: TrackInit): SendTrack {
    const track = new RtcSendTrack(this.#addNativeTrack(init, 'SendOnly'), init, this.#log)
    this.#keepTrack(track)
    return track
  }

  addRecvTrack (init: TrackInit): RecvTrack {
    const track = new RtcRecvTrack(this.#addNativeTrack(init, 'RecvOnly'), init, this.#log)
    this.#keepTrack(track)
    return track
  }

  negotiate (): void {
    if (this.#closed) throw new SessionClosedError(`session with ${this.remotePeer} is closed`)
    if (this.role !== 'offerer') throw new ConflictError('only the offerer of a session makes offers')
    if (this.#offerPending || this.#remoteSdp === null) {
      this.#renegotiate = true
      return
    }
    this.#log.debug({ tracks: this.#tracks.size }, 'renegotiating')
    this.#pc.setLocalDescription('offer')
  }

  channel (label: string): Channel | undefined {
    return this.#channels.get(label)
  }

  channels (): Channel[] {
    return [...this.#channels.values()]
  }

  stats (): SessionStats {
    const bytes = this.#finalBytes ?? {
      sent: this.#native(() => this.#pc.bytesSent(), 0),
      received: this.#native(() => this.#pc.bytesReceived(), 0)
    }
    const rtt = this.#closed ? -1 : this.#native(() => this.#pc.rtt(), -1)
    return {
      remotePeer: this.remotePeer,
      state: this.#state.current,
      profile: this.profile,
      role: this.role,
      pair: this.pair(),
      rttMs: rtt >= 0 ? rtt : null,
      bytesSent: bytes.sent,
      bytesReceived: bytes.received,
      channels: this.channels().map(c => c.stats()),
      sections: this.#closed
        ? { local: [], remote: [] }
        : {
            local: sdpSections(this.#native(() => this.#pc.localDescription()?.sdp, undefined)),
            remote: sdpSections(this.#native(() => this.#pc.remoteDescription()?.sdp, undefined))
          },
      tracks: [...this.#tracks.values()].map(trackStats),
      createdAt: this.#createdAt.toISOString(),
      connectedAt: this.#connectedAt?.toISOString() ?? null
    }
  }

  pair (): SelectedPair | null {
    return this.#closed ? null : selectedPair(this.#pc)
  }

  localFingerprint (): Fingerprint | null {
    const sdp = this.#native(() => this.#pc.localDescription()?.sdp, undefined)
    return sdp === undefined ? null : fingerprintFromSdp(sdp)
  }

  remoteFingerprint (): Fingerprint | null {
    if (this.#remoteFingerprint === null && !this.#closed) this.#remoteFingerprint = this.#readRemoteFingerprint()
    return this.#remoteFingerprint
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    clearTimeout(this.#holdTimer)
    this.#remoteFingerprint ??= this.#readRemoteFingerprint()
    this.#finalBytes = {
      sent: this.#native(() => this.#pc.bytesSent(), 0),
      received: this.#native(() => this.#pc.bytesReceived(), 0)
    }
    // Channels first (their 'close' events), then the connection, whose teardown
    // closes the open ones natively (see RtcChannel.closeWithConnection).
    for (const channel of [...this.#channels.values(), ...this.#deferred]) channel.closeWithConnection()
    for (const track of this.#tracks.values()) track.closeWithConnection()
    this.#tracks.clear()
    this.#sync?.closeWithConnection()
    this.#channels.clear()
    this.#deferred.length = 0
    try {
      this.#pc.close()
    } catch (err) {
      this.#log.warn({ err }, 'closing peer connection')
    }
    this.#state.set('closed')
    this.#log.debug('session closed')
    this.emit('close')
  }

  #addNativeTrack (init: TrackInit, direction: 'SendOnly' | 'RecvOnly'): ReturnType<PeerConnection['addTrack']> {
    if (this.#closed) throw new SessionClosedError(`session with ${this.remotePeer} is closed`)
    if (!this.#settings.mediaTransport) throw new ConflictError(`stack profile ${this.profile} has no media tracks`)
    if (this.#tracks.has(init.mid) || init.mid === MEDIA_ANCHOR_MID) throw new ConflictError(`a track with mid ${init.mid} already exists`)
    // The data channel section counts too; the far end refuses SDP with more sections.
    if (this.#mediaSections + 2 > MAX_MEDIA_SECTIONS) {
      throw new ConflictError(`session with ${this.remotePeer} has used all ${MAX_MEDIA_SECTIONS - 1} media sections; reconnect it for more tracks`)
    }
    const native = this.#pc.addTrack(trackDescription(init, direction))
    this.#mediaSections++
    return native
  }

  /** Mids of our send tracks with congestion control: their sections declare transport-cc (sdp-extmap.ts). */
  #congestionMids (): Set<string> {
    const mids = new Set<string>()
    for (const track of this.#tracks.values()) if (track instanceof RtcSendTrack && track.init.congestion !== undefined) mids.add(track.init.mid)
    return mids
  }

  /** Receive tracks whose sender declares transport-cc send feedback. */
  #enableTransportCc (sdp: string): void {
    for (const [mid, id] of transportCcExtmaps(sdp)) {
      const track = this.#tracks.get(mid)
      if (track instanceof RtcRecvTrack) track.enableTransportCc(id)
    }
  }

  #keepTrack (track: RtcSendTrack | RtcRecvTrack): void {
    this.#tracks.set(track.init.mid, track)
    track.onceClosed(() => {
      if (this.#tracks.get(track.init.mid) === track) this.#tracks.delete(track.init.mid)
    })
  }

  #openDeclaredChannels (): void {
    if (!this.#settings.dataChannels) return
    this.#openSyncChannel()
    for (const [label, options] of Object.entries(this.#init.channels ?? {})) this.openChannel(label, options)
  }

  #openSyncChannel (): void {
    const sync = new RtcChannel({ label: SYNC_LABEL, options: RELIABLE, limits: this.#limits, logger: this.#log })
    sync.once('open', () => { this.#createDeferred() })
    sync.attach(this.#pc.createDataChannel(SYNC_LABEL, { negotiated: true, id: SYNC_STREAM_ID }))
    this.#sync = sync
  }

  #createDeferred (): void {
    for (const channel of this.#deferred.splice(0)) {
      if (!channel.isClosed) this.#createNative(channel)
    }
  }

  #newChannel (label: string, options: ChannelOptions): RtcChannel {
    const channel = new RtcChannel({ label, options, limits: this.#limits, logger: this.#log })
    return keepChannel(this.#channels, channel, opened => { this.emit('channel', opened) })
  }

  /**
   * Create the native channel; false, with the channel closed (its label free
   * again), when libdatachannel refuses (e.g. "Too many DataChannels": SCTP
   * streams run out near 512 a side).
   */
  #createNative (channel: RtcChannel): boolean {
    const { ordered, maxRetransmits, maxPacketLifeTime } = channel.options
    if (this.#streamsFull !== undefined) {
      channel.fail(this.#streamsFull)
      return false
    }
    let dc: DataChannel
    try {
      dc = this.#pc.createDataChannel(channel.label, {
        protocol: encodeChannelProtocol(channel.options),
        unordered: !ordered,
        ...(maxRetransmits !== undefined ? { maxRetransmits } : {}),
        ...(maxPacketLifeTime !== undefined ? { maxPacketLifeTime } : {})
      })
    } catch (err) {
      this.#streamsFull = (err as Error).message
      this.#warnRefused('warn', { channel: channel.label, err: this.#streamsFull }, 'data channel not created')
      channel.fail(this.#streamsFull)
      return false
    }
    channel.attach(dc)
    channel.once('close', () => { this.#streamsFull = undefined })
    return true
  }

  #remoteChannel (dc: DataChannel): void {
    const label = dc.getLabel()
    const options = decodeChannelProtocol(dc.getProtocol()) ?? this.#init.channels?.[label] ?? RELIABLE
    const existing = this.#channels.get(label)
    if (this.#closed || (existing !== undefined && this.role === 'offerer')) {
      // Both ends opened the same label at once: the offerer's channel wins on both ends.
      const loser = new RtcChannel({ label, options, limits: this.#limits, logger: this.#log })
      loser.attach(dc)
      loser.close()
      return
    }
    // Our own channel (glare): the offerer dropped it as it arrived, even if it opened here.
    if (existing !== undefined && this.#ours.has(existing)) existing.closeRefused()
    else existing?.close()
    const channel = this.#newChannel(label, options)
    channel.attach(dc)
  }

  #localDescription (sdp: string, type: string): void {
    if (this.#closed) return
    if (type !== 'offer' && type !== 'answer') {
      this.#log.warn({ type }, 'local description of unexpected type not sent')
      return
    }
    this.#log.debug({ type }, 'local description')
    if (type === 'offer') this.#offerPending = true
    this.#send({ type, sdp: withTransportCcExtmap(takeCandidates(sdp).sdp, this.#congestionMids()) })
    this.#localDescriptionSent = true
    this.#flushLocalCandidates()
  }

  #localCandidate (candidate: string, mid: string): void {
    if (this.#closed) return
    this.#unsentCandidates.push({ candidate, mid })
    this.#flushLocalCandidates()
  }

  /**
   * Candidates go out after our description (they come through separate native
   * queues and may reach us first). The offerer holds its own until its ICE is
   * connected, or candidateHoldMs after the answer (a NAT in front of the
   * answerer may need them). Until then the answerer only answers checks, so
   * the offerer, the DTLS server, always finishes ICE first and its DTLS
   * transport is up before the answerer's ClientHello arrives. The other way
   * round, libdatachannel 0.24 buffers that first flight, replays it before its
   * new DTLS transport is ready, and the handshake waits for the client's
   * retransmission, 1 s later.
   */
  #flushLocalCandidates (): void {
    if (!this.#localDescriptionSent) return
    if (this.role === 'offerer' && !this.#releaseCandidates) return
    for (const { candidate, mid } of this.#unsentCandidates.splice(0)) this.#send({ type: 'candidate', candidate, mid })
  }

  #releaseOffererCandidates (why: string): void {
    if (this.role !== 'offerer' || this.#releaseCandidates || this.#closed) return
    this.#releaseCandidates = true
    clearTimeout(this.#holdTimer)
    this.#log.debug({ why, candidates: this.#unsentCandidates.length }, 'releasing local candidates')
    this.#flushLocalCandidates()
  }

  #send (signal: SessionSignal): void {
    try {
      this.#init.sendSignal(signal)
    } catch (err) {
      this.#log.error({ err, type: signal.type }, 'sendSignal threw')
    }
  }

  #remoteDescription (sdp: string, type: 'offer' | 'answer'): void {
    const expected = this.role === 'answerer' ? 'offer' : 'answer'
    if (type !== expected) throw new InvalidSignalError(`an ${this.role} does not take an ${type}`)
    if (type === 'answer' && !this.#localDescriptionSent) throw new InvalidSignalError('answer before our offer')
    if (type === 'answer' && !this.#offerPending) throw new InvalidSignalError('answer with no offer of ours pending')
    if (this.#remoteSdp !== null) {
      this.#renegotiated(sdp, type)
      return
    }
    checkSdp(sdp, type, { dataChannels: this.#settings.dataChannels, media: this.#settings.mediaTransport })
    // Candidates are added only once the description is in: libdatachannel 0.24 can
    // finish ICE while it is still applying a description that carries them, start
    // DTLS before it has the remote fingerprint, and fail the handshake.
    const { sdp: bare, candidates } = takeCandidates(sdp)
    try {
      this.#pc.setRemoteDescription(bare, type)
    } catch (err) {
      throw new InvalidSignalError(`${type} rejected: ${(err as Error).message}`, { cause: err })
    }
    this.#remoteSdp = sdp
    this.#remoteOrigin = originLine(sdp)
    this.#enableTransportCc(sdp)
    if (type === 'answer') this.#offerPending = false
    this.#log.debug({ type }, 'remote description applied')
    for (const { candidate, mid } of [...candidates, ...this.#earlyCandidates.splice(0)]) {
      try {
        this.#remoteCandidate(candidate, mid)
      } catch (err) {
        this.#log.warn({ err, candidate }, 'remote candidate rejected')
      }
    }
    if (this.role === 'answerer' && this.#settings.dataChannels) {
      // SCTP cannot be up before our answer reaches the offerer: safe to create now.
      this.#openSyncChannel()
      this.#createDeferred()
    }
    if (this.role === 'offerer') {
      const holdMs = this.#init.candidateHoldMs ?? DEFAULT_CANDIDATE_HOLD_MS
      this.#holdTimer = setTimeout(() => { this.#releaseOffererCandidates(`no ICE connection ${holdMs} ms after the answer`) }, holdMs)
    }
    this.#flushLocalCandidates()
    this.#offerAgainIfAsked()
  }

  /**
   * A later offer/answer (tracks added or removed): same transport, so the same
   * DTLS fingerprint, and no new candidates (everything is bundled).
   */
  #renegotiated (sdp: string, type: 'offer' | 'answer'): void {
    checkSdp(sdp, type, { dataChannels: this.#settings.dataChannels, media: this.#settings.mediaTransport })
    if (!sameFingerprint(fingerprintFromSdp(sdp), fingerprintFromSdp(this.#remoteSdp ?? ''))) {
      throw new InvalidSignalError(`renegotiated ${type} changes the DTLS fingerprint`)
    }
    // libdatachannel draws a new o= session id for every description it makes.
    const origin = originLine(sdp)
    if (origin === null || origin === this.#remoteOrigin) throw new InvalidSignalError(`renegotiated ${type} repeats the last one (replay)`)
    try {
      this.#pc.setRemoteDescription(takeCandidates(sdp).sdp, type)
    } catch (err) {
      throw new InvalidSignalError(`${type} rejected: ${(err as Error).message}`, { cause: err })
    }
    this.#remoteOrigin = origin
    this.#enableTransportCc(sdp)
    this.#log.debug({ type }, 'renegotiated description applied')
    if (type === 'answer') {
      this.#offerPending = false
      this.#offerAgainIfAsked()
    }
  }

  #offerAgainIfAsked (): void {
    if (!this.#renegotiate || this.#offerPending || this.#closed) return
    this.#renegotiate = false
    this.negotiate()
  }

  #remoteCandidate (candidate: string, mid: string): void {
    const checked = checkCandidate(candidate, mid)
    if (!checked.usable) {
      this.#log.debug({ reason: checked.reason }, 'remote candidate skipped')
      return
    }
    if (++this.#remoteCandidates > MAX_REMOTE_CANDIDATES) throw new InvalidSignalError(`more than ${MAX_REMOTE_CANDIDATES} remote candidates`)
    if (this.#remoteSdp === null) {
      if (this.#earlyCandidates.length >= MAX_EARLY_CANDIDATES) throw new InvalidSignalError(`more than ${MAX_EARLY_CANDIDATES} candidates before the remote description`)
      this.#earlyCandidates.push({ candidate: checked.candidate, mid: checked.mid })
      return
    }
    try {
      this.#pc.addRemoteCandidate(checked.candidate, checked.mid)
    } catch (err) {
      throw new InvalidSignalError(`candidate rejected: ${(err as Error).message}`, { cause: err })
    }
  }

  #pcState (native: string): void {
    if (this.#closed) return
    const state = STATES[native] ?? 'connecting'
    this.#log.debug({ native }, 'peer connection state')
    if (state === 'connected' && this.#connectedAt === null) {
      this.#connectedAt = new Date()
      clearTimeout(this.#timer)
      this.#log.info({ ms: this.#connectedAt.getTime() - this.#createdAt.getTime(), pair: selectedPair(this.#pc) }, 'connected')
      this.#remoteFingerprint = this.#readRemoteFingerprint()
    }
    this.#state.set(state)
    // libdatachannel closes a failed or disconnected connection for good (no ICE restart):
    // recovery is a new session, signalled anew.
    if (state === 'failed' || state === 'disconnected' || state === 'closed') this.close()
  }

  #readRemoteFingerprint (): Fingerprint | null {
    const fp = this.#native(() => this.#pc.remoteFingerprint(), null)
    return fp === null || fp.value === '' ? null : normaliseFingerprint(fp.algorithm, fp.value)
  }

  /** node-datachannel throws from accessors once the connection is destroyed. */
  #native<T> (read: () => T, fallback: T): T {
    try {
      return read()
    } catch {
      return fallback
    }
  }

  /** An exception escaping a node-datachannel callback aborts the process: never let one out. */
  #guard (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#log.error({ err, callback: what }, 'peer connection callback failed')
    }
  }
}

/** The SDP's o= line, which names one description. */
function originLine (sdp: string): string | null {
  return /^o=.*$/m.exec(sdp)?.[0].trimEnd() ?? null
}
