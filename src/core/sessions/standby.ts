import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { Startable } from '../../util/startable.ts'
import type { SignalMessage } from '../../signalling/signal-messages.ts'
import type { SignalService } from '../../signalling/signal-service.ts'
import type { SignalStream } from '../../signalling/signal-stream.ts'
import { PublishRateLimit } from '../../signalling/publish-rate-limit.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import { standbyBindAddress } from '../../transport/standby-path.ts'
import type { Channel, PeerSession, SessionRole, SessionSignal, StackProfile } from '../../transport/types.ts'
import { EDGE_CHANNEL } from './channel-hub.ts'
import { PathHeartbeat } from './path-heartbeat.ts'
import { SessionAttempt } from './session-attempt.ts'
import type { StandbyInfo } from './session-info.ts'
import type { SessionManager, SessionStandby } from './session-manager.ts'

/** A new standby is made this long after the active path connected (or a failover): the session settles first. */
export const STANDBY_DELAY_MS = 500
/** A standby that failed (or could not be made) is tried again after this, doubling up to STANDBY_RETRY_MAX_MS. */
export const STANDBY_RETRY_MS = 1_000
export const STANDBY_RETRY_MAX_MS = 8_000
/** The peer refused a standby (its rtc.standby is off, or it is busy): ask again only after this. */
export const STANDBY_REFUSED_RETRY_MS = 60_000
/** A standby PeerConnection not connected by then fails (its path is likely dead: try again later). */
export const STANDBY_CONNECT_TIMEOUT_MS = 5_000
/** Standby offers a peer may make at once, and the rate they come back at. */
export const STANDBY_OFFER_BURST = 4
export const STANDBY_OFFERS_PER_SECOND = 1

export interface StandbyPathsEvents {
  /** The `_edge` channel of a standby opened: the channel hub takes it now, so resumes sent on it before a failover here are not lost. */
  edge: [peer: string, channel: Channel, session: string]
  /** A peer's traffic moved onto its standby path. */
  failover: [peer: string, from: string | undefined, to: string, reason: string]
}

export interface StandbyPathsInit {
  localPeer: string
  signal: Pick<SignalService, 'open'>
  /** The peer's presence (its addresses: a local address on one of their subnets is a second route). */
  peer: (peer: string) => PeerInfo | undefined
  /** Builds a PeerSession as the main ones, bound to `bindAddress` when set. */
  createSession: (init: { remotePeer: string, role: SessionRole, profile: StackProfile, sendSignal: (s: SessionSignal) => void, id: string, bindAddress?: string, connectTimeoutMs: number }) => PeerSession
  /**
   * Make sure the libp2p connection to the peer answers (hung up on and dialled
   * again if not): after a failover it may have run over the path that died.
   */
  checkConnection?: (peer: string) => Promise<void>
  /** The interfaces the standby may bind to (tests); default: this machine's. */
  bindAddressFor?: typeof standbyBindAddress
  logger: Logger
}

interface Path {
  attempt: SessionAttempt
  beat?: PathHeartbeat
  bindAddress: string | null
  /** Stops mirroring the active session's channels onto this standby. */
  unmirror?: () => void
}

/** One peer: the attempt carrying its traffic, and the standby beside it. */
interface PeerPaths {
  peer: string
  active?: Path
  standby?: Path
  retryMs: number
  timer?: NodeJS.Timeout
  /** A standby offer of ours is opening its signal stream. */
  dialling: boolean
}

/** The hosts a peer announces (its multiaddrs' IP parts). */
function hostsOf (info: PeerInfo | undefined): string[] {
  return (info?.addresses ?? []).flatMap(a => /^\/ip[46]\/([^/]+)/.exec(a)?.[1] ?? [])
}

