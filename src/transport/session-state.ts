import type { Logger } from 'pino'
import type { PeerSession, SessionState } from './types.ts'

export interface SessionStateInit {
  /** Whose 'state' events these are, and whom fail() closes. */
  session: Pick<PeerSession, 'emit' | 'close'>
  /** The session's close() has begun (it reaches 'closed' only at its end). */
  isClosed: () => boolean
  log: Logger
  /** What fail() logs beside the reason. */
  failMessage: string
}

/**
 * A session's state, as its 'state' events tell it: each change emitted once,
 * a repeat not at all. fail() gives the session up: a warning, 'failed', then
 * its close() (which ends in 'closed' and 'close').
 */
export class SessionStateMachine {
  readonly #init: SessionStateInit
  #state: SessionState = 'connecting'

  constructor (init: SessionStateInit) {
    this.#init = init
  }

  get current (): SessionState {
    return this.#state
  }

  set (state: SessionState): void {
    if (state === this.#state) return
    this.#state = state
    this.#init.session.emit('state', state)
  }

  fail (reason: string): void {
    if (this.#init.isClosed()) return
    this.#init.log.warn({ reason }, this.#init.failMessage)
    this.set('failed')
    this.#init.session.close()
  }
}
