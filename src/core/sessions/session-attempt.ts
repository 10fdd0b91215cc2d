import type { Logger } from 'pino'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { MediaSignalMessage, SignalErrorCode, SignalMessage } from '../../signalling/signal-messages.ts'
import type { SignalStream } from '../../signalling/signal-stream.ts'
import { fingerprintFromSdp, sameFingerprint } from '../../transport/fingerprint.ts'
import type { Channel, PeerSession, SessionRole, SessionSignal, SessionState, StackProfile } from '../../transport/types.ts'

export interface AttemptFailure {
  code: SignalErrorCode | 'closed' | 'connection-failed' | 'remote-bye'
  message: string
  /** Retrying cannot help (not allowed, profile mismatch, attack): back off long. */
  permanent: boolean
}

export interface SessionAttemptEvents {
  state: [SessionState]
  channel: [Channel]
  /** A watch/watching/unwatch request for this session from the peer. */
  media: [MediaSignalMessage]
  /** Offer and answer are through (the offerer has the answer, the answerer sent it): ICE and DTLS now. */
  negotiated: []
  /** The attempt ended: `failure` is undefined after a clean, local close. */
  ended: [AttemptFailure | undefined]
}

export interface SessionAttemptInit {
  peer: string
  id: string
  role: SessionRole
  profile: StackProfile
  stream: SignalStream
  /** Builds the PeerSession; its signals go out on the stream of this attempt. */
  createSession: (role: SessionRole, sendSignal: (signal: SessionSignal) => void) => PeerSession
  /** A standby PeerConnection beside the connected session `of` (see standby.ts); its offer and answer say so. */
  standbyOf?: string
  logger: Logger
}

/**
 * Refusals not worth retrying soon (the rare retry: BACKOFF_PERMANENT_MS). `full`
 * is a peer at its session limit: asking it every few seconds would only cost
 * both sides a PeerConnection each time, and in a large swarm most peers are full.
 */
const PERMANENT_CODES = new Set<string>(['not-allowed', 'profile-mismatch', 'fingerprint-mismatch', 'full'])

/**
 * The offerer hears nothing back (no answer, candidate or refusal) within
 * this: the offer went out on a connection that is dead (its path gone with
 * an address, TCP none the wiser) or the peer is stuck. Waiting longer only
 * holds the slot, and glare, against the offers that could work.
 */
export const ANSWER_TIMEOUT_MS = 6_000

/**
 * One negotiation and the PeerConnection it produced: the offer/answer and
 * candidates for session `id` travel on one signal stream. Once connected, the
 * DTLS fingerprint the stack saw must match the one in the description that
 * came over the Noise-authenticated stream, or the session is torn down.
 */
export class SessionAttempt extends TypedEmitter<SessionAttemptEvents> {
  readonly peer: string
  readonly id: string
  readonly role: SessionRole
  readonly profile: StackProfile
  readonly session: PeerSession
  /** Set for a standby PeerConnection: the session it stood by for when made. */
  readonly standbyOf: string | undefined
  readonly #stream: SignalStream
  readonly #log: Logger
  #remoteSdp: string | undefined
  #ended = false
  #answerTimer: NodeJS.Timeout | undefined
  #negotiated = false

