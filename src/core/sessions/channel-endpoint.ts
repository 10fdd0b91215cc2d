import type { Logger } from 'pino'
import { ChannelNotOpenError, MessageTooLargeError, TimeoutError } from '../../util/errors.ts'
import type { Channel } from '../../transport/types.ts'
import type { EdgeMessage } from './edge-messages.ts'

export type Payload = string | Buffer

/** A local program attached to a channel (a WebSocket, an SSE listener). */
export interface ChannelConsumer {
  /** Hand over one message; returns false when the consumer cannot take more now. */
  deliver: (data: Payload) => boolean
  /** Bytes the consumer holds unread (its own queue, e.g. ws.bufferedAmount). */
  backlog: () => number
  /** The consumer fell behind beyond the hard limit on a reliable channel. */
  overflow: (unread: number) => void
}

export const PARKED_MAX_MESSAGES = 1024
export const PARKED_MAX_BYTES = 4 * 1024 * 1024
/** A consumer this far behind loses lossy messages (counted) or, on reliable channels, is cut off. */
export const CONSUMER_MAX_BACKLOG_BYTES = 8 * 1024 * 1024
/** How long a write waits for the channel to (re)appear after a reconnect. */
export const WRITE_WAIT_MS = 15_000
/** Local consumers this far behind: ask the peer's daemon to stop sending on a reliable channel. */
export const FLOW_PAUSE_BYTES = 1024 * 1024
/** …and to go on once they are back under this. */
export const FLOW_RESUME_BYTES = 256 * 1024
const FLOW_POLL_MS = 20
/** Reliable channels: bytes sent and not yet acknowledged by the peer's daemon; write() waits beyond this. */
export const UNACKED_MAX_BYTES = 4 * 1024 * 1024
/** The receiving daemon acknowledges after this many messages or bytes, or this long after the first unacknowledged one. */
export const ACK_EVERY_MESSAGES = 64
export const ACK_EVERY_BYTES = 256 * 1024
export const ACK_DELAY_MS = 100
/** Where each of our last few channels started in our stream of messages (see #resume). */
const KEPT_STARTS = 8

/**
 * Sees every message of the channel, both ways, without being a consumer: it
 * takes nothing from the parked queue and no part in flow control (a recorder).
 * `received` messages are those delivered to local programs (an old session's
 * duplicates are not); `sent` ones are those the channel took from write().
 */
export type ChannelTap = (direction: 'received' | 'sent', data: Payload) => void

/** Tells the peer's daemon to pause or resume sending on this channel (see channel-hub.ts). */
export type FlowSignal = (paused: boolean) => void

/** The session a channel belongs to, and the daemons' `_edge` channel of that session. */
export interface ChannelLink {
  /** The session's negotiation id: both ends name it alike. */
  session: string
  /** Send to the peer's daemon on this session's `_edge` channel; `queue`: hold it until that channel opens. */
  send: (message: EdgeMessage, queue?: boolean) => void
}

const size = (data: Payload | Uint8Array): number => typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength

/**
 * Reliable ordered channels are numbered and resumed across sessions. Lossy
 * ones promise nothing to resume; reliable unordered ones arrive in any order,
 * so a count of what arrived does not say which messages did.
 */
const resumable = (channel: Channel): boolean => !channel.lossy && channel.options.ordered

/** Where a receiver is in the sender's stream: `received` messages of the channel of `session` (null: none known). */
interface Position {
  session: string | null
  received: number
}

/** The channel we take a peer's messages from, with what we told the peer about them. */
interface Inbound {
  channel: Channel
  link: ChannelLink
  /** What our resume for this channel said we had before it. */
  from: Position
  received: number
  acked: number
  bytesSinceAck: number
  timer: NodeJS.Timeout | undefined
}

/** A channel we send on. */
interface Outbound {
  channel: Channel
  link: ChannelLink
  /** The peer's resume we go on from on this channel. */
  from: Position
  pumping: boolean
  /** A send failed: the channel is closing (its close event may come later); the next channel resumes. */
  broken: boolean
}

