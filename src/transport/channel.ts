import type { DataChannel } from 'node-datachannel'
import type { Logger } from 'pino'
import { ChannelNotOpenError } from '../util/errors.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { isLossy } from './channel-protocol.ts'
import { ChannelCounters } from './channel-stats.ts'
import { DropOldestQueue } from './drop-oldest-queue.ts'
import { checkMessageSize, type Payload } from './payload.ts'
import type { Channel, ChannelEvents, ChannelLimits, ChannelOptions, ChannelStats } from './types.ts'
import { Waiters } from './waiters.ts'
import { WriteChain } from './write-chain.ts'

export const DEFAULT_CHANNEL_LIMITS: ChannelLimits = {
  highWaterMark: 1024 * 1024,
  lowWaterMark: 256 * 1024,
  lossyHighWaterMark: 64 * 1024,
  lossyQueueLength: 64
}

/** libdatachannel's default before the remote a=max-message-size is known. */
const UNNEGOTIATED_MAX_MESSAGE_SIZE = 65536

export interface ChannelInit {
  label: string
  options: ChannelOptions
  limits: ChannelLimits
  logger: Logger
}

/**
 * A node-datachannel DataChannel with backpressure (reliable) or a bounded
 * drop-oldest queue (lossy). The DataChannel may be attached after
 * construction (a channel the answerer asks for before the offer is applied).
 */
export class RtcChannel extends TypedEmitter<ChannelEvents> implements Channel {
  readonly label: string
  readonly options: ChannelOptions
  readonly lossy: boolean
  readonly #highWaterMark: number
  readonly #lowWaterMark: number
  readonly #log: Logger
  readonly #queue: DropOldestQueue<Payload>
  #dc: DataChannel | null = null
  #open = false
  #everOpen = false
  #closed = false
  #failure: string | undefined
  #refused = false
  #maxMessageSize = UNNEGOTIATED_MAX_MESSAGE_SIZE
  readonly #waiters = new Waiters()
  readonly #writes = new WriteChain()
  readonly #counters = new ChannelCounters()

