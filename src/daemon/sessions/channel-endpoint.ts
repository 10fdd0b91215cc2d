import type { Logger } from 'pino'
import { TimeoutError } from '../../util/errors.ts'
import type { Channel } from '../../transport/types.ts'

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

/** Tells the peer's daemon to pause or resume sending on this channel (see channel-hub.ts). */
export type FlowSignal = (paused: boolean) => void

const size = (data: Payload): number => typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength

/**
 * The local side of one (peer, label) channel. It outlives PeerConnections:
 * after a reconnect the new session's channel is attached here and local
 * programs keep their WebSocket. Messages that arrive while nobody listens are
 * parked in a bounded queue (oldest dropped first, counted) for the next consumer.
 */
export class ChannelEndpoint {
  readonly peer: string
  readonly label: string
  readonly #log: Logger
  readonly #consumers = new Set<ChannelConsumer>()
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
  /** Messages dropped on the way to local consumers (parked overflow, slow lossy consumers). */
  dropped = 0
  delivered = 0

  constructor (peer: string, label: string, logger: Logger) {
    this.peer = peer
    this.label = label
    this.#log = logger.child({ peer, channel: label })
  }

  get channel (): Channel | undefined { return this.#channel }
  get consumers (): number { return this.#consumers.size }

  /** A (new) open channel for this label: route its messages here. */
  attach (channel: Channel, signalFlow?: FlowSignal): void {
    this.#channel = channel
    this.#lossy = channel.lossy
    this.#signalFlow = signalFlow
    // A new PeerConnection starts with clean flow state on both sides.
    this.setRemotePaused(false)
    this.#localPaused = false
    channel.on('message', data => { this.#receive(data) })
    channel.on('close', () => { if (this.#channel === channel) this.#channel = undefined })
    for (const wake of this.#waiters.splice(0)) wake()
  }

  addConsumer (consumer: ChannelConsumer): () => void {
    this.#consumers.add(consumer)
    for (const data of this.#parked.splice(0)) consumer.deliver(data)
    this.#parkedBytes = 0
    return () => { this.#consumers.delete(consumer) }
  }

  /** Send one message to the peer; reliable channels wait for buffer space (backpressure). */
  async write (data: Payload): Promise<void> {
    while (this.#remotePaused) await new Promise<void>(resolve => { this.#resumeWaiters.push(resolve) })
    const channel = this.#channel?.isClosed === false ? this.#channel : await this.#waitForChannel()
    await channel.write(typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
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

  /** Reliable channels: pause the sender while local consumers are behind; resume once they caught up. */
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

  #receive (data: Payload): void {
    this.#deliver(data)
    this.#checkFlow()
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
    clearInterval(this.#flowTimer)
    this.setRemotePaused(false)
    for (const wake of this.#waiters.splice(0)) wake()
    this.#consumers.clear()
    this.#parked.length = 0
    this.#channel = undefined
  }
}