/**
 * The local side of one (peer, label) channel. It outlives PeerConnections:
 * after a reconnect the new session's channel is attached here and local
 * programs keep their WebSocket. Messages that arrive while nobody listens are
 * parked in a bounded queue (oldest dropped first, counted) for the next consumer.
 *
 * A reliable (ordered) channel delivers everything in order across sessions too. The
 * messages written here are numbered and kept until the peer's daemon
 * acknowledges them (`ack` on `_edge`). When a new session's channel appears,
 * each end stops taking messages from the old one and tells the other
 * (`resume`) how many it had from it; the sender sends the rest again on the
 * new channel, in order. What SCTP still held when an association died (a
 * partition longer than its retransmissions last) or was replaced (a remade
 * session) is not lost, and nothing arrives twice.
 */
export class ChannelEndpoint {
  readonly peer: string
  readonly label: string
  readonly #log: Logger
  readonly #consumers = new Set<ChannelConsumer>()
  readonly #taps = new Set<ChannelTap>()
  readonly #parked: Payload[] = []
  #parkedBytes = 0
  #channel: Channel | undefined
  #waiters: Array<() => void> = []
  #lossy = false
  /** The peer asked us to stop sending (its local consumers are behind). */
  #remotePaused = false
  #resumeWaiters: Array<() => void> = []
  /** We asked the peer to stop sending. */
  #localPaused = false
  #flowTimer: NodeJS.Timeout | undefined
  #signalFlow: FlowSignal | undefined
  // Reliable delivery across sessions: sending.
  /** Written and not acknowledged, from message number #base on. */
  #unacked: Array<string | Uint8Array> = []
  #unackedBytes = 0
  #base = 0
  /** The number of the next message to send on #out. */
  #next = 0
  /** The channel we send on, once the peer told us where to go on from (resume). */
  #out: Outbound | undefined
  /** The newest channel, until the peer's resume for it comes. */
  #awaiting: { channel: Channel, link: ChannelLink } | undefined
  /** Resumes that came before their session's channel (by session). */
  readonly #earlyResumes = new Map<string, { session: string | null, received: number }>()
  /** The number of the first message sent on each session's channel. */
  readonly #starts = new Map<string, number>()
  #roomWaiters: Array<() => void> = []
  // Reliable delivery across sessions: receiving.
  #inbound: Inbound | undefined
  #closed = false
  /** Messages dropped on the way to local consumers (parked overflow, slow lossy consumers). */
  dropped = 0
  delivered = 0

  /** A message was written, received or parked here: the label is in use (see idle). */
  #used = false
  readonly #onUnused: ((endpoint: ChannelEndpoint) => void) | undefined

  /** `onUnused`: called when the endpoint may have become unused (see `unused`), after a consumer left or its channel closed. */
  constructor (peer: string, label: string, logger: Logger, onUnused?: (endpoint: ChannelEndpoint) => void) {
    this.peer = peer
    this.label = label
    this.#log = logger.child({ peer, channel: label })
    this.#onUnused = onUnused
  }

  /**
   * Nobody listens and no message ever went through: the label holds nothing
   * a local program or the peer could miss (a flood of opens leaves only such labels).
   */
  get idle (): boolean {
    return !this.#used && !this.#closed && this.#consumers.size === 0 && this.#parked.length === 0 && this.#unacked.length === 0
  }