/**
 * A standby PeerConnection to each connected peer (rtc.standby), for
 * failover in well under a second. The side with the smaller peer id offers
 * it, on a signal stream of its own, naming the session it stands by for;
 * both sides bind it to another interface than the active path's. It is
 * checked like a main session (the DTLS fingerprint against the description
 * from the Noise-authenticated stream: it is a SessionAttempt too) and beats
 * on its `_edge` channel a few times a second; the active path beats faster.
 *
 * When the active path goes silent (PathHeartbeat: max(150 ms, 3 × RTT)), or
 * its session ends, and the standby is heard, the session manager moves the
 * peer's traffic onto the standby (SessionManager.failover): channels resume
 * there through the seq/ack on `_edge` (channel-endpoint.ts), and the peer is
 * told with a `switch` on the standby's `_edge`, so it moves at once too. A
 * new standby is then made in the background.
 */
export class StandbyPaths extends TypedEmitter<StandbyPathsEvents> implements SessionStandby, Startable {
  readonly #init: StandbyPathsInit
  readonly #log: Logger
  readonly #peers = new Map<string, PeerPaths>()
  readonly #offerRate = new PublishRateLimit({ burst: STANDBY_OFFER_BURST, perSecond: STANDBY_OFFERS_PER_SECOND })
  #sessions: Pick<SessionManager, 'failover'> | undefined
  #running = false
  /** Failovers so far, all peers (metrics). */
  failovers = 0

