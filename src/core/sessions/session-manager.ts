import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { ConflictError, NotFoundError } from '../../util/errors.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { Startable } from '../../util/startable.ts'
import type { MediaSignalMessage, SignalMessage } from '../../signalling/signal-messages.ts'
import { lostHost } from '../../signalling/address-hosts.ts'
import type { SignalService } from '../../signalling/signal-service.ts'
import { PublishRateLimit } from '../../signalling/publish-rate-limit.ts'
import type { SignalStream } from '../../signalling/signal-stream.ts'
import type { PeerInfo, Swarm } from '../../signalling/types.ts'
import type { Channel, PeerSession, SessionRole, SessionSignal, StackProfile } from '../../transport/types.ts'
import { sessionBackoffMs } from './backoff.ts'
import { holdsBackFromFull } from './full-peer.ts'
import { SessionAttempt, type AttemptFailure } from './session-attempt.ts'
import type { SessionInfo, StandbyInfo } from './session-info.ts'
import { EDGE_CHANNEL } from './channel-hub.ts'

/** The first message on an inbound signal stream must come within this. */
export const FIRST_MESSAGE_TIMEOUT_MS = 10_000
/** How often wanted-but-missing sessions are looked at (besides events). */
export const RECONCILE_INTERVAL_MS = 1_000
/**
 * Channel opens and closes are published (the session's info, with every
 * channel's stats) at most this often a session: a flood of 1,000 channels
 * otherwise publishes 2,000 times with up to 1,000 channels each, and holds
 * the event loop for most of a second.
 */
export const CHANNEL_PUBLISH_MS = 50
/** How long an answerer whose connected session failed offers a new one itself (see Slot.reofferUntil). */
export const REOFFER_GRACE_MS = 60_000

/** Offers a peer may make at once, and the rate they come back at (a remake or a restart needs one each). */
export const OFFER_BURST = 8
export const OFFERS_PER_SECOND = 0.5

/** A connected session as the media (watch) layer uses it: its PeerSession and its signal stream. */
export type SessionLink = Pick<SessionAttempt, 'peer' | 'id' | 'session' | 'sendMedia' | 'canSignal'>

export interface SessionManagerEvents {
  session: [SessionInfo]
  /** A channel opened on the session with negotiation id `session`. */
  channel: [peer: string, channel: Channel, session: string]
  /** A peer's watch/watching/unwatch request on one of its sessions. */
  media: [peer: string, message: MediaSignalMessage, link: SessionLink]
}

export interface SessionManagerInit {
  localPeer: string
  swarm: Pick<Swarm, 'peers' | 'peer' | 'localHosts' | 'checkConnection' | 'on' | 'off'>
  signal: SignalService
  autoconnect: boolean
  maxSessions: number
  allow: string[]
  profileFor: (peer: string) => StackProfile
  /** Why the trusted profile may not be used with this peer (undefined: it may: rtc.trusted and on swarm.allow). */
  trustedRefusal?: (peer: string) => string | undefined
  /** Builds a PeerSession with the daemon's rtc config. */
  createSession: (init: { remotePeer: string, role: SessionRole, profile: StackProfile, sendSignal: (s: SessionSignal) => void, id: string }) => PeerSession
  /** Standby paths for failover (rtc.standby; see standby.ts): told what happens to each peer's session. */
  standby?: SessionStandby
  logger: Logger
}

/**
 * What the manager tells the standby paths, and asks of them (see
 * standby.ts). The manager owns which attempt carries a peer's traffic;
 * the standby paths own the second PeerConnection and the heartbeats.
 */
export interface SessionStandby {
  /** `attempt` carries the peer's traffic now (it connected, or it was failed over to). */
  active: (peer: string, attempt: SessionAttempt) => void
  /** The attempt carrying the peer's traffic ended with `failure`: true when a standby took over (through failover()). */
  takeOver: (peer: string, ended: SessionAttempt) => boolean
  /** The peer has no session any more: its standby goes too. */
  drop: (peer: string) => void
  /** A peer offers a standby PeerConnection on `stream`. */
  offer: (stream: SignalStream, message: Extract<SignalMessage, { type: 'offer' }>) => void
  info: (peer: string) => StandbyInfo | null
}
// ---- end of the standby hooks

