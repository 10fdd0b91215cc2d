import type dgram from 'node:dgram'
import { createSocket } from 'node:dgram'
import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { ConflictError, InvalidSignalError, SessionClosedError } from '../util/errors.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { DEFAULT_CHANNEL_LIMITS } from './channel.ts'
import { DEFAULT_CONNECT_TIMEOUT_MS } from './peer-session.ts'
import { keepChannel } from './session-channels.ts'
import { SessionStateMachine } from './session-state.ts'
import { TrustedChannel } from './trusted-channel.ts'
import { announcedHost, encodeTrustedParams, parseTrustedParams, type UdpAddress } from './trusted-params.ts'
import { UdpRecvTrack, UdpSendTrack } from './trusted-track.ts'
import { trackStats } from './track-types.ts'
import { feedbackMediaSsrcs } from '../rtp/rtcp-feedback.ts'
import { rtpSsrc } from '../rtp/rtp-header.ts'
import { datagramKind, decodeMessageDatagram, PONG_DATAGRAM, PING_DATAGRAM } from './trusted-wire.ts'
import type {
  Channel, ChannelLimits, ChannelOptions, Fingerprint, PeerSession, PeerSessionEvents, PeerSessionInit,
  RecvTrack, SelectedPair, SendTrack, SessionRole, SessionSignal, SessionState, SessionStats, TrackInit
} from './types.ts'

const RELIABLE: ChannelOptions = { ordered: true }
const PING_INTERVAL_MS = 1_000
/** How long to wait for the far end to accept a channel stream. */
const CHANNEL_ACCEPT_TIMEOUT_MS = 10_000
const MAX_TRACKS = 64

/** What opens a trusted channel: the first frame on its libp2p stream. */
export interface TrustedStreamHeader {
  session: string
  label: string
  ordered: boolean
  maxRetransmits?: number
  maxPacketLifeTime?: number
}

export interface TrustedStream {
  stream: Stream
  lp: LengthPrefixedStream<Stream>
}

export interface TrustedSessionInit extends PeerSessionInit {
  /** Dial a channel stream to the peer and write its header (the caller's session id is added by the daemon). */
  openStream: (header: Omit<TrustedStreamHeader, 'session'>) => Promise<TrustedStream>
}

/**
 * The `trusted` profile: no PeerConnection, no ICE, no DTLS, no SRTP, no SCTP.
 * Offer and answer (on the Noise-authenticated signal stream) carry each
 * end's UDP address; RTP and RTCP then go unencrypted between the two daemons'
 * UDP sockets, lossy messages as datagrams beside them, and reliable channels
 * as libp2p streams. Only for peers on swarm.allow with rtc.trusted (checked
 * by the session manager before one is made).
 */
export function createTrustedSession (init: TrustedSessionInit): PeerSession & TrustedSessionExtras {
  return new TrustedSession(init)
}

export interface TrustedSessionExtras {
  /** A channel stream the peer opened for this session. */
  acceptStream: (header: TrustedStreamHeader, stream: TrustedStream) => void
}

export function isTrustedSession (session: PeerSession): session is PeerSession & TrustedSessionExtras {
  return session instanceof TrustedSession
}

class TrustedSession extends TypedEmitter<PeerSessionEvents> implements PeerSession, TrustedSessionExtras {
  readonly remotePeer: string
  readonly role: SessionRole
  readonly profile = 'trusted' as const
  readonly #init: TrustedSessionInit
  readonly #limits: ChannelLimits
  readonly #log: Logger
  readonly #channels = new Map<string, TrustedChannel>()
  /** Opened before the session is connected: their streams are dialled once it is. */
  readonly #deferred: TrustedChannel[] = []
  readonly #sendTracks = new Map<string, UdpSendTrack>()
  readonly #recvTracks = new Map<string, UdpRecvTrack>()
  #socket: dgram.Socket | undefined
  #local: UdpAddress | undefined
  #remote: UdpAddress | undefined
  readonly #state: SessionStateMachine
  #closed = false
  readonly #createdAt = new Date()
  #connectedAt: Date | null = null
  #timer: NodeJS.Timeout | undefined
  #pinger: NodeJS.Timeout | undefined
  #rttMs: number | null = null
  #udpSent = 0
  #udpReceived = 0
  #ready: Promise<void>

