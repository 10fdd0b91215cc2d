import type { Logger } from 'pino'
import { ConflictError, NotFoundError } from '../../util/errors.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { Startable } from '../../util/startable.ts'
import type { AllowPolicy } from '../../signalling/allow-policy.ts'
import type { MediaSignalMessage, SignalMessage } from '../../signalling/signal-messages.ts'
import type { SignalService } from '../../signalling/signal-service.ts'
import { PublishRateLimit } from '../../signalling/publish-rate-limit.ts'
import type { SignalStream } from '../../signalling/signal-stream.ts'
import type { PathChange, PeerInfo, Swarm } from '../../signalling/types.ts'
import type { Channel, PeerSession, SessionRole, SessionSignal, StackProfile } from '../../transport/types.ts'
import { PeerSlot, type PeerSlotContext, type SessionLink, type SessionStandby, type SlotTransition } from './peer-slot.ts'
import { SessionAttempt } from './session-attempt.ts'
import type { SessionInfo } from './session-info.ts'

export { CHANNEL_PUBLISH_MS, REOFFER_GRACE_MS, type SessionLink, type SessionStandby, type SlotState, type SlotTransition } from './peer-slot.ts'

/** The first message on an inbound signal stream must come within this. */
export const FIRST_MESSAGE_TIMEOUT_MS = 10_000

/** Offers a peer may make at once, and the rate they come back at (a remake or a restart needs one each). */
export const OFFER_BURST = 8
export const OFFERS_PER_SECOND = 0.5

export interface SessionManagerEvents {
  session: [SessionInfo]
  /** A channel opened on the session with negotiation id `session`. */
  channel: [peer: string, channel: Channel, session: string]
  /** A peer's watch/watching/unwatch request on one of its sessions. */
  media: [peer: string, message: MediaSignalMessage, link: SessionLink]
  /** A peer's state machine moved (see PeerSlot). */
  transition: [SlotTransition]
}

export interface SessionManagerInit {
  localPeer: string
  swarm: Pick<Swarm, 'peers' | 'peer' | 'checkConnection' | 'on' | 'off'>
  signal: SignalService
  autoconnect: boolean
  maxSessions: number
  /** swarm.allow and the trusted profile's rule, shared with the swarm and the signal services (read live; `changed` on reload). */
  allow: AllowPolicy
  profileFor: (peer: string) => StackProfile
  /** Builds a PeerSession with the daemon's rtc config. */
  createSession: (init: { remotePeer: string, role: SessionRole, profile: StackProfile, sendSignal: (s: SessionSignal) => void, id: string }) => PeerSession
  /** Standby paths for failover (rtc.standby; see standby.ts): told what happens to each peer's session. */
  standby?: SessionStandby
  logger: Logger
}

export interface SessionManager extends Startable, TypedEmitter<SessionManagerEvents> {
  list: () => SessionInfo[]
  get: (peer: string) => SessionInfo
  connect: (peer: string) => SessionInfo
  disconnect: (peer: string) => void
  /** The open session's PeerSession for a peer (for channels), if connected. */
  session: (peer: string) => PeerSession | undefined
  /** The session (connecting or connected) of negotiation `id` with a peer (trusted channel streams name it). */
  sessionById: (peer: string, id: string) => PeerSession | undefined
  /** The connected session with a peer, with its signal stream (for media requests). */
  link: (peer: string) => SessionLink | undefined
  count: () => number
  /** Every session slot is taken (swarm.maxSessions): presence says so. */
  full: () => boolean
  /**
   * Move a peer's traffic onto `standby`, a connected PeerConnection beside
   * its session (see standby.ts): its channels go to the channel hub (those
   * but `_edge`, which the standby paths hand over themselves), and the old
   * attempts close. False when there is no such peer, or `standby` is not connected.
   */
  failover: (peer: string, standby: SessionAttempt) => boolean
}

export function createSessionManager (init: SessionManagerInit): SessionManager {
  return new PeerSessionManager(init)
}

/**
 * One PeerSession per remote peer, each peer's life a PeerSlot state machine
 * with its own timers. The manager only owns the slots: it routes the
 * swarm's events (presence, paths), inbound offers (after the checks that
 * concern every peer: profile, trusted, offer rate) and the operator's
 * commands to them, and lets the others know when a place frees.
 * Auto-connect: the side with the smaller peer id offers.
 */