/** Everything the manager knows about one remote peer. */
interface Slot {
  peer: string
  current?: SessionAttempt
  /** Make-before-break: the old PeerConnection carries traffic until the new one connects. */
  previous?: SessionAttempt
  /** `edgectl connect`: wanted even without autoconnect or when we are not the offerer. */
  explicit: boolean
  /** `edgectl disconnect`: not wanted until connected again by hand. */
  manualOff: boolean
  failures: number
  retryAt: number
  attempts: number
  instance?: string
  /** The peer's announced addresses, as last seen: new ones are worth a retry at once. */
  addresses?: string
  /** We lost an address: offer a new PeerConnection (whichever side offered the old one) until one is under way. */
  remake?: boolean
  /** The session `remake` was last set for (see remakeLostPath). */
  remakeOf?: string
  /** The session whose lost local address had the libp2p connection checked (see checkLocalEnd). */
  pathChecked?: string
  /**
   * Our connected session failed on our side while the peer offered it: after
   * a partition the peer's side can look connected for half a minute longer
   * (an idle SCTP association notices nothing), so we offer until one
   * connects, for REOFFER_GRACE_MS (the slot stays that long even while the
   * peer is out of presence).
   */
  reofferUntil?: number
  /** A session with this peer connected once: its end may still count it (see reconcile). */
  connectedBefore?: boolean
  lastError: AttemptFailure | null
  /** A publish for channel events is due (see CHANNEL_PUBLISH_MS). */
  channelPublish?: NodeJS.Timeout
  /** Times the peer's traffic moved onto a standby path. */
  failovers: number
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
  /** Replace swarm.allow live (config reload): sessions with peers no longer on it close. */
  setAllow: (peers: string[]) => void
  /**
   * Move a peer's traffic onto `standby`, a connected PeerConnection beside
   * its session (see standby.ts): its channels go to the channel hub (those
   * but `_edge`, which the standby paths hand over themselves), and the old
   * attempts close. False when there is no such peer, or `standby` is not connected.
   */
  failover: (peer: string, standby: SessionAttempt) => boolean
}

/**
 * One PeerSession per remote peer: auto-connects allowed peers (the side with
 * the smaller peer id offers, so there is no glare), answers offers, and
 * reconnects with a brand-new PeerConnection and exponential back-off when a
 * session fails or the peer restarts.
 */