  /** Idle, and without an open channel: the hub may forget the label. */
  get unused (): boolean {
    return this.idle && (this.#channel === undefined || this.#channel.isClosed)
  }

  #checkUnused (): void {
    if (this.#onUnused !== undefined && this.unused) this.#onUnused(this)
  }

  get channel (): Channel | undefined { return this.#channel }
  get consumers (): number { return this.#consumers.size }
  /** Reliable: messages written and not yet acknowledged by the peer's daemon. */
  get unacknowledged (): number { return this.#unacked.length }

  /** A (new) open channel for this label: route its messages here. */
  attach (channel: Channel, link: ChannelLink): void {
    this.#channel = channel
    this.#lossy = channel.lossy
    this.#signalFlow = paused => { link.send({ t: 'flow', label: this.label, paused }) }
    // A new PeerConnection starts with clean flow state on both sides.
    this.setRemotePaused(false)
    this.#localPaused = false
    if (resumable(channel)) {
      // Receiving: from now on only this channel counts; tell the sender where to go on from.
      const before = this.#inbound
      if (before !== undefined) clearTimeout(before.timer)
      // Nothing taken from the last channel: we are where we were before it. The sender
      // may never have started on that one (a session replaced at once, its resume lost
      // with its _edge channel; a channel it refused in glare, see Channel.refused), and
      // would not know it: it would send everything unacknowledged again.
      const from: Position = before === undefined
        ? { session: null, received: 0 }
        : before.received === 0
          ? before.from
          : { session: before.link.session, received: before.received }
      this.#inbound = { channel, link, from, received: 0, acked: 0, bytesSinceAck: 0, timer: undefined }
      link.send({ t: 'resume', label: this.label, session: from.session, received: from.received }, true)
      // Sending: wait for the peer's resume for this channel.
      this.#out = undefined
      this.#awaiting = { channel, link }
      const early = this.#earlyResumes.get(link.session)
      if (early !== undefined) {
        this.#earlyResumes.delete(link.session)
        this.#resume(link.session, early.session, early.received)
      }
    }
    channel.on('message', data => { this.#receive(channel, data) })
    channel.on('close', () => {
      if (this.#channel === channel) this.#channel = undefined
      if (this.#inbound?.channel === channel) clearTimeout(this.#inbound.timer)
      if (channel.refused) this.#refused(channel)
      this.#wakeRoom()
      this.#checkUnused()
    })
    for (const wake of this.#waiters.splice(0)) wake()
  }

  /** A message from the peer's daemon about this channel, on the `_edge` channel of `session`. */
  control (session: string, message: EdgeMessage): void {
    switch (message.t) {
      case 'flow': this.setRemotePaused(message.paused); break
      case 'resume': this.#resume(session, message.session, message.received); break
      case 'ack': {
        const start = this.#starts.get(message.session)
        if (start !== undefined) this.#trim(start + message.received)
        break
      }
    }
  }

  addConsumer (consumer: ChannelConsumer): () => void {
    this.#consumers.add(consumer)
    for (const data of this.#parked.splice(0)) consumer.deliver(data)
    this.#parkedBytes = 0
    return () => {
      if (this.#consumers.delete(consumer)) this.#checkUnused()
    }
  }

  /** See every message from now on (ChannelTap); returns the function that stops it. */
  tap (tap: ChannelTap): () => void {
    if (this.#closed) return () => {}
    this.#taps.add(tap)
    return () => { this.#taps.delete(tap) }
  }

  #toTaps (direction: 'received' | 'sent', data: Payload): void {
    for (const tap of this.#taps) {
      try {
        tap(direction, data)
      } catch (err) {
        this.#log.error({ err }, 'channel tap failed')
      }
    }
  }

  /**
   * Send one message to the peer. Reliable channels take it once fewer than
   * UNACKED_MAX_BYTES are unacknowledged (backpressure) and deliver it, in
   * order, on this session's channel or the next one's.
   */
  async write (data: Payload): Promise<void> {
    this.#used = true
    while (this.#remotePaused) await new Promise<void>(resolve => { this.#resumeWaiters.push(resolve) })
    let channel = this.#channel?.isClosed === false ? this.#channel : await this.#waitForChannel()
    const payload = typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    if (!resumable(channel)) {
      await channel.write(payload)
      this.#toTaps('sent', data)
      return
    }
    const bytes = size(payload)
    if (bytes > channel.maxMessageSize) throw new MessageTooLargeError(this.label, bytes, channel.maxMessageSize)
    while (this.#unackedBytes > 0 && this.#unackedBytes + bytes > UNACKED_MAX_BYTES) {
      if (channel.isClosed) channel = await this.#waitForChannel()
      else await new Promise<void>(resolve => { this.#roomWaiters.push(resolve) })
    }
    if (this.#closed) throw new ChannelNotOpenError(`channel ${this.label} to ${this.peer} is closed`)
    // Kept until acknowledged: a small view must not keep a large buffer (a socket read) alive.
    this.#unacked.push(typeof payload !== 'string' && payload.byteLength < payload.buffer.byteLength / 2 ? new Uint8Array(payload) : payload)
    this.#unackedBytes += bytes
    this.#toTaps('sent', data)
    this.#pump()
  }

  async #waitForChannel (): Promise<Channel> {
    const deadline = Date.now() + WRITE_WAIT_MS
    while (this.#channel === undefined || this.#channel.isClosed) {
      const left = deadline - Date.now()
      if (left <= 0) throw new TimeoutError(`channel ${this.label} to ${this.peer} is not open (no session?)`)
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return this.#channel
  }

  /**
   * The peer took the channel of `session` and had `received` messages of
   * ours from the channel of session `before`: go on from the one after those
   * on the new channel. A session we do not know (the peer or this daemon
   * restarted, or nothing was sent yet) means from the oldest we still hold.
   */
  #resume (session: string, before: string | null, received: number): void {
    const out = this.#out
    // The same again for the channel we send on (a peer that took two channels of one session).
    if (out?.link.session === session && !out.channel.isClosed && out.from.session === before && out.from.received === received) return
    const waiting = this.#awaiting
    if (waiting?.link.session !== session) {
      // Its channel has not reached us yet (the _edge channel can open first).
      this.#earlyResumes.delete(session)
      this.#earlyResumes.set(session, { session: before, received })
      while (this.#earlyResumes.size > KEPT_STARTS) this.#earlyResumes.delete(this.#earlyResumes.keys().next().value as string)
      return
    }
    const start = before === null ? undefined : this.#starts.get(before)
    if (before !== null && start !== undefined) {
      // Still named (receivers name it again while they take nothing new): keep it among the kept.
      this.#starts.delete(before)
      this.#starts.set(before, start)
    }
    const end = this.#base + this.#unacked.length
    const from = Math.min(Math.max(start === undefined ? this.#base : start + received, this.#base), end)
    this.#trim(from)
    this.#next = from
    this.#starts.delete(session)
    this.#starts.set(session, from)
    while (this.#starts.size > KEPT_STARTS) this.#starts.delete(this.#starts.keys().next().value as string)
    this.#awaiting = undefined
    this.#out = { channel: waiting.channel, link: waiting.link, from: { session: before, received }, pumping: false, broken: false }
    if (end > from) this.#log.info({ session, resent: end - from }, 'sending again what the peer did not get')
    this.#pump()
  }

  /**
   * The peer never took this channel of ours (glare: its own channel of the
   * label won, see Channel.refused), so what we sent on it is lost and its
   * resume belongs to the session's channel that won: wait for that one, or
   * go on on it if it is here already.
   */
  #refused (channel: Channel): void {
    if (this.#awaiting?.channel === channel) this.#awaiting = undefined
    const out = this.#out
    if (out?.channel !== channel) return
    this.#out = undefined
    this.#resume(out.link.session, out.from.session, out.from.received)
  }

  /** The peer's daemon has every message before number `upTo`: forget them. */
  #trim (upTo: number): void {
    const end = this.#base + this.#unacked.length
    const n = Math.min(upTo, end) - this.#base
    if (n <= 0) return
    for (const data of this.#unacked.splice(0, n)) this.#unackedBytes -= size(data)
    this.#base += n
    if (this.#next < this.#base) this.#next = this.#base
    this.#wakeRoom()
  }

  /**
   * Send what is unsent on the current channel, one message after the other.
   * While the send buffer has room a message goes out at once (send()); the
   * one after a full buffer waits for it to drain (write()): no promise and
   * no write-chain link per message while the stream flows.
   */
  #pump (): void {
    const out = this.#out
    if (out === undefined || out.pumping || out.broken) return
    out.pumping = true
    void (async () => {
      try {
        let room = true
        while (this.#out === out && !out.channel.isClosed) {
          const i = this.#next - this.#base
          if (i >= this.#unacked.length) break
          const data = this.#unacked[i]
          try {
            if (room && out.channel.isOpen) {
              room = out.channel.send(data)
            } else {
              await out.channel.write(data)
              room = true
            }
          } catch (err) {
            // The channel is closing (libdatachannel throws before its close callback): the next one resumes.
            if (!(err instanceof MessageTooLargeError) || this.#out !== out || this.#unacked[i] !== data) {
              out.broken = true
              break
            }
            // This session's peer takes less than the one the message was written for.
            this.#log.warn({ err }, 'dropping a message over the new session\'s max message size')
            this.#unacked.splice(i, 1)
            this.#unackedBytes -= size(data)
            this.dropped++
            this.#wakeRoom()
            continue
          }
          if (this.#out !== out) break
          this.#next++
        }
      } finally {
        out.pumping = false
      }
      // Messages written while the last one was in flight.
      if (this.#out === out && !out.broken && !out.channel.isClosed && this.#next - this.#base < this.#unacked.length) this.#pump()
    })()
  }

  #wakeRoom (): void {
    for (const wake of this.#roomWaiters.splice(0)) wake()
  }

  /** Flow control from the peer's daemon: while paused, write() waits (and so do local writers). */
  setRemotePaused (paused: boolean): void {
    this.#remotePaused = paused
    if (!paused) for (const wake of this.#resumeWaiters.splice(0)) wake()
  }

  get remotePaused (): boolean { return this.#remotePaused }

  #backlog (): number {
    let most = this.#parkedBytes
    for (const consumer of this.#consumers) most = Math.max(most, consumer.backlog())
    return most
  }

  /**
   * A consumer's backlog shrank (its socket drained): resume the peer now if
   * we paused it, rather than at the next poll.
   */
  consumerDrained (): void {
    if (this.#localPaused) this.#checkFlow()
  }

  /**
   * Reliable channels: pause the sender while local consumers are behind;
   * resume once they caught up. Consumers that say when they drained
   * (consumerDrained) resume it at once; the poll covers those that do not
   * (and parked messages).
   */
  #checkFlow (): void {
    if (this.#lossy || this.#signalFlow === undefined) return
    const backlog = this.#backlog()
    if (!this.#localPaused && backlog > FLOW_PAUSE_BYTES) {
      this.#localPaused = true
      this.#signalFlow(true)
      this.#flowTimer = setInterval(() => { this.#checkFlow() }, FLOW_POLL_MS)
    } else if (this.#localPaused && backlog < FLOW_RESUME_BYTES) {
      this.#localPaused = false
      clearInterval(this.#flowTimer)
      this.#signalFlow(false)
    }
  }

  #receive (channel: Channel, data: Payload): void {
    if (this.#closed) return
    this.#used = true
    if (resumable(channel)) {
      const inbound = this.#inbound
      // An older session's channel: what it still brings is sent again on the new one.
      if (inbound?.channel !== channel) return
      inbound.received++
      inbound.bytesSinceAck += size(data)
      this.#ackLater(inbound)
    }
    this.#toTaps('received', data)
    this.#deliver(data)
    this.#checkFlow()
  }

  #ackLater (inbound: Inbound): void {
    if (inbound.received - inbound.acked >= ACK_EVERY_MESSAGES || inbound.bytesSinceAck >= ACK_EVERY_BYTES) {
      this.#ack(inbound)
    } else if (inbound.timer === undefined) {
      inbound.timer = setTimeout(() => { this.#ack(inbound) }, ACK_DELAY_MS)
    }
  }

  #ack (inbound: Inbound): void {
    clearTimeout(inbound.timer)
    inbound.timer = undefined
    if (this.#inbound !== inbound || inbound.channel.isClosed || inbound.received === inbound.acked) return
    inbound.acked = inbound.received
    inbound.bytesSinceAck = 0
    inbound.link.send({ t: 'ack', label: this.label, session: inbound.link.session, received: inbound.received })
  }

  #deliver (data: Payload): void {
    if (this.#consumers.size === 0) {
      this.#park(data)
      return
    }
    for (const consumer of this.#consumers) {
      const backlog = consumer.backlog()
      if (backlog > CONSUMER_MAX_BACKLOG_BYTES) {
        if (this.#lossy) { this.dropped++; continue }
        this.#log.warn({ backlog }, 'local consumer too slow on a reliable channel: cutting it off')
        this.#consumers.delete(consumer)
        consumer.overflow(backlog)
        continue
      }
      consumer.deliver(data)
      this.delivered++
    }
  }

  #park (data: Payload): void {
    this.#parked.push(data)
    this.#parkedBytes += size(data)
    while (this.#parked.length > PARKED_MAX_MESSAGES || this.#parkedBytes > PARKED_MAX_BYTES) {
      const old = this.#parked.shift()
      if (old === undefined) break
      this.#parkedBytes -= size(old)
      this.dropped++
    }
  }

  close (): void {
    this.#closed = true
    clearInterval(this.#flowTimer)
    clearTimeout(this.#inbound?.timer)
    this.#inbound = undefined
    this.#out = undefined
    this.#awaiting = undefined
    this.#unacked = []
    this.#unackedBytes = 0
    this.setRemotePaused(false)
    for (const wake of this.#waiters.splice(0)) wake()
    this.#wakeRoom()
    this.#consumers.clear()
    this.#taps.clear()
    this.#parked.length = 0
    this.#channel = undefined
  }
}
