import type { Logger } from 'pino'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { Channel, PeerSession } from '../../transport/types.ts'
import { EDGE_CHANNEL } from './channel-hub.ts'
import { parseEdgeMessage, type PathMessage } from './edge-messages.ts'

/** The active path beats this often: its silence is what a failover waits for. */
export const ACTIVE_BEAT_MS = 50
/** A standby beats this often (a few packets a second): enough to know it is still there. */
export const STANDBY_BEAT_MS = 250
/** The active path is lost after this long without a beat, or 3 × RTT if longer. */
export const ACTIVE_SILENCE_FLOOR_MS = 150
/** A standby is lost after this long without a beat (or 3 × RTT). */
export const STANDBY_SILENCE_FLOOR_MS = 1_500
/** The RTT (from the transport's stats) is read again after this many beats. */
const RTT_EVERY_BEATS = 20

export interface PathHeartbeatEvents {
  /** Nothing from the peer on this path for `silentMs` (over the bound): it stopped answering. */
  silent: [silentMs: number]
  /** The peer moved its traffic onto this path (a failover on its side). */
  switch: []
}

export interface PathHeartbeatInit {
  session: PeerSession
  /** Active (ACTIVE_BEAT_MS, silence after ACTIVE_SILENCE_FLOOR_MS) or standby. */
  active: boolean
  logger: Logger
}

/**
 * A light heartbeat on one PeerConnection's `_edge` channel, both ways: each
 * end sends `beat` at the path's rate and watches the other's. Silence beyond
 * max(floor, 3 × RTT) is `silent` (once, until a beat comes again). A
 * heartbeat outlives nothing: `close()` (or its session's close) stops it.
 */
export class PathHeartbeat extends TypedEmitter<PathHeartbeatEvents> {
  readonly session: PeerSession
  readonly #log: Logger
  #active: boolean
  #edge: Channel | undefined
  #timer: NodeJS.Timeout | undefined
  #check: NodeJS.Immediate | undefined
  #lastHeard: number
  #rttMs = 0
  #beats = 0
  #silent = false
  #closed = false
  readonly #onChannel = (channel: Channel): void => { if (channel.label === EDGE_CHANNEL) this.#use(channel) }
  readonly #onMessage = (data: string | Buffer): void => {
    const message = parseEdgeMessage(data)
    if (message?.t === 'beat' || message?.t === 'switch') this.#heard(message)
  }

  constructor (init: PathHeartbeatInit) {
    super()
    this.session = init.session
    this.#active = init.active
    this.#log = init.logger
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'heartbeat listener failed') }
    this.#lastHeard = Date.now()
    const edge = init.session.channel(EDGE_CHANNEL)
    if (edge !== undefined) this.#use(edge)
    else init.session.on('channel', this.#onChannel)
    init.session.once('close', () => { this.close() })
    this.#schedule()
  }

  get active (): boolean { return this.#active }
  /** Milliseconds since the peer was last heard on this path. */
  get silentMs (): number { return Date.now() - this.#lastHeard }
  /** The silence after which this path counts as lost. */
  get boundMs (): number {
    return Math.max(this.#active ? ACTIVE_SILENCE_FLOOR_MS : STANDBY_SILENCE_FLOOR_MS, 3 * this.#rttMs)
  }

  /** Heard within its bound, and its `_edge` channel open. */
  get alive (): boolean { return !this.#closed && this.#edge?.isOpen === true && this.silentMs <= this.boundMs }

  /** Beat at the active or the standby rate from now on (after a failover). */
  setActive (active: boolean): void {
    if (this.#active === active || this.#closed) return
    this.#active = active
    // The other end switches too, within a round trip: its beats speed up then.
    this.#lastHeard = Date.now()
    this.#silent = false
    clearTimeout(this.#timer)
    this.#schedule()
  }

  /** Tell the peer we moved our traffic onto this path. */
  sendSwitch (): void { this.#send('{"t":"switch"}') }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    clearImmediate(this.#check)
    this.session.off('channel', this.#onChannel)
    this.#edge?.off('message', this.#onMessage)
    this.removeAllListeners()
  }

  #use (channel: Channel): void {
    this.session.off('channel', this.#onChannel)
    this.#edge = channel
    channel.on('message', this.#onMessage)
    // Time before the channel opened is not silence.
    channel.on('open', () => { this.#lastHeard = Date.now() })
  }

  #heard (message: PathMessage): void {
    this.#lastHeard = Date.now()
    if (this.#silent) {
      this.#silent = false
      this.#log.info({ active: this.#active }, 'path answers again')
    }
    if (message.t === 'switch') this.emit('switch')
  }

  #send (text: string): void {
    if (this.#edge?.isOpen !== true) return
    try {
      this.#edge.send(text)
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'heartbeat not sent')
    }
  }

  #schedule (): void {
    if (this.#closed) return
    this.#timer = setTimeout(() => { this.#tick() }, this.#active ? ACTIVE_BEAT_MS : STANDBY_BEAT_MS)
  }

  #tick (): void {
    if (this.#edge?.isOpen === true) {
      this.#send('{"t":"beat"}')
      if (this.#beats++ % RTT_EVERY_BEATS === 0) this.#rttMs = this.session.stats().rttMs ?? this.#rttMs
      // Judged after this turn's I/O: a tick held up by our own event loop (GC, a burst of
      // work) runs before the beats that came meanwhile are read, which is no silence of the path's.
      this.#check = setImmediate(() => { this.#judge() })
    } else {
      this.#lastHeard = Date.now()
    }
    this.#schedule()
  }

  #judge (): void {
    this.#check = undefined
    const silent = Date.now() - this.#lastHeard
    if (this.#closed || this.#silent || silent <= this.boundMs) return
    this.#silent = true
    this.#log.info({ silentMs: silent, boundMs: this.boundMs, active: this.#active }, 'path stopped answering')
    this.emit('silent', silent)
  }
}