export function createSessionManager (init: SessionManagerInit): SessionManager {
  const log = init.logger
  const manager = new TypedEmitter<SessionManagerEvents>() as SessionManager
  manager.onListenerError = (event, err) => { log.error({ err, event }, 'session listener failed') }
  const slots = new Map<string, Slot>()
  const offerRate = new PublishRateLimit({ burst: OFFER_BURST, perSecond: OFFERS_PER_SECOND })
  const allow = new Set(init.allow)
  let timer: NodeJS.Timeout | undefined
  let running = false

  const isAllowed = (peer: string): boolean => allow.size === 0 || allow.has(peer)
  const weOffer = (peer: string): boolean => init.localPeer < peer
  const reoffering = (s: Slot): boolean => s.reofferUntil !== undefined && Date.now() < s.reofferUntil
  /** An ICE candidate's address without an IPv6 zone (`fe80::1%eth0`), as the interfaces list it. */
  const bareHost = (address: string): string => address.replace(/%.*$/, '')
  const known = (peer: string): PeerInfo | undefined => init.swarm.peer(peer)
  /** The attempt carrying the peer's traffic: the current one once connected, else the previous one while it holds. */
  const connectedAttempt = (s: Slot | undefined): SessionAttempt | undefined => {
    const attempt = s?.current?.state === 'connected' ? s.current : s?.previous
    return attempt?.state === 'connected' ? attempt : undefined
  }
  /** An offer of ours is opening its signal stream: offer() reserves the slot until then (retryAt = +∞). */
  const dialling = (s: Slot): boolean => s.retryAt === Number.POSITIVE_INFINITY
  // A dialling offer counts too: several slots reconciled in one tick must not overshoot the limit.
  const active = (): number => [...slots.values()].filter(s => s.current !== undefined || dialling(s)).length

  const slotOf = (peer: string): Slot => {
    let slot = slots.get(peer)
    if (slot === undefined) {
      slot = { peer, explicit: false, manualOff: false, failures: 0, retryAt: 0, attempts: 0, lastError: null, failovers: 0 }
      slots.set(peer, slot)
    }
    return slot
  }

  const info = (slot: Slot): SessionInfo => {
    const attempt = slot.current ?? slot.previous
    const stats = attempt?.session.stats()
    return {
      peer: slot.peer,
      name: known(slot.peer)?.name ?? null,
      session: attempt?.id ?? null,
      state: attempt?.state ?? 'idle',
      profile: attempt?.profile ?? init.profileFor(slot.peer),
      role: attempt?.role ?? null,
      pair: stats?.pair ?? null,
      rttMs: stats?.rttMs ?? null,
      bytesSent: stats?.bytesSent ?? 0,
      bytesReceived: stats?.bytesReceived ?? 0,
      channels: stats?.channels.filter(c => c.label !== EDGE_CHANNEL) ?? [],
      sections: stats?.sections ?? { local: [], remote: [] },
      connectedAt: stats?.connectedAt ?? null,
      attempts: slot.attempts,
      lastError: slot.lastError === null ? null : { code: slot.lastError.code, message: slot.lastError.message },
      standby: init.standby?.info(slot.peer) ?? null,
      failovers: slot.failovers
    }
  }

  const publish = (slot: Slot): void => { manager.emit('session', info(slot)) }
  const publishChannels = (slot: Slot): void => {
    if (slot.channelPublish !== undefined) return
    slot.channelPublish = setTimeout(() => {
      slot.channelPublish = undefined
      // A slot dropped meanwhile (stop() drops them all) has no session left to publish.
      if (slots.get(slot.peer) === slot) publish(slot)
    }, CHANNEL_PUBLISH_MS)
  }

  const wanted = (slot: Slot): boolean =>
    !slot.manualOff && isAllowed(slot.peer) && (slot.explicit || (init.autoconnect && (weOffer(slot.peer) || reoffering(slot)) && known(slot.peer) !== undefined))

  /** Follow an attempt: connected retires the previous one; an end schedules a retry. */
  const adopt = (slot: Slot, attempt: SessionAttempt): void => {
    slot.attempts++
    attempt.on('media', message => { manager.emit('media', slot.peer, message, attempt) })
    attempt.on('channel', channel => {
      manager.emit('channel', slot.peer, channel, attempt.id)
      // Programs wait for their channel: tell them when one opens or closes.
      publishChannels(slot)
      channel.on('close', () => { publishChannels(slot) })
    })
    // A standby failed over to is connected already.
    let connected = attempt.state === 'connected'
    attempt.on('state', state => {
      if (state === 'connected') { connected = true; slot.connectedBefore = true }
      if (state === 'connected' && slot.current === attempt) {
        slot.failures = 0
        slot.lastError = null
        slot.reofferUntil = undefined
        slot.previous?.close('replaced by a new session')
        slot.previous = undefined
        log.info({ peer: slot.peer, session: attempt.id, pair: attempt.session.pair() }, 'session connected')
        init.standby?.active(slot.peer, attempt)
      }
      publish(slot)
    })
    attempt.on('ended', failure => {
      if (slot.previous === attempt) slot.previous = undefined
      // The path carrying the traffic failed: a standby beside it takes over (see failover()).
      if (failure !== undefined && slot.current === attempt && connectedAttempt(slot) === undefined && running && init.standby?.takeOver(slot.peer, attempt) === true) return
      if (slot.current === attempt) {
        slot.current = slot.previous
        slot.previous = undefined
        if (failure !== undefined) {
          slot.failures++
          slot.lastError = failure
          slot.retryAt = Date.now() + sessionBackoffMs(slot.failures, failure.permanent)
          // The transport gave up here (no bye from the peer): the peer may not know yet.
          if (connected && !weOffer(slot.peer) && (failure.code === 'closed' || failure.code === 'connection-failed')) {
            slot.reofferUntil = Date.now() + REOFFER_GRACE_MS
          }
        }
      }
      if (slot.current === undefined) init.standby?.drop(slot.peer)
      publish(slot)
      // A peer lost from presence kept its slot while its session held; now that it ended, forget the peer.
      if (slot.current === undefined && !slot.explicit && known(slot.peer) === undefined && !reoffering(slot)) {
        slots.delete(slot.peer)
        return
      }
      reconcile(slot)
    })
    publish(slot)
  }

  const createAttempt = (slot: Slot, role: SessionRole, id: string, profile: StackProfile, stream: SignalStream): SessionAttempt =>
    new SessionAttempt({
      peer: slot.peer,
      id,
      role,
      profile,
      stream,
      createSession: (r, sendSignal) => init.createSession({ remotePeer: slot.peer, role: r, profile, sendSignal, id }),
      logger: log
    })

  /**
   * Make `attempt` the slot's current one. At most two attempts per peer: a
   * connected one (kept as `previous`, make-before-break, until the new one
   * connects) and one negotiating. A negotiating attempt that is replaced is
   * closed (each one holds a PeerConnection and its UDP sockets: offers that
   * replaced each other without closing took a daemon from 2 sockets to 1,002).
   * The new attempt goes in first, so the old one's 'ended' finds the slot taken.
   */
  const install = (slot: Slot, attempt: SessionAttempt): void => {
    const replaced = slot.current
    let closing: SessionAttempt | undefined
    if (replaced?.state === 'connected') {
      if (slot.previous !== undefined && slot.previous !== replaced) closing = slot.previous
      slot.previous = replaced
    } else {
      closing = replaced
    }
    slot.current = attempt
    closing?.close('replaced by a newer negotiation')
    adopt(slot, attempt)
  }

  const trustedRefused = (peer: string, profile: StackProfile): string | undefined =>
    profile === 'trusted' ? init.trustedRefusal?.(peer) : undefined

  const offer = async (slot: Slot): Promise<void> => {
    const id = randomBytes(12).toString('base64url')
    const refusal = trustedRefused(slot.peer, init.profileFor(slot.peer))
    if (refusal !== undefined) {
      log.warn({ peer: slot.peer }, `not connecting: trusted profile refused (${refusal})`)
      slot.failures++
      slot.lastError = { code: 'not-allowed', message: `trusted profile refused: ${refusal}`, permanent: true }
      slot.retryAt = Date.now() + sessionBackoffMs(slot.failures, true)
      publish(slot)
      return
    }
    // Reserve the slot while dialling so reconcile does not start a second offer.
    const placeholder = slot.retryAt
    slot.retryAt = Number.POSITIVE_INFINITY
    let stream: SignalStream
    try {
      // A session is being re-made (a path gone, a peer moved or restarted): so may be
      // the libp2p connection the offer would go out on, and an offer lost on it holds
      // the slot (and wins glare against the peer's) until the negotiation times out.
      if (slot.current !== undefined) await init.swarm.checkConnection(slot.peer)
      stream = await init.signal.open(slot.peer)
    } catch (err) {
      slot.failures++
      slot.lastError = { code: 'closed', message: `cannot open a signal stream: ${(err as Error).message}`, permanent: false }
      slot.retryAt = Date.now() + sessionBackoffMs(slot.failures)
      log.debug({ peer: slot.peer, err: (err as Error).message }, 'signal dial failed')
      publish(slot)
      return
    }
    slot.retryAt = placeholder
    if (!running || slot.manualOff) { stream.close(); return }
    const attempt = createAttempt(slot, 'offerer', id, init.profileFor(slot.peer), stream)
    log.info({ peer: slot.peer, session: id, replacing: slot.current?.id }, 'offering a session')
    slot.remake = false
    install(slot, attempt)
  }

  /** Start what should run for this peer and is not running. */
  const reconcile = (slot: Slot): void => {
    if (!running || !wanted(slot) || slot.current !== undefined) return
    if (Date.now() < slot.retryAt) return
    if (active() >= init.maxSessions) {
      log.debug({ peer: slot.peer, max: init.maxSessions }, 'not connecting: session limit reached')
      return
    }
    if (holdsBackFromFull(slot, known(slot.peer)?.full === true)) {
      log.debug({ peer: slot.peer }, 'not connecting: the peer has no free session slot')
      return
    }
    void offer(slot)
  }

  /** A peer opened a signal stream: its first message must be an offer we can take. */
  const onStream = (stream: SignalStream): void => {
    const peer = stream.remotePeer
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
        if (init.standby === undefined) void stream.reject('busy', 'this peer keeps no standby paths', message.session)
        else init.standby.offer(stream, message)
        return
      }
      takeOffer(stream, message)
    }
    const onClose = (): void => { clearTimeout(timeout) }
    stream.on('message', onFirst)
    stream.on('close', onClose)
  }

  const takeOffer = (stream: SignalStream, message: Extract<SignalMessage, { type: 'offer' }>): void => {
    const peer = stream.remotePeer
    const slot = slotOf(peer)
    const profile = init.profileFor(peer)
    if (message.profile !== profile) {
      log.warn({ peer, theirs: message.profile, ours: profile }, 'stack profile mismatch: no session')
      void stream.reject('profile-mismatch', `this peer uses stack profile ${profile} towards you, you offered ${message.profile}`, message.session)
      return
    }
    const refusal = trustedRefused(peer, profile)
    if (refusal !== undefined) {
      log.warn({ peer }, `trusted offer refused: ${refusal}`)
      void stream.reject('not-allowed', `this peer refuses the trusted profile with you: ${refusal}`, message.session)
      return
    }
    if (slot.manualOff) {
      void stream.reject('busy', 'sessions with you were disconnected by the operator', message.session)
      return
    }
    // Each offer we take costs a PeerConnection: a peer gets a few at once, then one every few seconds.
    if (!offerRate.take(peer)) {
      log.warn({ peer }, 'offer over the per-peer offer rate refused')
      void stream.reject('busy', `more than ${OFFER_BURST} offers at once, or one per ${1 / OFFERS_PER_SECOND} s`, message.session)
      return
    }
    // The peer offers: it knows our old session is gone, we need not offer again ourselves.
    slot.reofferUntil = undefined
    const current = slot.current
    if (current?.role === 'offerer' && current.state === 'connecting') {
      // Glare (both sides offered): the smaller peer id's offer wins.
      if (weOffer(peer)) {
        void stream.reject('busy', 'glare: our offer to you is in progress and wins', message.session)
        return
      }
      current.close('glare: taking your offer')
    } else if (current === undefined && active() >= init.maxSessions) {
      void stream.reject('full', `session limit of ${init.maxSessions} reached`, message.session)
      return
    }
    const attempt = createAttempt(slot, 'answerer', message.session, profile, stream)
    log.info({ peer, session: message.session, replacing: slot.current?.id }, 'answering an offer')
    install(slot, attempt)
    attempt.acceptOffer(message)
  }

  const onPeer = (peer: PeerInfo): void => {
    const slot = slotOf(peer.peerId)
    const restarted = slot.instance !== undefined && slot.instance !== peer.instance
    slot.instance = peer.instance
    const addresses = peer.addresses.join(' ')
    const changed = slot.addresses !== undefined && slot.addresses !== addresses
    // Only an address that went away can have taken the session's path with it; new ones add paths.
    const moved = changed && lostHost((slot.addresses ?? '').split(' '), peer.addresses)
    if (changed && slot.current === undefined) slot.retryAt = 0
    slot.addresses = addresses
    // It refused us for want of a slot and now says one is free: no need to sit out the long back-off.
    if (peer.full !== true && slot.current === undefined && slot.lastError?.code === 'full') slot.retryAt = 0
    if (restarted && slot.current !== undefined && weOffer(peer.peerId) && wanted(slot)) {
      // The peer restarted: its end of our PeerConnection is gone; make a new one now
      // instead of waiting for ICE to notice (the old one stays until the new one connects).
      log.info({ peer: peer.peerId }, 'peer restarted: renegotiating with a new PeerConnection')
      remake(slot, true)
      return
    }
    if (moved && slot.current !== undefined) {
      log.info({ peer: peer.peerId }, 'peer lost an address: renegotiating with a new PeerConnection')
      remake(slot)
      return
    }
    reconcile(slot)
  }
  /**
   * Make-before-break for a session whose path may be gone (peer restarted or
   * moved): the offerer signals a new PeerConnection (libdatachannel has no ICE
   * restart) while the old one carries on until the new one connects.
   */
  const remake = (slot: Slot, restarted = false): void => {
    if (!running || slot.current === undefined || !weOffer(slot.peer) || !wanted(slot)) return
    // A negotiation under way towards a path that still works needs no second one; one towards a restarted peer is dead.
    if (!restarted && slot.current.state !== 'connected') return
    slot.failures = 0
    slot.retryAt = 0
    void offer(slot)
  }

  /**
   * A path of ours is gone (an interface went away or was renumbered) and
   * only we know: we offer a new PeerConnection, whichever side offered the
   * old one (the peer takes an offer beside a connected session, see
   * onStream). offer() first makes sure the libp2p connection it signals on
   * is alive; until there is one, the offer fails and is tried again.
   */
  const remakeLostPath = (slot: Slot, why: string, fresh: boolean): void => {
    if (slot.current?.state !== 'connected' || slot.previous !== undefined) return
    if (slot.manualOff || !isAllowed(slot.peer)) return
    if (slot.remake === true && !fresh) return
    slot.remake = true
    // Marked again by the tick after a failed try (glare, no signalling yet): the back-off holds.
    // A new loss is news: try at once.
    if (slot.remakeOf === slot.current.id && !fresh) return
    slot.remakeOf = slot.current.id
    log.info({ peer: slot.peer, pair: slot.current.session.pair() }, `${why}: renegotiating with a new PeerConnection`)
    slot.failures = 0
    slot.retryAt = 0
  }
  /** Hosts of ours went away: every session whose local end we cannot vouch for is re-made. */
  const onAddressesLost = (hosts: string[]): void => {
    const lost = new Set(hosts)
    for (const slot of slots.values()) {
      const local = connectedAttempt(slot)?.session.pair()?.local
      // A host candidate names our address; a reflexive or relayed one hides which interface it left by.
      if (local?.type === 'host' && !lost.has(bareHost(local.address))) continue
      remakeLostPath(slot, 'we lost an address', true)
    }
  }
  /**
   * The session's local address is no longer ours. Also catches what a loss
   * event cannot: an address that came back and moved again between two
   * looks (a link up, then DHCP renumbering it) reads as a gain only.
   */
  const checkLocalEnd = (slot: Slot, hosts: Set<string>): void => {
    const attempt = connectedAttempt(slot)
    const local = attempt?.session.pair()?.local
    if (attempt === undefined || local?.type !== 'host' || hosts.has(bareHost(local.address))) return
    // The libp2p connection may have gone with it (unseen, if the address went between two
    // looks): once per session, so a negotiation under way does not wait on a dead one.
    if (slot.pathChecked !== attempt.id) {
      slot.pathChecked = attempt.id
      void init.swarm.checkConnection(slot.peer)
    }
    remakeLostPath(slot, `our address ${local.address} is gone`, false)
  }
  const remakeIfWanted = (slot: Slot): void => {
    if (slot.remake !== true) return
    // Once a negotiation is under way (ours or the peer's), or the old session is gone, the job is done.
    if (slot.current?.state !== 'connected' || slot.previous !== undefined) {
      slot.remake = false
      return
    }
    if (Date.now() < slot.retryAt) return
    void offer(slot)
  }

  const onLost = (peer: PeerInfo): void => {
    const slot = slots.get(peer.peerId)
    if (slot === undefined || slot.explicit) return
    // Presence also expires during a partition. A connected PeerConnection rides
    // out up to ~45 s of silence and SCTP resends what was queued, so it stays;
    // if the peer is really gone, the transport fails and ends it.
    if (slot.current?.state === 'connected') {
      log.info({ peer: peer.peerId }, 'peer lost from presence: keeping its connected session while the transport holds')
      return
    }
    // Our side of its session failed in a partition: offer again once it is back.
    if (reoffering(slot)) return
    slot.current?.close('peer left the swarm')
    slot.previous?.close('peer left the swarm')
    slots.delete(peer.peerId)
  }

  manager.start = async () => {
    running = true
    init.signal.on('stream', onStream)
    init.swarm.on('peer:discovered', onPeer)
    init.swarm.on('peer:updated', onPeer)
    init.swarm.on('peer:lost', onLost)
    init.swarm.on('addresses:lost', onAddressesLost)
    for (const peer of init.swarm.peers()) onPeer(peer)
    timer = setInterval(() => {
      const hosts = init.swarm.localHosts()
      for (const slot of [...slots.values()]) {
        // A peer that did not come back while we would have offered again: forget it.
        if (slot.reofferUntil !== undefined && !reoffering(slot)) {
          slot.reofferUntil = undefined
          if (slot.current === undefined && slot.previous === undefined && !slot.explicit && known(slot.peer) === undefined) {
            slots.delete(slot.peer)
            continue
          }
        }
        checkLocalEnd(slot, hosts)
        remakeIfWanted(slot)
        reconcile(slot)
      }
    }, RECONCILE_INTERVAL_MS)
  }

  manager.stop = async () => {
    if (!running) return
    running = false
    clearInterval(timer)
    init.signal.off('stream', onStream)
    init.swarm.off('peer:discovered', onPeer)
    init.swarm.off('peer:updated', onPeer)
    init.swarm.off('peer:lost', onLost)
    init.swarm.off('addresses:lost', onAddressesLost)
    for (const slot of slots.values()) {
      clearTimeout(slot.channelPublish)
      slot.current?.close('daemon stopping')
      slot.previous?.close('daemon stopping')
    }
    slots.clear()
    manager.removeAllListeners()
  }

  manager.list = () => [...slots.values()].filter(s => s.current !== undefined || s.previous !== undefined || s.explicit || s.lastError !== null).map(info)
  manager.get = (peer) => {
    const slot = slots.get(peer)
    if (slot === undefined) throw new NotFoundError(`no session with ${peer}`)
    return info(slot)
  }
  manager.connect = (peer) => {
    if (peer === init.localPeer) throw new ConflictError('cannot connect to this daemon itself')
    if (!isAllowed(peer)) throw new ConflictError(`peer ${peer} is not on swarm.allow`)
    const slot = slotOf(peer)
    slot.explicit = true
    slot.manualOff = false
    slot.failures = 0
    slot.retryAt = 0
    reconcile(slot)
    return info(slot)
  }
  manager.disconnect = (peer) => {
    const slot = slots.get(peer)
    if (slot === undefined || (slot.current === undefined && slot.previous === undefined && !slot.explicit)) {
      throw new NotFoundError(`no session with ${peer}`)
    }
    slot.explicit = false
    slot.manualOff = true
    slot.current?.close('disconnected by the operator')
    slot.previous?.close('disconnected by the operator')
    publish(slot)
  }
  manager.session = (peer) => connectedAttempt(slots.get(peer))?.session
  manager.sessionById = (peer, id) => {
    const slot = slots.get(peer)
    const attempt = [slot?.current, slot?.previous].find(a => a?.id === id)
    return attempt?.session
  }
  manager.link = (peer) => connectedAttempt(slots.get(peer))
  manager.failover = (peer, standby) => {
    const slot = slots.get(peer)
    if (!running || slot === undefined || standby.state !== 'connected' || slot.current === standby) return false
    const old = [slot.current, slot.previous]
    log.info({ peer, from: connectedAttempt(slot)?.id, to: standby.id, pair: standby.session.pair() }, 'failing over to the standby path')
    // The standby goes in first, so the old ones' 'ended' finds the slot taken.
    slot.current = standby
    slot.previous = undefined
    slot.remake = false
    slot.failures = 0
    slot.lastError = null
    slot.failovers++
    adopt(slot, standby)
    // Its channels so far (the rest come through adopt): the channel endpoints resume on them.
    for (const channel of standby.session.channels()) {
      if (channel.isOpen && channel.label !== EDGE_CHANNEL) manager.emit('channel', peer, channel, standby.id)
    }
    for (const attempt of old) attempt?.close('failed over to the standby path')
    init.standby?.active(peer, standby)
    publish(slot)
    return true
  }
  manager.count = active
  manager.full = () => active() >= init.maxSessions
  manager.setAllow = (peers) => {
    allow.clear()
    for (const peer of peers) allow.add(peer)
    for (const slot of [...slots.values()]) {
      if (isAllowed(slot.peer)) { reconcile(slot); continue }
      slots.delete(slot.peer)
      slot.explicit = false
      slot.current?.close('peer removed from swarm.allow')
      slot.previous?.close('peer removed from swarm.allow')
    }
  }

  return manager
}