  constructor (init: StandbyPathsInit) {
    super()
    this.#init = init
    this.#log = init.logger
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'standby listener failed') }
  }

  /** The manager that owns which attempt carries a peer's traffic (built after this). */
  bind (sessions: Pick<SessionManager, 'failover'>): void {
    this.#sessions = sessions
  }

  async start (): Promise<void> {
    this.#running = true
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    for (const peer of [...this.#peers.keys()]) this.drop(peer)
    this.removeAllListeners()
  }

  #weOffer (peer: string): boolean { return this.#init.localPeer < peer }

  #paths (peer: string): PeerPaths {
    let p = this.#peers.get(peer)
    if (p === undefined) {
      p = { peer, retryMs: STANDBY_RETRY_MS, dialling: false }
      this.#peers.set(peer, p)
    }
    return p
  }

  active (peer: string, attempt: SessionAttempt): void {
    if (!this.#running || attempt.profile === 'trusted') return
    const p = this.#paths(peer)
    if (p.active?.attempt !== attempt) {
      p.active?.beat?.close()
      // Its heartbeat starts with a standby (a peer that keeps none might not know the beats).
      p.active = { attempt, bindAddress: null }
      if (p.standby?.beat !== undefined) p.active.beat = this.#heartbeat(p, attempt, true)
    }
    if (p.standby === undefined) this.#buildLater(p, STANDBY_DELAY_MS)
  }

  takeOver (peer: string, ended: SessionAttempt): boolean {
    const p = this.#peers.get(peer)
    if (p === undefined || p.active?.attempt !== ended) return false
    return this.#failover(p, 'the active session ended')
  }

  drop (peer: string): void {
    const p = this.#peers.get(peer)
    if (p === undefined) return
    this.#peers.delete(peer)
    clearTimeout(p.timer)
    p.active?.beat?.close()
    this.#closeStandby(p, 'the session ended')
  }

  info (peer: string): StandbyInfo | null {
    const standby = this.#peers.get(peer)?.standby
    if (standby === undefined) return null
    return {
      session: standby.attempt.id,
      state: standby.attempt.state,
      pair: standby.attempt.session.pair(),
      bindAddress: standby.bindAddress,
      alive: standby.beat?.alive === true
    }
  }

  offer (stream: SignalStream, message: Extract<SignalMessage, { type: 'offer' }>): void {
    const peer = stream.remotePeer
    const p = this.#peers.get(peer)
    const active = p?.active
    if (!this.#running || p === undefined || active === undefined || active.attempt.id !== message.of || active.attempt.state !== 'connected') {
      void stream.reject('unknown-session', `no connected session ${String(message.of)} with you to stand by for`, message.session)
      return
    }
    if (message.profile !== active.attempt.profile) {
      void stream.reject('profile-mismatch', `the session is profile ${active.attempt.profile}, the standby offer is ${message.profile}`, message.session)
      return
    }
    if (!this.#offerRate.take(peer)) {
      void stream.reject('busy', `more than ${STANDBY_OFFER_BURST} standby offers at once, or one per ${1 / STANDBY_OFFERS_PER_SECOND} s`, message.session)
      return
    }
    // One standby per peer: a newer offer replaces ours (the peer made a new one).
    this.#closeStandby(p, 'replaced by a newer standby offer')
    const bindAddress = this.#bindAddress(p, active.attempt)
    const attempt = this.#attempt(p, 'answerer', message.session, stream, active.attempt, bindAddress)
    this.#log.info({ peer, session: message.session, of: message.of, bindAddress }, 'answering a standby offer')
    attempt.acceptOffer(message)
  }

  #bindAddress (p: PeerPaths, active: SessionAttempt): string | undefined {
    const pair = active.session.pair()
    if (pair === null) return undefined
    return (this.#init.bindAddressFor ?? standbyBindAddress)({ activeLocal: pair.local.address, activeRemote: pair.remote.address, peerHosts: hostsOf(this.#init.peer(p.peer)) })
  }

  #buildLater (p: PeerPaths, delayMs: number): void {
    if (!this.#weOffer(p.peer) || p.timer !== undefined || p.dialling || !this.#running) return
    p.timer = setTimeout(() => {
      p.timer = undefined
      void this.#build(p)
    }, delayMs)
  }

  #retryLater (p: PeerPaths): void {
    const delay = p.retryMs
    p.retryMs = Math.max(STANDBY_RETRY_MS, Math.min(p.retryMs * 2, STANDBY_RETRY_MAX_MS))
    this.#buildLater(p, delay)
  }

  /** Offer a standby PeerConnection beside the active one. */
  async #build (p: PeerPaths): Promise<void> {
    const active = p.active?.attempt
    if (!this.#running || this.#peers.get(p.peer) !== p || active?.state !== 'connected' || p.standby !== undefined) return
    const bindAddress = this.#bindAddress(p, active)
    if (bindAddress === undefined) {
      // One interface (or no pair yet): a standby would share the active path's fate. Addresses may come.
      this.#log.debug({ peer: p.peer }, 'no second interface for a standby path')
      this.#retryLater(p)
      return
    }
    p.dialling = true
    let stream: SignalStream
    try {
      await this.#init.checkConnection?.(p.peer)
      stream = await this.#init.signal.open(p.peer)
    } catch (err) {
      this.#log.debug({ peer: p.peer, err: (err as Error).message }, 'cannot open a signal stream for a standby')
      this.#retryLater(p)
      return
    } finally {
      p.dialling = false
    }
    if (!this.#running || this.#peers.get(p.peer) !== p || p.active?.attempt !== active || active.state !== 'connected' || p.standby !== undefined) {
      stream.close()
      return
    }
    const id = randomBytes(12).toString('base64url')
    this.#log.info({ peer: p.peer, session: id, of: active.id, bindAddress }, 'offering a standby path')
    this.#attempt(p, 'offerer', id, stream, active, bindAddress)
  }

  #attempt (p: PeerPaths, role: SessionRole, id: string, stream: SignalStream, active: SessionAttempt, bindAddress: string | undefined): SessionAttempt {
    const profile = active.profile
    const attempt = new SessionAttempt({
      peer: p.peer,
      id,
      role,
      profile,
      stream,
      standbyOf: active.id,
      createSession: (r, sendSignal) => this.#init.createSession({
        remotePeer: p.peer, role: r, profile, sendSignal, id, connectTimeoutMs: STANDBY_CONNECT_TIMEOUT_MS, ...(bindAddress !== undefined ? { bindAddress } : {})
      }),
      logger: this.#log
    })
    const path: Path = { attempt, bindAddress: bindAddress ?? null }
    p.standby = path
    attempt.on('channel', channel => {
      if (channel.label === EDGE_CHANNEL) this.emit('edge', p.peer, channel, attempt.id)
    })
    attempt.on('state', state => {
      if (state !== 'connected' || p.standby !== path) return
      p.retryMs = STANDBY_RETRY_MS
      path.beat = this.#heartbeat(p, attempt, false)
      if (p.active !== undefined && p.active.beat === undefined) p.active.beat = this.#heartbeat(p, p.active.attempt, true)
      this.#log.info({ peer: p.peer, session: id, pair: attempt.session.pair() }, 'standby path connected')
      this.#mirrorChannels(p, path)
    })
    attempt.on('ended', failure => {
      path.unmirror?.()
      if (p.standby !== path) return
      path.beat?.close()
      p.standby = undefined
      if (failure !== undefined) this.#log.info({ peer: p.peer, session: id, code: failure.code }, `standby path ended: ${failure.message}`)
      if (failure?.code === 'busy' || failure?.permanent === true) p.retryMs = STANDBY_REFUSED_RETRY_MS
      if (p.active?.attempt.state === 'connected') this.#retryLater(p)
    })
    return attempt
  }

  /**
   * The offerer opens on the standby the channels the active session has
   * (rtc.channels open on both by themselves; these are the ones programs
   * opened): a failover finds them there and resumes on them at once.
   */
  #mirrorChannels (p: PeerPaths, path: Path): void {
    const active = p.active?.attempt
    if (!this.#weOffer(p.peer) || active === undefined) return
    const mirror = (channel: Channel): void => {
      if (p.standby !== path || channel.label === EDGE_CHANNEL || path.attempt.session.channel(channel.label) !== undefined) return
      try {
        path.attempt.session.openChannel(channel.label, channel.options)
      } catch (err) {
        this.#log.debug({ peer: p.peer, label: channel.label, err: (err as Error).message }, 'channel not mirrored on the standby')
      }
    }
    for (const channel of active.session.channels()) mirror(channel)
    active.on('channel', mirror)
    path.unmirror = () => { active.off('channel', mirror) }
  }

  #heartbeat (p: PeerPaths, attempt: SessionAttempt, active: boolean): PathHeartbeat {
    const beat = new PathHeartbeat({ session: attempt.session, active, logger: this.#log.child({ peer: p.peer, session: attempt.id }) })
    beat.on('silent', silentMs => {
      if (p.active?.beat === beat) this.#failover(p, `the active path was silent for ${silentMs} ms`)
      else if (p.standby?.beat === beat) this.#closeStandby(p, `the standby path was silent for ${silentMs} ms`)
    })
    // The peer moved onto this path: follow it at once.
    beat.on('switch', () => { if (p.standby?.beat === beat) this.#failover(p, 'the peer switched to the standby path') })
    return beat
  }

  #failover (p: PeerPaths, reason: string): boolean {
    const standby = p.standby
    if (standby === undefined || standby.attempt.state !== 'connected' || standby.beat?.alive !== true || this.#sessions === undefined) {
      this.#log.info({ peer: p.peer, standby: standby?.attempt.state ?? null }, `${reason}; no live standby to fail over to`)
      return false
    }
    const from = p.active?.attempt.id
    const beat = standby.beat
    standby.unmirror?.()
    p.standby = undefined
    p.active?.beat?.close()
    p.active = { ...standby, beat }
    beat.setActive(true)
    beat.sendSwitch()
    if (!this.#sessions.failover(p.peer, standby.attempt)) {
      standby.attempt.close('failover refused')
      return false
    }
    this.failovers++
    this.#log.info({ peer: p.peer, from, to: standby.attempt.id, pair: standby.attempt.session.pair() }, `failed over to the standby path: ${reason}`)
    this.emit('failover', p.peer, from, standby.attempt.id, reason)
    this.#buildLater(p, STANDBY_DELAY_MS)
    return true
  }

  #closeStandby (p: PeerPaths, reason: string): void {
    const standby = p.standby
    if (standby === undefined) return
    p.standby = undefined
    standby.beat?.close()
    standby.attempt.close(reason)
    if (this.#peers.get(p.peer) === p && p.active?.attempt.state === 'connected') this.#retryLater(p)
  }
}