  constructor (init: SessionAttemptInit) {
    super()
    this.peer = init.peer
    this.id = init.id
    this.role = init.role
    this.profile = init.profile
    this.#stream = init.stream
    this.standbyOf = init.standbyOf
    this.#log = init.logger.child({ peer: init.peer, session: init.id, ...(init.standbyOf !== undefined ? { standbyOf: init.standbyOf } : {}) })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'session listener failed') }

    this.session = init.createSession(init.role, signal => { this.#sendSignal(signal) })
    this.session.on('state', state => { this.#onState(state) })
    this.session.on('channel', channel => { this.emit('channel', channel) })
    this.session.on('close', () => { this.#end({ code: 'closed', message: 'the PeerConnection closed', permanent: false }) })
    this.#stream.on('message', message => {
      clearTimeout(this.#answerTimer)
      this.#onMessage(message)
    })
    if (init.role === 'offerer') {
      this.#answerTimer = setTimeout(() => {
        if (this.session.state === 'connected') return
        this.#fail({ code: 'timeout', message: `no answer within ${ANSWER_TIMEOUT_MS / 1000} s`, permanent: false })
      }, ANSWER_TIMEOUT_MS)
    }
    this.#stream.on('close', err => {
      // A connected session lives on without its signal stream; a negotiating one cannot.
      if (this.session.state !== 'connected' && !this.#ended) {
        const code = (err as { code?: string } | undefined)?.code
        this.#fail({
          code: (code as AttemptFailure['code'] | undefined) ?? 'closed',
          message: `signal stream closed during negotiation${err !== undefined ? `: ${err.message}` : ''}`,
          permanent: code !== undefined && PERMANENT_CODES.has(code)
        })
      }
    })
  }

  get state (): SessionState { return this.session.state }

  /** Offer and answer are through (see the `negotiated` event). */
  get negotiated (): boolean { return this.#negotiated }

  #setNegotiated (): void {
    if (this.#negotiated || this.#ended) return
    this.#negotiated = true
    this.emit('negotiated')
  }

  /** Answerer: apply the offer that opened the stream (validated by the manager). */
  acceptOffer (offer: Extract<SignalMessage, { type: 'offer' }>): void {
    this.#remoteSdp = offer.sdp
    this.#apply({ type: 'offer', sdp: offer.sdp, params: offer.params })
  }

  /** Close locally: says bye to the peer, closes the PeerConnection. Idempotent. */
  close (reason = 'closed'): void {
    if (this.#ended) return
    void this.#stream.send({ type: 'bye', session: this.id, reason: reason.slice(0, 256) }).catch(() => {}).finally(() => { this.#stream.close() })
    this.#end(undefined)
  }

  /** Send a media request on this session's signal stream (fails once the stream is gone). */
  async sendMedia (message: MediaSignalMessage): Promise<void> {
    await this.#stream.send(message)
  }

  /** The session's signal stream is still open (media requests need it). */
  get canSignal (): boolean { return !this.#ended && !this.#stream.closed }

  #sendSignal (signal: SessionSignal): void {
    const message: SignalMessage = signal.type === 'candidate'
      ? { type: 'candidate', session: this.id, candidate: signal.candidate, mid: signal.mid }
      : {
          type: signal.type,
          session: this.id,
          profile: this.profile,
          ...(signal.sdp !== undefined ? { sdp: signal.sdp } : {}),
          ...(signal.params !== undefined ? { params: signal.params } : {}),
          ...(this.standbyOf !== undefined ? { path: 'standby' as const, of: this.standbyOf } : {})
        }
    this.#stream.send(message).catch((err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'could not send signal')
    })
    if (signal.type === 'answer') this.#setNegotiated()
  }

  #onMessage (message: SignalMessage): void {
    if (this.#ended) return
    if (message.type === 'error') {
      this.#fail({ code: message.code, message: `peer refused: ${message.message}`, permanent: PERMANENT_CODES.has(message.code) })
      return
    }
    if (message.session !== this.id) {
      void this.#stream.reject('unknown-session', `no session ${String(message.session)} on this stream`, message.session)
      return
    }
    switch (message.type) {
      case 'bye':
        this.#log.info({ reason: message.reason }, 'peer ended the session')
        this.#end({ code: 'remote-bye', message: `peer ended the session: ${message.reason ?? 'bye'}`, permanent: false })
        return
      case 'candidate':
        this.#apply({ type: 'candidate', candidate: message.candidate, mid: message.mid })
        return
      case 'watch':
      case 'watching':
      case 'unwatch':
        this.emit('media', message)
        return
      case 'answer':
        // Later answers (renegotiation) are checked by the PeerSession against its pending offer.
        if (this.role !== 'offerer') {
          void this.#stream.reject('out-of-order', 'unexpected answer', this.id)
          return
        }
        if (message.profile !== this.profile) {
          void this.#stream.reject('profile-mismatch', `answer is for profile ${message.profile}, the offer was ${this.profile}`, this.id)
          return
        }
        this.#remoteSdp ??= message.sdp
        this.#apply({ type: 'answer', sdp: message.sdp, params: message.params })
        this.#setNegotiated()
        return
      case 'offer':
        // Renegotiation (tracks added later) is offered by the same side on the same stream.
        if (this.role !== 'answerer') {
          void this.#stream.reject('out-of-order', 'unexpected offer: this side is the offerer', this.id)
          return
        }
        this.#remoteSdp ??= message.sdp
        this.#apply({ type: 'offer', sdp: message.sdp, params: message.params })
    }
  }

  #apply (signal: SessionSignal): void {
    try {
      this.session.handleSignal(signal)
    } catch (err) {
      const e = err as Error
      this.#log.warn({ err: e.message, signal: signal.type }, 'rejecting a bad description from the peer')
      void this.#stream.reject('malformed', `${e.name}: ${e.message}`, this.id)
      if (this.session.state !== 'connected') this.#fail({ code: 'malformed', message: e.message, permanent: false })
    }
  }

  #onState (state: SessionState): void {
    if (state === 'connected' && !this.#verifyFingerprint()) return
    this.emit('state', state)
    if (state === 'failed') this.#fail({ code: 'connection-failed', message: this.profile === 'trusted' ? 'trusted session failed' : 'ICE/DTLS connection failed', permanent: false })
    if (state === 'closed') this.#end({ code: 'closed', message: 'the PeerConnection closed', permanent: false })
  }

  #verifyFingerprint (): boolean {
    // No DTLS in trusted: the peer is who the Noise-authenticated signal stream says.
    if (this.profile === 'trusted') return true
    const expected = this.#remoteSdp === undefined ? null : fingerprintFromSdp(this.#remoteSdp)
    const seen = this.session.remoteFingerprint()
    if (expected !== null && sameFingerprint(expected, seen)) return true
    this.#log.error({ expected, seen, attack: true },
      'ATTACK? the DTLS certificate does not match the fingerprint signed into the description; closing the session')
    void this.#stream.reject('fingerprint-mismatch', 'DTLS fingerprint does not match the description', this.id)
    this.#fail({ code: 'fingerprint-mismatch', message: 'DTLS fingerprint does not match the description', permanent: true })
    return false
  }

  #fail (failure: AttemptFailure): void {
    if (this.#ended) return
    this.#log.info({ code: failure.code }, `session attempt failed: ${failure.message}`)
    this.#end(failure)
  }

  #end (failure: AttemptFailure | undefined): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#answerTimer)
    this.session.close()
    if (failure !== undefined) this.#stream.close()
    this.emit('ended', failure)
    this.removeAllListeners()
  }
}