class PeerSessionManager extends TypedEmitter<SessionManagerEvents> implements SessionManager {
  readonly #init: SessionManagerInit
  readonly #log: Logger
  readonly #slots = new Map<string, PeerSlot>()
  readonly #offerRate = new PublishRateLimit({ burst: OFFER_BURST, perSecond: OFFERS_PER_SECOND })
  readonly #context: PeerSlotContext
  #running = false

  constructor (init: SessionManagerInit) {
    super()
    this.#init = init
    this.#log = init.logger
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'session listener failed') }
    this.#context = {
      localPeer: init.localPeer,
      autoconnect: init.autoconnect,
      allow: init.allow,
      known: peer => init.swarm.peer(peer),
      hasRoom: () => this.count() < init.maxSessions,
      maxSessions: init.maxSessions,
      profileFor: init.profileFor,
      signal: init.signal,
      checkConnection: async peer => { await init.swarm.checkConnection(peer) },
      createAttempt: ({ peer, role, id, profile, stream }) => new SessionAttempt({
        peer,
        id,
        role,
        profile,
        stream,
        createSession: (r, sendSignal) => init.createSession({ remotePeer: peer, role: r, profile, sendSignal, id }),
        logger: this.#log
      }),
      ...(init.standby !== undefined ? { standby: init.standby } : {}),
      logger: this.#log
    }
  }

  async start (): Promise<void> {
    if (this.#running) return
    this.#running = true
    this.#init.signal.on('stream', this.#onStream)
    this.#init.swarm.on('peer:discovered', this.#onPeer)
    this.#init.swarm.on('peer:updated', this.#onPeer)
    this.#init.swarm.on('peer:lost', this.#onLost)
    this.#init.swarm.on('path:lost', this.#onPathLost)
    this.#init.swarm.on('path:added', this.#onPathAdded)
    this.#init.allow.on('changed', this.#onAllowChanged)
    for (const peer of this.#init.swarm.peers()) this.#onPeer(peer)
  }

  async stop (): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#init.signal.off('stream', this.#onStream)
    this.#init.swarm.off('peer:discovered', this.#onPeer)
    this.#init.swarm.off('peer:updated', this.#onPeer)
    this.#init.swarm.off('peer:lost', this.#onLost)
    this.#init.swarm.off('path:lost', this.#onPathLost)
    this.#init.swarm.off('path:added', this.#onPathAdded)
    this.#init.allow.off('changed', this.#onAllowChanged)
    const slots = [...this.#slots.values()]
    this.#slots.clear()
    for (const slot of slots) slot.close('daemon stopping')
    this.removeAllListeners()
  }

  list (): SessionInfo[] {
    return [...this.#slots.values()].filter(s => s.listed).map(s => s.info())
  }

  get (peer: string): SessionInfo {
    const slot = this.#slots.get(peer)
    if (slot === undefined) throw new NotFoundError(`no session with ${peer}`)
    return slot.info()
  }

  connect (peer: string): SessionInfo {
    if (peer === this.#init.localPeer) throw new ConflictError('cannot connect to this daemon itself')
    if (!this.#init.allow.allows(peer)) throw new ConflictError(`peer ${peer} is not on swarm.allow`)
    const slot = this.#slotOf(peer)
    slot.connect()
    return slot.info()
  }

  disconnect (peer: string): void {
    const slot = this.#slots.get(peer)
    if (slot === undefined || (slot.link === undefined && !slot.holdsPlace && !slot.explicit)) {
      throw new NotFoundError(`no session with ${peer}`)
    }
    slot.disconnect()
  }

  session (peer: string): PeerSession | undefined {
    return this.#slots.get(peer)?.link?.session
  }

  sessionById (peer: string, id: string): PeerSession | undefined {
    return this.#slots.get(peer)?.attempt(id)?.session
  }

  link (peer: string): SessionLink | undefined {
    return this.#slots.get(peer)?.link
  }

  failover (peer: string, standby: SessionAttempt): boolean {
    return this.#running && (this.#slots.get(peer)?.failover(standby) ?? false)
  }

  /** Slots holding a place: an attempt, or an offer of ours dialling (several offers started at once must not overshoot the limit). */
  count (): number {
    let n = 0
    for (const slot of this.#slots.values()) if (slot.holdsPlace) n++
    return n
  }

  full (): boolean {
    return this.count() >= this.#init.maxSessions
  }

  #slotOf (peer: string): PeerSlot {
    let slot = this.#slots.get(peer)
    if (slot !== undefined) return slot
    const created = slot = new PeerSlot(peer, this.#context)
    created.on('transition', t => {
      // An offer whose session connected gives its token back: only offers that go nowhere (a flood,
      // failures) use up a peer's rate, and a peer reconnecting often is not made to wait for it.
      if (t.to === 'connected') this.#offerRate.giveBack(peer)
      this.emit('transition', t)
    })
    created.on('session', info => { this.emit('session', info) })
    created.on('channel', (channel, session) => { this.emit('channel', peer, channel, session) })
    created.on('media', (message, link) => { this.emit('media', peer, message, link) })
    created.on('freed', () => {
      for (const other of [...this.#slots.values()]) if (other !== created) other.placeFreed()
    })
    created.on('forget', () => { if (this.#slots.get(peer) === created) this.#slots.delete(peer) })
    this.#slots.set(peer, created)
    return created
  }

  readonly #onPeer = (peer: PeerInfo): void => {
    if (!this.#running) return
    this.#slotOf(peer.peerId).presence(peer)
  }

  readonly #onLost = (peer: PeerInfo): void => {
    this.#slots.get(peer.peerId)?.presenceLost()
  }

  readonly #onPathLost = (change: PathChange): void => {
    const lost = new Set(change.hosts)
    for (const slot of [...this.#slots.values()]) slot.pathLost(lost)
  }

  readonly #onPathAdded = (change: PathChange): void => {
    for (const slot of [...this.#slots.values()]) slot.pathAdded(change.now)
  }

  readonly #onAllowChanged = (): void => {
    for (const slot of [...this.#slots.values()]) {
      if (this.#init.allow.allows(slot.peer)) { slot.allowChanged(); continue }
      this.#slots.delete(slot.peer)
      slot.allowChanged()
    }
  }

  /** A peer opened a signal stream: its first message must be an offer we can take. */
  readonly #onStream = (stream: SignalStream): void => {
    const timeout = setTimeout(() => { void stream.reject('timeout', `no offer within ${FIRST_MESSAGE_TIMEOUT_MS} ms`) }, FIRST_MESSAGE_TIMEOUT_MS)
    const onFirst = (message: SignalMessage): void => {
      clearTimeout(timeout)
      stream.off('message', onFirst)
      stream.off('close', onClose)
      if (message.type !== 'offer') {
        void stream.reject('out-of-order', `expected an offer first, got ${message.type}`)
        return
      }
      if (message.path === 'standby') {
        if (this.#init.standby === undefined) void stream.reject('busy', 'this peer keeps no standby paths', message.session)
        else this.#init.standby.offer(stream, message)
        return
      }
      this.#takeOffer(stream, message)
    }
    const onClose = (): void => { clearTimeout(timeout) }
    stream.on('message', onFirst)
    stream.on('close', onClose)
  }

  #takeOffer (stream: SignalStream, message: Extract<SignalMessage, { type: 'offer' }>): void {
    const peer = stream.remotePeer
    const profile = this.#init.profileFor(peer)
    if (message.profile !== profile) {
      this.#log.warn({ peer, theirs: message.profile, ours: profile }, 'stack profile mismatch: no session')
      void stream.reject('profile-mismatch', `this peer uses stack profile ${profile} towards you, you offered ${message.profile}`, message.session)
      return
    }
    const refusal = profile === 'trusted' ? this.#init.allow.trustedRefusal(peer) : undefined
    if (refusal !== undefined) {
      this.#log.warn({ peer }, `trusted offer refused: ${refusal}`)
      void stream.reject('not-allowed', `this peer refuses the trusted profile with you: ${refusal}`, message.session)
      return
    }
    if (!this.#running) {
      void stream.reject('busy', 'this daemon is stopping', message.session)
      return
    }
    // Each offer we take costs a PeerConnection: a peer gets a few at once, then one every few seconds.
    if (this.#slots.get(peer)?.state !== 'off' && !this.#offerRate.take(peer)) {
      this.#log.warn({ peer }, 'offer over the per-peer offer rate refused')
      void stream.reject('busy', `more than ${OFFER_BURST} offers at once, or one per ${1 / OFFERS_PER_SECOND} s`, message.session)
      return
    }
    this.#slotOf(peer).takeOffer(stream, message, profile)
  }
}
