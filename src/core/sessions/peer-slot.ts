import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import { addressHosts } from '../../signalling/address-hosts.ts'
import type { AllowPolicy } from '../../signalling/allow-policy.ts'
import type { MediaSignalMessage, SignalMessage } from '../../signalling/signal-messages.ts'
import type { SignalService } from '../../signalling/signal-service.ts'
import type { SignalStream } from '../../signalling/signal-stream.ts'
import type { PeerInfo } from '../../signalling/types.ts'
import type { Channel, SessionRole, StackProfile } from '../../transport/types.ts'
import { sessionBackoffMs } from './backoff.ts'
import { EDGE_CHANNEL } from './channel-hub.ts'
import { holdsBackFromFull } from './full-peer.ts'
import type { AttemptFailure, SessionAttempt } from './session-attempt.ts'
import type { SessionInfo, StandbyInfo } from './session-info.ts'

/**
 * Channel opens and closes are published (the session's info, with every
 * channel's stats) at most this often a session: a flood of 1,000 channels
 * otherwise publishes 2,000 times with up to 1,000 channels each, and holds
 * the event loop for most of a second.
 */
export const CHANNEL_PUBLISH_MS = 50
/** How long an answerer whose connected session failed offers a new one itself (see PeerSlot's re-offer). */
export const REOFFER_GRACE_MS = 60_000

/**
 * Where the machine of one peer is:
 *
 *   idle        nothing runs and nothing is due (not wanted, the peer is full, no free place)
 *   offering    our offer is going out (signal stream dialled) or waits for its answer
 *   answering   we took the peer's offer; our answer is being made
 *   connecting  offer and answer are through: ICE and DTLS
 *   connected   one PeerConnection carries the peer's traffic
 *   remaking    make-before-break: a connected session carries on while a new one is made
 *               (its path is gone, the peer restarted or moved), or is due after a back-off
 *   backoff     the last try failed; the next one is armed on the slot's own timer
 *   off         `edgectl disconnect`: nothing until `edgectl connect`
 */
export type SlotState = 'idle' | 'offering' | 'answering' | 'connecting' | 'connected' | 'remaking' | 'backoff' | 'off'

/** Why a transition happened: the event that caused it. */
export type SlotReason =
  | 'presence' // the peer appeared or its record changed
  | 'offer' // we offer (autoconnect, a re-offer, a back-off over)
  | 'offer-sent' // our offer went out
  | 'offer-taken' // we took the peer's offer
  | 'glare-won' // both offered; ours wins (smaller peer id): theirs refused
  | 'glare-lost' // both offered; theirs wins: ours dropped, theirs taken
  | 'negotiated' // offer and answer are through
  | 'connected'
  | 'failed' // an attempt ended with a failure (its code says which)
  | 'ended' // an attempt ended cleanly (closed here, replaced)
  | 'dial-failed' // the signal stream could not be opened
  | 'trusted-refused' // the trusted profile is not allowed with this peer
  | 'backoff-elapsed'
  | 'peer-restarted' // new presence instance: remake
  | 'peer-moved' // the peer lost an address: remake
  | 'path-lost' // an address of ours went away: remake
  | 'path-added' // we have a new address: a pending retry goes now
  | 'peer-lost' // the peer left presence
  | 'place-freed' // another peer's session ended below swarm.maxSessions
  | 'manual-on' // edgectl connect
  | 'manual-off' // edgectl disconnect
  | 'allow-changed' // swarm.allow reloaded
  | 'not-allowed' // swarm.allow no longer lists the peer
  | 'failover' // the active path went silent: the standby PeerConnection carries the traffic now
  | 'stopped'

export type RemakeReason = 'path-lost' | 'peer-restarted' | 'peer-moved'

/** One transition of a peer's machine (debug-logged, and emitted by the manager as `transition`). */
export interface SlotTransition {
  peer: string
  from: SlotState
  to: SlotState
  reason: SlotReason
  /** The attempt's failure code, the address lost, … */
  detail?: string
}

/** A connected session as the media (watch) layer uses it: its PeerSession and its signal stream. */
export type SessionLink = Pick<SessionAttempt, 'peer' | 'id' | 'session' | 'sendMedia' | 'canSignal'>