  constructor (init: TrustedSessionInit) {
    super()
    this.#init = init
    this.remotePeer = init.remotePeer
    this.role = init.role
    this.#limits = { ...DEFAULT_CHANNEL_LIMITS, ...init.channelLimits }
    this.#log = init.logger.child({ peer: init.remotePeer, role: init.role, profile: 'trusted' })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'session listener threw') }
    this.#state = new SessionStateMachine({ session: this, isClosed: () => this.#closed, log: this.#log, failMessage: 'trusted session failed' })
    const timeoutMs = init.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
    this.#timer = setTimeout(() => { this.#state.fail(`not connected after ${timeoutMs} ms`) }, timeoutMs)
    this.#ready = this.#bind()
    this.#ready.then(() => {
      if (this.role === 'offerer' && !this.#closed && this.#local !== undefined) {
        this.#init.sendSignal({ type: 'offer', params: encodeTrustedParams(this.#local) })
      }
    }, (err: unknown) => { this.#state.fail(`cannot bind the trusted UDP socket: ${(err as Error).message}`) })
    if (this.role === 'offerer') {
      for (const [label, options] of Object.entries(init.channels ?? {})) this.openChannel(label, options)
    }
  }

  get state (): SessionState { return this.#state.current }

  handleSignal (signal: SessionSignal): void {
    if (this.#closed) return
    if (signal?.type === 'candidate') throw new InvalidSignalError('the trusted profile has no ICE candidates')
    if (signal?.type !== 'offer' && signal?.type !== 'answer') throw new InvalidSignalError(`unknown signal type ${JSON.stringify((signal as { type?: unknown })?.type)}`)
    const expected = this.role === 'answerer' ? 'offer' : 'answer'
    if (signal.type !== expected) throw new InvalidSignalError(`an ${this.role} does not take an ${signal.type}`)
    if (this.#remote !== undefined) throw new InvalidSignalError(`trusted sessions are not renegotiated: a second ${signal.type}`)
    if (signal.sdp !== undefined) throw new InvalidSignalError(`a trusted ${signal.type} carries no sdp`)
    this.#remote = parseTrustedParams(signal.params, signal.type)
    if (this.role === 'answerer') {
      void this.#ready.then(() => {
        if (this.#closed || this.#local === undefined) return
        this.#init.sendSignal({ type: 'answer', params: encodeTrustedParams(this.#local) })
        this.#connected()
      })
    } else {
      this.#connected()
    }
  }

  openChannel (label: string, options: ChannelOptions = RELIABLE): Channel {
    if (this.#closed) throw new SessionClosedError(`session with ${this.remotePeer} is closed`)
    if (this.#channels.has(label)) throw new ConflictError(`channel ${label} already exists`)
    const channel = this.#newChannel(label, options)
    if (this.#state.current === 'connected') void this.#dial(channel)
    else this.#deferred.push(channel)
    return channel
  }

  acceptStream (header: TrustedStreamHeader, { stream, lp }: TrustedStream): void {
    const refuse = (why: string): void => {
      this.#log.debug({ label: header.label, why }, 'refusing a trusted channel stream')
      void lp.write(Buffer.from(JSON.stringify({ error: why }))).catch(() => {}).finally(() => { stream.close().catch(() => {}) })
    }
    if (this.#closed || this.#state.current !== 'connected') { refuse('session is not connected'); return }
    const existing = this.#channels.get(header.label)
    if (existing !== undefined) {
      // Both ends opened the same label at once: the offerer's channel wins on both ends.
      if (existing.isOpen || this.role === 'offerer') { refuse(`channel ${header.label} exists`); return }
      this.#channels.delete(header.label)
      existing.close()
    }
    const options: ChannelOptions = {
      ordered: header.ordered,
      ...(header.maxRetransmits !== undefined ? { maxRetransmits: header.maxRetransmits } : {}),
      ...(header.maxPacketLifeTime !== undefined ? { maxPacketLifeTime: header.maxPacketLifeTime } : {})
    }
    const channel = this.#newChannel(header.label, options)
    void lp.write(Buffer.from(JSON.stringify({ ok: true }))).then(() => { channel.attach(stream, lp) }, (err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'could not accept a channel stream')
      channel.close()
    })
  }

  channel (label: string): Channel | undefined { return this.#channels.get(label) }
  channels (): Channel[] { return [...this.#channels.values()] }

  addSendTrack (init: TrackInit): SendTrack {
    this.#checkTrack(init)
    const track = new UdpSendTrack(init, d => this.#sendDatagram(d), this.#log)
    this.#sendTracks.set(init.mid, track)
    track.once('close', () => { if (this.#sendTracks.get(init.mid) === track) this.#sendTracks.delete(init.mid) })
    return track
  }

  addRecvTrack (init: TrackInit): RecvTrack {
    this.#checkTrack(init)
    const track = new UdpRecvTrack(init, d => this.#sendDatagram(d), this.#log)
    this.#recvTracks.set(init.mid, track)
    track.once('close', () => { if (this.#recvTracks.get(init.mid) === track) this.#recvTracks.delete(init.mid) })
    return track
  }

  /** Nothing to negotiate: a track is in use as soon as both ends added it. */
  negotiate (): void {
    if (this.#closed) throw new SessionClosedError(`session with ${this.remotePeer} is closed`)
    if (this.role !== 'offerer') throw new ConflictError('only the offerer of a session makes offers')
  }

  pair (): SelectedPair | null {
    if (this.#local === undefined || this.#remote === undefined || this.#closed) return null
    return {
      local: { type: 'host', address: this.#local.host, port: this.#local.port, transport: 'udp' },
      remote: { type: 'host', address: this.#remote.host, port: this.#remote.port, transport: 'udp' }
    }
  }

  stats (): SessionStats {
    const channelBytes = this.channels().map(c => c.stats())
    const streamSent = channelBytes.reduce((n, c) => n + (c.maxRetransmits === undefined && c.maxPacketLifeTime === undefined ? c.bytesSent : 0), 0)
    const streamReceived = channelBytes.reduce((n, c) => n + (c.maxRetransmits === undefined && c.maxPacketLifeTime === undefined ? c.bytesReceived : 0), 0)
    return {
      remotePeer: this.remotePeer,
      state: this.#state.current,
      profile: 'trusted',
      role: this.role,
      pair: this.pair(),
      rttMs: this.#rttMs,
      bytesSent: this.#udpSent + streamSent,
      bytesReceived: this.#udpReceived + streamReceived,
      channels: channelBytes,
      sections: { local: [], remote: [] },
      tracks: [...this.#sendTracks.values(), ...this.#recvTracks.values()].map(trackStats),
      createdAt: this.#createdAt.toISOString(),
      connectedAt: this.#connectedAt?.toISOString() ?? null
    }
  }

  localFingerprint (): Fingerprint | null { return null }
  remoteFingerprint (): Fingerprint | null { return null }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    clearInterval(this.#pinger)
    for (const channel of [...this.#channels.values(), ...this.#deferred]) channel.close()
    this.#channels.clear()
    this.#deferred.length = 0
    for (const track of [...this.#sendTracks.values(), ...this.#recvTracks.values()]) track.close()
    const socket = this.#socket
    this.#socket = undefined
    try { socket?.close() } catch {}
    this.#state.set('closed')
    this.#log.debug('trusted session closed')
    this.emit('close')
  }

  async #bind (): Promise<void> {
    const host = this.#init.bindAddress ?? '0.0.0.0'
    const range = this.#init.portRange
    const ports = range === undefined ? [0] : Array.from({ length: Math.min(range.max - range.min + 1, 256) }, (_, i) => range.min + i)
    let lastError: unknown
    for (const port of ports) {
      const socket = createSocket('udp4')
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject)
          socket.bind(port, host, () => { socket.off('error', reject); resolve() })
        })
      } catch (err) {
        lastError = err
        try { socket.close() } catch {}
        continue
      }
      if (this.#closed) { socket.close(); return }
      socket.on('message', (packet, from) => { this.#onDatagram(packet, from) })
      socket.on('error', err => { this.#log.warn({ err: err.message }, 'trusted UDP socket error') })
      this.#socket = socket
      this.#local = { host: announcedHost(host), port: socket.address().port }
      this.#log.debug({ local: this.#local }, 'trusted UDP socket bound')
      return
    }
    throw lastError instanceof Error ? lastError : new Error('no free port in rtc.portRange')
  }

  #connected (): void {
    if (this.#closed || this.#state.current === 'connected') return
    this.#connectedAt = new Date()
    clearTimeout(this.#timer)
    this.#log.info({ ms: this.#connectedAt.getTime() - this.#createdAt.getTime(), local: this.#local, remote: this.#remote }, 'trusted session connected (plain RTP/UDP, no DTLS)')
    this.#state.set('connected')
    for (const channel of this.#deferred.splice(0)) if (!channel.isClosed) void this.#dial(channel)
    this.#ping()
    this.#pinger = setInterval(() => { this.#ping() }, PING_INTERVAL_MS)
    this.#pinger.unref()
  }

  async #dial (channel: TrustedChannel): Promise<void> {
    const { label, options } = channel
    let opened: TrustedStream | undefined
    try {
      opened = await this.#init.openStream({ label, ...options })
      const reply = await opened.lp.read({ signal: AbortSignal.timeout(CHANNEL_ACCEPT_TIMEOUT_MS) })
      const answer = JSON.parse(Buffer.from(reply.subarray()).toString('utf8')) as { ok?: boolean, error?: string }
      if (answer.ok !== true) throw new Error(`peer refused channel ${label}: ${String(answer.error ?? 'no reason')}`)
    } catch (err) {
      if (!channel.isClosed) this.#log.warn({ channel: label, err: (err as Error).message }, 'trusted channel did not open')
      opened?.stream.abort(err as Error)
      channel.close()
      return
    }
    if (channel.isClosed || this.#channels.get(label) !== channel) {
      await opened.stream.close().catch(() => {})
      return
    }
    channel.attach(opened.stream, opened.lp)
  }

  #newChannel (label: string, options: ChannelOptions): TrustedChannel {
    const channel = new TrustedChannel({ label, options, limits: this.#limits, sendDatagram: d => { this.#sendDatagram(d) }, logger: this.#log })
    return keepChannel(this.#channels, channel, opened => { this.emit('channel', opened) })
  }

  #checkTrack (init: TrackInit): void {
    if (this.#closed) throw new SessionClosedError(`session with ${this.remotePeer} is closed`)
    if (this.#sendTracks.has(init.mid) || this.#recvTracks.has(init.mid)) throw new ConflictError(`a track with mid ${init.mid} already exists`)
    if (this.#sendTracks.size + this.#recvTracks.size >= MAX_TRACKS) throw new ConflictError(`session with ${this.remotePeer} has ${MAX_TRACKS} tracks already`)
  }

  #sendDatagram (datagram: Uint8Array): boolean {
    const socket = this.#socket
    const remote = this.#remote
    if (socket === undefined || remote === undefined || this.#closed) return false
    socket.send(datagram, remote.port, remote.host)
    this.#udpSent += datagram.byteLength
    return true
  }

  #onDatagram (packet: Buffer, from: dgram.RemoteInfo): void {
    // Only from the address the peer gave on the authenticated stream.
    if (this.#closed || this.#remote === undefined || from.port !== this.#remote.port || from.address !== this.#remote.host) return
    this.#udpReceived += packet.length
    switch (datagramKind(packet)) {
      case 'rtp': {
        const ssrc = rtpSsrc(packet)
        for (const track of this.#recvTracks.values()) if (track.init.ssrc === ssrc) track.receiveRtp(packet)
        return
      }
      case 'rtcp':
        for (const ssrc of feedbackMediaSsrcs(packet)) {
          for (const track of this.#sendTracks.values()) if (track.init.ssrc === ssrc) track.receiveRtcp(packet)
        }
        return
      case 'message': {
        const message = decodeMessageDatagram(packet)
        const channel = message === undefined ? undefined : this.#channels.get(message.label)
        if (message !== undefined && channel?.lossy === true) channel.receiveDatagram(message.data)
        return
      }
      case 'ping':
        packet[0] = PONG_DATAGRAM
        this.#sendDatagram(packet)
        return
      case 'pong':
        this.#rttMs = Math.max(0, Math.round((performance.now() - packet.readDoubleBE(1)) * 10) / 10)
    }
  }

  #ping (): void {
    const packet = Buffer.alloc(9)
    packet[0] = PING_DATAGRAM
    packet.writeDoubleBE(performance.now(), 1)
    this.#sendDatagram(packet)
  }
}