  constructor (init: ChannelInit) {
    super()
    this.label = init.label
    this.options = init.options
    this.lossy = isLossy(init.options)
    this.#highWaterMark = this.lossy ? init.limits.lossyHighWaterMark : init.limits.highWaterMark
    this.#lowWaterMark = this.lossy ? Math.floor(init.limits.lossyHighWaterMark / 2) : init.limits.lowWaterMark
    this.#log = init.logger.child({ channel: init.label })
    this.#queue = new DropOldestQueue(init.limits.lossyQueueLength)
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'channel listener threw') }
  }

  get isOpen (): boolean { return this.#open }
  get isClosed (): boolean { return this.#closed }
  get refused (): boolean { return this.#refused }

  /** Glare: the far end kept its own channel of this label and dropped this one (see Channel.refused); closes it. */
  closeRefused (): void {
    this.#refused = true
    this.close()
  }
  get maxMessageSize (): number { return this.#maxMessageSize }

  get bufferedAmount (): number {
    if (this.#dc === null || this.#closed) return 0
    try {
      return this.#dc.bufferedAmount()
    } catch {
      return 0
    }
  }

  /**
   * Take over a DataChannel. Must run synchronously where the channel appears
   * (createDataChannel, onDataChannel): node-datachannel drops messages that
   * arrive before onMessage is set.
   */
  attach (dc: DataChannel): void {
    if (this.#dc !== null) throw new Error(`channel ${this.label} already has a DataChannel`)
    this.#dc = dc
    dc.onMessage(msg => { this.#guard('message', () => { this.#receive(msg) }) })
    // Registering onClosed also lets node-datachannel release the channel's native callbacks.
    dc.onClosed(() => { this.#guard('closed', () => { this.#shutDown(false) }) })
    dc.onError(err => { this.#guard('error', () => { this.#log.warn({ err }, 'data channel error') }) })
    dc.onOpen(() => { this.#guard('open', () => { this.#markOpen() }) })
    dc.onBufferedAmountLow(() => { this.#guard('buffered-low', () => { this.#drained() }) })
    dc.setBufferedAmountLowThreshold(this.#lowWaterMark)
    if (this.#closed) {
      this.#closeNative()
      return
    }
    if (dc.isOpen()) this.#markOpen()
  }

  send (data: Payload): boolean {
    if (!this.#open) throw new ChannelNotOpenError(`channel ${this.label} is ${this.#closed ? 'closed' : 'not open yet'}`)
    this.#checkSize(data)
    if (!this.lossy) {
      this.#transmit(data)
      return this.bufferedAmount < this.#highWaterMark
    }
    if (this.#queue.length > 0) this.#drain()
    if (this.#queue.length === 0 && this.bufferedAmount < this.#highWaterMark) {
      this.#transmit(data)
      return true
    }
    this.#queue.push(data)
    return false
  }

  write (data: Payload): Promise<void> {
    return this.#writes.run(async () => {
      await this.#waitUntil(() => this.#open)
      this.#checkSize(data)
      if (this.lossy) {
        this.send(data)
        return
      }
      await this.#waitUntil(() => this.bufferedAmount < this.#highWaterMark)
      this.#transmit(data)
    })
  }

  close (): void {
    this.#shutDown(true)
  }

  /** Why the native channel could not be created (see fail()); undefined otherwise. */
  get failure (): string | undefined { return this.#failure }

  /** The native channel could not be created: closed, never to open. */
  fail (reason: string): void {
    this.#failure ??= reason
    this.#shutDown(false)
  }

  /**
   * Close as part of closing the whole PeerConnection. An open channel is left
   * for the PeerConnection's teardown to close natively: closing it here too
   * races the far end's close inside libdatachannel, and the loser never gets
   * its closed callback, which keeps the event loop alive for good.
   */
  closeWithConnection (): void {
    this.#shutDown(this.#dc === null || !this.#everOpen)
  }

  stats (): ChannelStats {
    return this.#counters.stats({
      label: this.label,
      options: this.options,
      open: this.#open,
      bufferedAmount: this.bufferedAmount,
      dropped: this.#queue.dropped,
      queued: this.#queue.length
    })
  }

  #checkSize (data: Payload): void {
    checkMessageSize(this.label, data, this.#maxMessageSize)
  }

  #transmit (data: Payload): void {
    const dc = this.#dc
    if (dc === null || !this.#open) throw new ChannelNotOpenError(`channel ${this.label} is not open`)
    try {
      if (typeof data === 'string') dc.sendMessage(data)
      else dc.sendMessageBinary(data)
    } catch (err) {
      // libdatachannel throws once the channel is closing; the close callback follows.
      throw new ChannelNotOpenError(`channel ${this.label}: ${(err as Error).message}`, { cause: err })
    }
    this.#counters.sent(data)
  }

  #receive (msg: string | Buffer | ArrayBuffer): void {
    if (this.#closed) return
    // The open and message callbacks are separate native queues: a message can overtake 'open'.
    if (!this.#open) this.#markOpen()
    const data = msg instanceof ArrayBuffer ? Buffer.from(msg) : msg
    this.#counters.received(data)
    this.emit('message', data)
  }

  #markOpen (): void {
    if (this.#open || this.#closed || this.#dc === null) return
    this.#open = true
    this.#everOpen = true
    try {
      this.#maxMessageSize = this.#dc.maxMessageSize()
    } catch {}
    this.#log.debug({ maxMessageSize: this.#maxMessageSize, lossy: this.lossy }, 'channel open')
    this.#waiters.wakeAll()
    this.emit('open')
  }

  #drained (): void {
    if (this.lossy) this.#drain()
    this.#waiters.wakeAll()
  }

  /** Lossy: move queued messages into the send buffer while it has room. */
  #drain (): void {
    while (this.#open && this.#queue.length > 0 && this.bufferedAmount < this.#highWaterMark) {
      const next = this.#queue.shift()
      if (next !== undefined) this.#transmit(next)
    }
  }

  async #waitUntil (ready: () => boolean): Promise<void> {
    while (!this.#closed && !ready()) await this.#waiters.next()
    if (this.#closed) throw new ChannelNotOpenError(`channel ${this.label} closed`)
  }

  #shutDown (local: boolean): void {
    if (this.#closed) return
    this.#closed = true
    this.#open = false
    this.#queue.clear()
    if (local) this.#closeNative()
    this.#log.debug({ by: local ? 'local' : 'remote' }, 'channel closed')
    this.#waiters.wakeAll()
    this.emit('close')
  }

  #closeNative (): void {
    try {
      this.#dc?.close()
    } catch (err) {
      this.#log.debug({ err }, 'closing data channel')
    }
  }

  /** An exception escaping a node-datachannel callback aborts the process: never let one out. */
  #guard (what: string, fn: () => void): void {
    try {
      fn()
    } catch (err) {
      this.#log.error({ err, callback: what }, 'data channel callback failed')
    }
  }
}