export interface PeerSlotEvents {
  transition: [SlotTransition]
  /** The session's info changed (state, channels, errors). */
  session: [SessionInfo]
  /** A channel opened on the session with negotiation id `session`. */
  channel: [channel: Channel, session: string]
  media: [message: MediaSignalMessage, link: SessionLink]
  /** This slot gave back its place (swarm.maxSessions): others may start. */
  freed: []
  /** Nothing runs and nothing is wanted of this peer any more: the owner may drop the slot. */
  forget: []
}

/**
 * What the sessions tell the standby paths, and ask of them (see
 * standby.ts). The slot owns which attempt carries a peer's traffic; the
 * standby paths own the second PeerConnection and the heartbeats.
 */
export interface SessionStandby {
  /** `attempt` carries the peer's traffic now (it connected, or it was failed over to). */
  active: (peer: string, attempt: SessionAttempt) => void
  /** The attempt carrying the peer's traffic ended with a failure: true when a standby took over (through failover()). */
  takeOver: (peer: string, ended: SessionAttempt) => boolean
  /** The peer has no session any more: its standby goes too. */
  drop: (peer: string) => void
  /** A peer offers a standby PeerConnection on `stream`. */
  offer: (stream: SignalStream, message: Extract<SignalMessage, { type: 'offer' }>) => void
  info: (peer: string) => StandbyInfo | null
}

/** What a slot needs from its owner (the session manager) and the layers below. */
export interface PeerSlotContext {
  localPeer: string
  autoconnect: boolean
  allow: Pick<AllowPolicy, 'allows' | 'trustedRefusal'>
  /** The peer's presence, if known. */
  known: (peer: string) => PeerInfo | undefined
  /** Another session may start (fewer than swarm.maxSessions hold a place). */
  hasRoom: () => boolean
  maxSessions: number
  profileFor: (peer: string) => StackProfile
  signal: Pick<SignalService, 'open'>
  /** Make sure signalling does not ride a dead libp2p connection (see Swarm.checkConnection). */
  checkConnection: (peer: string) => Promise<void>
  createAttempt: (init: { peer: string, role: SessionRole, id: string, profile: StackProfile, stream: SignalStream }) => SessionAttempt
  standby?: SessionStandby
  logger: Logger
}

/** An ICE candidate's address without an IPv6 zone (`fe80::1%eth0`), as the interfaces list it. */
const bareHost = (address: string): string => address.replace(/%.*$/, '')

/**
 * The state machine of one remote peer, with its own timers (back-off,
 * re-offer grace, channel publish). It holds at most two attempts: a
 * connected one and, make-before-break, one negotiating to replace it.
 * Inputs are events (presence, an offer, a path lost, the operator, a
 * timer); each one ends in `#settle`, which emits the transition, if any,
 * with the event as its reason.
 */
export class PeerSlot extends TypedEmitter<PeerSlotEvents> {
  readonly peer: string
  readonly #ctx: PeerSlotContext
  readonly #log: Logger
  #state: SlotState = 'idle'
  #current: SessionAttempt | undefined
  /** Make-before-break: the old PeerConnection carries traffic until the new one connects. */
  #previous: SessionAttempt | undefined
  /** Our offer's signal stream is being opened: the slot holds its place meanwhile. */
  #dialling: AbortController | undefined
  /** `edgectl connect`: wanted even without autoconnect or when we are not the offerer. */
  #explicit = false
  /** `edgectl disconnect`: not wanted until connected again by hand. */
  #manualOff = false
  #failures = 0
  #lastError: AttemptFailure | null = null
  #attempts = 0
  /** Times the peer's traffic moved onto a standby path. */
  #failovers = 0
  #instance: string | undefined
  /** The peer's announced addresses, as last seen: new ones are worth a retry at once. */
  #addresses: string | undefined
  /** A session with this peer connected once: its end may still count it (see holdsBackFromFull). */
  #connectedBefore = false
  /** Why the connected session is being re-made; cleared once a new one connects or the old one ends. */
  #remake: RemakeReason | undefined
  #backoff: NodeJS.Timeout | undefined
  /**
   * Our connected session failed on our side while the peer offered it: after
   * a partition the peer's side can look connected for half a minute longer
   * (an idle SCTP association notices nothing), so we offer until one
   * connects, for REOFFER_GRACE_MS (the slot stays that long even while the
   * peer is out of presence).
   */
  #reoffer: NodeJS.Timeout | undefined
  #channelPublish: NodeJS.Timeout | undefined
  #closed = false
  /** The input being handled: transitions it causes on the way (an attempt it closes ends) carry it as their reason. */
  #cause: SlotReason | undefined

  constructor (peer: string, ctx: PeerSlotContext) {
    super()
    this.peer = peer
    this.#ctx = ctx
    this.#log = ctx.logger.child({ peer })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'session listener failed') }
  }

  get state (): SlotState { return this.#state }
  get explicit (): boolean { return this.#explicit }
  /** Something to show (`edgectl sessions`): a session, a wish, or an error. */
  get listed (): boolean { return this.#current !== undefined || this.#previous !== undefined || this.#explicit || this.#lastError !== null }
  /** The slot counts against swarm.maxSessions: an attempt, or our offer dialling. */
  get holdsPlace (): boolean { return this.#current !== undefined || this.#dialling !== undefined }
  /** Back-off due (ms since epoch), for tests and logs. */
  retryAt: number | undefined

  /** The attempt carrying the peer's traffic: the current one once connected, else the previous one while it holds. */
  get link (): SessionAttempt | undefined {
    const attempt = this.#current?.state === 'connected' ? this.#current : this.#previous
    return attempt?.state === 'connected' ? attempt : undefined
  }

  /** The attempt (connecting or connected) of negotiation `id`. */
  attempt (id: string): SessionAttempt | undefined {
    return [this.#current, this.#previous].find(a => a?.id === id)
  }

  info (): SessionInfo {
    const attempt = this.#current ?? this.#previous
    const stats = attempt?.session.stats()
    return {
      peer: this.peer,
      name: this.#ctx.known(this.peer)?.name ?? null,
      session: attempt?.id ?? null,
      state: attempt?.state ?? 'idle',
      profile: attempt?.profile ?? this.#ctx.profileFor(this.peer),
      role: attempt?.role ?? null,
      pair: stats?.pair ?? null,
      rttMs: stats?.rttMs ?? null,
      bytesSent: stats?.bytesSent ?? 0,
      bytesReceived: stats?.bytesReceived ?? 0,
      channels: stats?.channels.filter(c => c.label !== EDGE_CHANNEL) ?? [],
      sections: stats?.sections ?? { local: [], remote: [] },
      tracks: stats?.tracks ?? [],
      connectedAt: stats?.connectedAt ?? null,
      attempts: this.#attempts,
      lastError: this.#lastError === null ? null : { code: this.#lastError.code, message: this.#lastError.message },
      standby: this.#ctx.standby?.info(this.peer) ?? null,
      failovers: this.#failovers
    }
  }

  // ---- inputs ---------------------------------------------------------------

  /** The peer's presence record came or changed. */
  presence (peer: PeerInfo): void {
    if (this.#closed) return
    const restarted = this.#instance !== undefined && this.#instance !== peer.instance
    this.#instance = peer.instance
    const addresses = peer.addresses.join(' ')
    const changed = this.#addresses !== undefined && this.#addresses !== addresses
    // Only an address that went away can have taken the session's path with it; new ones add paths.
    const now = addressHosts(peer.addresses)
    const gone = changed ? [...addressHosts((this.#addresses ?? '').split(' '))].filter(h => !now.has(h)) : []
    this.#addresses = addresses
    if (this.#current === undefined) {
      // New addresses are worth a try at once; so is a peer that refused us as full and now has room.
      if (changed || (peer.full !== true && this.#lastError?.code === 'full')) this.#cancelBackoff()
    }
    if (restarted && this.#current !== undefined) {
      // Its end of our PeerConnection is gone: a new one now, not when ICE notices.
      this.#remakeSession('peer-restarted', 'peer restarted')
      return
    }
    if (gone.length > 0 && this.#current !== undefined && this.#movedAway(new Set(gone))) {
      this.#remakeSession('peer-moved', `peer lost address ${gone.join(', ')}`)
      return
    }
    this.#reconcile('presence')
  }

  /** The peer left presence (expired, or it said it is leaving). */
  presenceLost (): void {
    if (this.#closed || this.#explicit) return
    // Presence also expires during a partition. A connected PeerConnection rides
    // out up to ~45 s of silence and SCTP resends what was queued, so it stays;
    // if the peer is really gone, the transport fails and ends it.
    if (this.#current?.state === 'connected') {
      this.#log.info('peer lost from presence: keeping its connected session while the transport holds')
      return
    }
    // Our side of its session failed in a partition: offer again once it is back.
    if (this.#reoffer !== undefined) return
    this.close('peer left the swarm', 'peer-lost')
    this.emit('forget')
  }

  /**
   * Addresses of ours went away (`lost`, the swarm's `path:lost`): a session
   * whose local end we cannot vouch for is re-made, and so is a negotiation
   * under way: it gathered its candidates before the loss, maybe on the
   * address gone, and would hold the slot (and win glare against offers that
   * can work) until its ICE gives up, tens of seconds later.
   */
  pathLost (lost: ReadonlySet<string>): void {
    const current = this.#current
    if (this.#closed || current === undefined) return
    if (current.state !== 'connected') {
      this.#remakeSession('path-lost', 'we lost an address during a negotiation')
      return
    }
    const local = current.session.pair()?.local
    // A host candidate names our address; a reflexive or relayed one (or none known) hides which interface it left by.
    if (local?.type === 'host' && !lost.has(bareHost(local.address))) return
    this.#remakeSession('path-lost', `we lost address ${local?.address ?? '(path unknown)'}`)
  }

  /**
   * We have new addresses (`now` are all of them, the swarm's `path:added`): a
   * retry waiting out a back-off goes now, and a session whose local address is
   * not among them lost it unseen (it came and went between two looks).
   */
  pathAdded (now: ReadonlySet<string>): void {
    if (this.#closed) return
    const local = this.link?.session.pair()?.local
    if (local?.type === 'host' && !now.has(bareHost(local.address))) {
      this.#remakeSession('path-lost', `our address ${local.address} is gone`)
      return
    }
    if (this.#backoff === undefined || this.#lastError?.permanent === true) return
    this.#failures = 0
    this.#cancelBackoff()
    this.#reconcile('path-added')
  }

  /**
   * Whether the peer's lost hosts take our session with it: a connected one whose
   * remote end is one of them (or is not a host candidate, which hides where it
   * leads), or an offer of ours under way (made before we knew, maybe to one of them).
   * A session made since the move (the peer re-offered from its new address) is fine.
   */
  #movedAway (gone: ReadonlySet<string>): boolean {
    const current = this.#current
    if (current === undefined) return false
    if (current.state !== 'connected') return current.role === 'offerer'
    const remote = current.session.pair()?.remote
    return remote?.type !== 'host' || gone.has(bareHost(remote.address))
  }

  /** A peer's offer on a new signal stream, checked by the manager (profile, trusted, rate). */
  takeOffer (stream: SignalStream, message: Extract<SignalMessage, { type: 'offer' }>, profile: StackProfile): void {
    if (this.#closed) {
      void stream.reject('busy', 'this daemon is stopping', message.session)
      return
    }
    if (this.#manualOff) {
      void stream.reject('busy', 'sessions with you were disconnected by the operator', message.session)
      return
    }
    // The peer offers: it knows our old session is gone, we need not offer again ourselves.
    this.#stopReoffer()
    const current = this.#current
    // Glare is an offer of ours out and not answered yet. One the peer answered and
    // then offered again over has been dropped by the peer (its path went away,
    // and with it the stream its bye would have come on): it must not win glare
    // against the offers that can work until its ICE times out.
    const ourOffer = current?.role === 'offerer' && current.state !== 'connected' && !current.negotiated
    let reason: SlotReason = 'offer-taken'
    if (ourOffer) {
      // Glare (both sides offered): the smaller peer id's offer wins.
      if (this.#weOffer()) {
        this.#log.debug({ session: message.session }, 'glare: our offer wins, theirs refused')
        void stream.reject('busy', 'glare: our offer to you is in progress and wins', message.session)
        return
      }
      reason = 'glare-lost'
    }
    if (this.#dialling !== undefined) {
      // Our offer is not out yet (its signal stream is still being dialled, maybe
      // over a dead connection or to an address the peer left): theirs came over
      // one that works. Ours is dropped before the peer ever sees it, so no glare.
      this.#log.debug({ session: message.session }, 'the peer offered while our offer was dialling: taking theirs')
      this.#dialling.abort()
      this.#dialling = undefined
    } else if (current === undefined && !this.#ctx.hasRoom()) {
      void stream.reject('full', `session limit of ${this.#ctx.maxSessions} reached`, message.session)
      return
    }
    const attempt = this.#ctx.createAttempt({ peer: this.peer, role: 'answerer', id: message.session, profile, stream })
    this.#log.info({ session: message.session, replacing: this.#current?.id }, 'answering an offer')
    this.#install(attempt, reason, reason === 'glare-lost' ? 'glare: taking your offer' : undefined)
    attempt.acceptOffer(message)
  }

  /** `edgectl connect`. */
  connect (): void {
    if (this.#closed) return
    this.#explicit = true
    this.#manualOff = false
    this.#failures = 0
    this.#cancelBackoff()
    this.#reconcile('manual-on')
  }

  /** `edgectl disconnect`: everything closes, and stays closed until `connect`. */
  disconnect (): void {
    this.#explicit = false
    this.#manualOff = true
    this.#remake = undefined
    this.#cancelBackoff()
    this.#stopReoffer()
    this.#dialling?.abort()
    this.#dialling = undefined
    this.#because('manual-off', () => {
      this.#current?.close('disconnected by the operator')
      this.#previous?.close('disconnected by the operator')
    })
    this.#settle('manual-off')
    this.#publish()
  }

  /** swarm.allow changed: a peer no longer on it loses everything (the owner drops the slot). */
  allowChanged (): void {
    if (this.#ctx.allow.allows(this.peer)) {
      this.#reconcile('allow-changed')
      return
    }
    this.#explicit = false
    this.close('peer removed from swarm.allow', 'not-allowed')
  }

  /** Another slot freed its place: start what waited for one. */
  placeFreed (): void {
    if (!this.holdsPlace) this.#reconcile('place-freed')
  }

  /** Close everything and every timer; the slot is done with. Idempotent. */
  close (why = 'daemon stopping', reason: SlotReason = 'stopped'): void {
    if (this.#closed) return
    this.#closed = true
    this.#remake = undefined
    this.#cancelBackoff()
    this.#stopReoffer()
    clearTimeout(this.#channelPublish)
    this.#dialling?.abort()
    this.#dialling = undefined
    this.#because(reason, () => {
      this.#current?.close(why)
      this.#previous?.close(why)
    })
    this.#settle(reason)
  }

  // ---- the machine ------------------------------------------------------------

  #weOffer (): boolean { return this.#ctx.localPeer < this.peer }

  #wanted (): boolean {
    if (this.#manualOff || !this.#ctx.allow.allows(this.peer)) return false
    if (this.#explicit) return true
    return this.#ctx.autoconnect && (this.#weOffer() || this.#reoffer !== undefined) && this.#ctx.known(this.peer) !== undefined
  }

  /** Start what should run for this peer and is not running. */
  #reconcile (reason: SlotReason): void {
    if (this.#closed || this.#dialling !== undefined) { this.#settle(reason); return }
    if (this.#current !== undefined) {
      // A remake due (its back-off over) for a session still connected, with no negotiation under way.
      const due = this.#remake !== undefined && this.#backoff === undefined && this.#current.state === 'connected' && this.#previous === undefined
      if (due && !this.#manualOff && this.#ctx.allow.allows(this.peer)) this.#offer(reason)
      else this.#settle(reason)
      return
    }
    if (!this.#wanted() || this.#backoff !== undefined) { this.#settle(reason); return }
    if (!this.#ctx.hasRoom()) {
      this.#log.debug('not connecting: session limit reached')
      this.#settle(reason)
      return
    }
    if (holdsBackFromFull({ explicit: this.#explicit, connectedBefore: this.#connectedBefore, lastError: this.#lastError }, this.#ctx.known(this.peer)?.full === true)) {
      this.#log.debug('not connecting: the peer has no free session slot')
      this.#settle(reason)
      return
    }
    this.#offer(reason)
  }

  /**
   * Make-before-break for a session whose path may be gone: a new
   * PeerConnection is offered (libdatachannel has no ICE restart) while the
   * old one carries on until the new one connects. The peer's restart or move
   * is re-made by the side that offers; a path of ours that is gone only we
   * know of, so we offer whichever side offered the old one (the peer takes an
   * offer beside a connected session). A negotiation under way is replaced
   * (the install closes it). A failed remake is tried again after its
   * back-off, for as long as the old session holds.
   */
  #remakeSession (reason: RemakeReason, why: string): void {
    const current = this.#current
    if (this.#closed || current === undefined || this.#manualOff || !this.#ctx.allow.allows(this.peer)) return
    if (reason !== 'path-lost') {
      if (!this.#weOffer() || !this.#wanted()) { this.#reconcile(reason); return }
    }
    this.#log.info({ pair: this.link?.session.pair(), replacing: current.state === 'connected' ? undefined : current.id }, `${why}: renegotiating with a new PeerConnection`)
    this.#remake = reason
    this.#failures = 0
    this.#cancelBackoff()
    // A dial under way makes its PeerConnection after this: it is the remake.
    if (this.#dialling !== undefined) { this.#settle(reason, why); return }
    this.#offer(reason)
  }

  #offer (reason: SlotReason): void {
    const profile = this.#ctx.profileFor(this.peer)
    const refusal = profile === 'trusted' ? this.#ctx.allow.trustedRefusal(this.peer) : undefined
    if (refusal !== undefined) {
      this.#log.warn(`not connecting: trusted profile refused (${refusal})`)
      this.#fail({ code: 'not-allowed', message: `trusted profile refused: ${refusal}`, permanent: true }, 'trusted-refused')
      return
    }
    const dial = new AbortController()
    this.#dialling = dial
    this.#settle(reason)
    const remaking = this.#current !== undefined
    void (async () => {
      let stream: SignalStream
      try {
        // A session is being re-made (a path gone, a peer moved or restarted): so may be
        // the libp2p connection the offer would go out on, and an offer lost on it holds
        // the slot (and wins glare against the peer's) until the negotiation times out.
        if (remaking) await this.#ctx.checkConnection(this.peer)
        dial.signal.throwIfAborted()
        stream = await this.#ctx.signal.open(this.peer, dial.signal)
      } catch (err) {
        if (this.#dialling !== dial) return
        this.#dialling = undefined
        this.#log.debug({ err: (err as Error).message }, 'signal dial failed')
        this.#fail({ code: 'closed', message: `cannot open a signal stream: ${(err as Error).message}`, permanent: false }, 'dial-failed')
        return
      }
      // Dropped meanwhile: glare lost, the operator, the daemon stopping.
      if (this.#dialling !== dial) { stream.close(); return }
      this.#dialling = undefined
      const id = randomBytes(12).toString('base64url')
      const attempt = this.#ctx.createAttempt({ peer: this.peer, role: 'offerer', id, profile, stream })
      this.#log.info({ session: id, replacing: this.#current?.id }, 'offering a session')
      this.#install(attempt, 'offer-sent')
    })()
  }

  /**
   * Make `attempt` the current one. At most two attempts per peer: a
   * connected one (kept as `previous`, make-before-break, until the new one
   * connects) and one negotiating. A negotiating attempt that is replaced is
   * closed (each one holds a PeerConnection and its UDP sockets: offers that
   * replaced each other without closing took a daemon from 2 sockets to 1,002).
   * The new attempt goes in first, so the old one's 'ended' finds the slot taken.
   */
  #install (attempt: SessionAttempt, reason: SlotReason, closeWhy = 'replaced by a newer negotiation'): void {
    const replaced = this.#current
    let closing: SessionAttempt | undefined
    if (replaced?.state === 'connected') {
      if (this.#previous !== undefined && this.#previous !== replaced) closing = this.#previous
      this.#previous = replaced
    } else {
      closing = replaced
    }
    this.#current = attempt
    this.#because(reason, () => { closing?.close(closeWhy) })
    this.#adopt(attempt)
    this.#settle(reason)
  }

  /**
   * Move the peer's traffic onto `standby`, a connected PeerConnection beside
   * the session (see standby.ts): it becomes the current attempt, its open
   * channels go to the channel hub (but `_edge`, which the standby paths hand
   * over themselves), and the old attempts close.
   */
  failover (standby: SessionAttempt): boolean {
    if (this.#closed || standby.state !== 'connected' || this.#current === standby) return false
    const old = [this.#current, this.#previous]
    this.#log.info({ from: this.link?.id, to: standby.id, pair: standby.session.pair() }, 'failing over to the standby path')
    // The standby goes in first, so the old ones' 'ended' finds the slot taken.
    this.#current = standby
    this.#previous = undefined
    this.#remake = undefined
    this.#failures = 0
    this.#lastError = null
    this.#failovers++
    this.#cancelBackoff()
    this.#adopt(standby)
    for (const channel of standby.session.channels()) {
      if (channel.isOpen && channel.label !== EDGE_CHANNEL) this.emit('channel', channel, standby.id)
    }
    this.#because('failover', () => { for (const attempt of old) attempt?.close('failed over to the standby path') })
    this.#ctx.standby?.active(this.peer, standby)
    this.#settle('failover')
    this.#publish()
    return true
  }

  /** Follow an attempt: connected retires the previous one; an end arms the back-off. */
  #adopt (attempt: SessionAttempt): void {
    this.#attempts++
    attempt.on('media', message => { this.emit('media', message, attempt) })
    attempt.on('channel', channel => {
      this.emit('channel', channel, attempt.id)
      // Programs wait for their channel: tell them when one opens or closes.
      this.#publishChannels()
      channel.on('close', () => { this.#publishChannels() })
    })
    attempt.on('negotiated', () => { if (this.#current === attempt) this.#settle('negotiated') })
    // A standby failed over to is connected already.
    let connected = attempt.state === 'connected'
    attempt.on('state', state => {
      if (state === 'connected') { connected = true; this.#connectedBefore = true }
      if (state === 'connected' && this.#current === attempt) {
        this.#failures = 0
        this.#lastError = null
        this.#remake = undefined
        this.#cancelBackoff()
        this.#stopReoffer()
        this.#because('connected', () => { this.#previous?.close('replaced by a new session') })
        this.#previous = undefined
        this.#log.info({ session: attempt.id, pair: attempt.session.pair() }, 'session connected')
        this.#ctx.standby?.active(this.peer, attempt)
        this.#settle('connected')
      }
      this.#publish()
    })
    attempt.on('ended', failure => { this.#ended(attempt, failure, connected) })
    this.#publish()
  }

  #ended (attempt: SessionAttempt, failure: AttemptFailure | undefined, wasConnected: boolean): void {
    if (this.#previous === attempt) this.#previous = undefined
    // The path carrying the traffic failed: a standby beside it takes over (through failover()).
    if (failure !== undefined && this.#current === attempt && this.link === undefined && !this.#closed && this.#ctx.standby?.takeOver(this.peer, attempt) === true) return
    // The transport gave up here (no bye from the peer): the peer may not know yet.
    if (failure !== undefined && wasConnected && !this.#weOffer() && (failure.code === 'closed' || failure.code === 'connection-failed')) {
      this.#startReoffer()
    }
    if (this.#current === attempt) {
      this.#current = this.#previous
      this.#previous = undefined
      if (failure !== undefined) {
        this.#failures++
        this.#lastError = failure
        this.#armBackoff(failure.permanent)
      }
    }
    // Nothing connected is left to re-make.
    if (this.link === undefined) this.#remake = undefined
    if (this.#current === undefined) this.#ctx.standby?.drop(this.peer)
    this.#publish()
    if (this.#closed) return
    if (!this.holdsPlace) {
      this.emit('freed')
      // A peer lost from presence kept its slot while its session held; now that it ended, forget the peer.
      if (!this.#explicit && this.#ctx.known(this.peer) === undefined && this.#reoffer === undefined) {
        this.close('peer left the swarm', 'peer-lost')
        this.emit('forget')
        return
      }
    }
    this.#reconcile(failure !== undefined ? 'failed' : 'ended')
  }

  /** A try that failed before it had an attempt (no signal stream, trusted refused). */
  #fail (failure: AttemptFailure, reason: SlotReason): void {
    this.#failures++
    this.#lastError = failure
    this.#armBackoff(failure.permanent)
    if (!this.holdsPlace) this.emit('freed')
    this.#settle(reason, failure.code)
    this.#publish()
  }

  #armBackoff (permanent: boolean): void {
    clearTimeout(this.#backoff)
    const ms = sessionBackoffMs(this.#failures, permanent)
    this.retryAt = Date.now() + ms
    this.#backoff = setTimeout(() => {
      this.#backoff = undefined
      this.retryAt = undefined
      this.#reconcile('backoff-elapsed')
    }, ms)
  }

  #cancelBackoff (): void {
    clearTimeout(this.#backoff)
    this.#backoff = undefined
    this.retryAt = undefined
  }

  #startReoffer (): void {
    clearTimeout(this.#reoffer)
    this.#reoffer = setTimeout(() => {
      this.#reoffer = undefined
      // A peer that did not come back while we would have offered again: forget it.
      if (!this.holdsPlace && this.#previous === undefined && !this.#explicit && this.#ctx.known(this.peer) === undefined) {
        this.close('peer did not come back', 'peer-lost')
        this.emit('forget')
        return
      }
      this.#reconcile('peer-lost')
    }, REOFFER_GRACE_MS)
  }

  #stopReoffer (): void {
    clearTimeout(this.#reoffer)
    this.#reoffer = undefined
  }

  #because (reason: SlotReason, fn: () => void): void {
    const outer = this.#cause
    this.#cause ??= reason
    try {
      fn()
    } finally {
      this.#cause = outer
    }
  }

  /** The state the facts say, and the transition to it (if any) with `reason` (or the input that caused it). */
  #settle (cause: SlotReason, detail?: string): void {
    const reason = this.#cause ?? cause
    const to = this.#stateNow()
    const from = this.#state
    if (to === from) return
    this.#state = to
    const transition: SlotTransition = { peer: this.peer, from, to, reason, ...(detail !== undefined ? { detail } : {}) }
    this.#log.debug({ from, to, reason, detail, session: this.#current?.id }, `session ${from} → ${to} (${reason})`)
    this.emit('transition', transition)
  }

  #stateNow (): SlotState {
    if (this.#manualOff) return 'off'
    if (this.#closed) return 'idle'
    const current = this.#current
    if (this.link !== undefined) {
      const negotiating = this.#dialling !== undefined || current?.state !== 'connected' || this.#previous !== undefined
      return negotiating || this.#remake !== undefined ? 'remaking' : 'connected'
    }
    if (this.#dialling !== undefined) return 'offering'
    if (current !== undefined) {
      if (current.negotiated) return 'connecting'
      return current.role === 'offerer' ? 'offering' : 'answering'
    }
    if (this.#backoff !== undefined && (this.#wanted() || this.#remake !== undefined)) return 'backoff'
    return 'idle'
  }

  #publish (): void {
    this.emit('session', this.info())
  }

  #publishChannels (): void {
    if (this.#channelPublish !== undefined || this.#closed) return
    this.#channelPublish = setTimeout(() => {
      this.#channelPublish = undefined
      // A slot closed meanwhile (stop() closes them all) has no session left to publish.
      if (!this.#closed) this.emit('session', this.info())
    }, CHANNEL_PUBLISH_MS)
  }
}
