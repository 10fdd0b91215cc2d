import type { Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { ChannelNotOpenError } from '../util/errors.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { isLossy } from './channel-protocol.ts'
import { ChannelCounters } from './channel-stats.ts'
import { checkMessageSize, type Payload } from './payload.ts'
import { encodeMessageDatagram, MAX_LOSSY_MESSAGE_BYTES } from './trusted-wire.ts'
import type { Channel, ChannelEvents, ChannelLimits, ChannelOptions, ChannelStats } from './types.ts'
import { Waiters } from './waiters.ts'
import { WriteChain } from './write-chain.ts'

/** Largest message on a trusted reliable channel (libdatachannel's default a=max-message-size). */
export const MAX_TRUSTED_MESSAGE_BYTES = 256 * 1024
/** The libp2p stream may hold this much unsent before it resets (we wait far below it). */
const STREAM_WRITE_BUFFER_BYTES = 16 * 1024 * 1024
const WAIT_POLL_MS = 20
const TEXT = 0
const BINARY = 1

/** Unsigned varint (the length prefix @libp2p/utils' lpStream reads). */
function varint (value: number): Uint8Array {
  const out: number[] = []
  while (value >= 0x80) { out.push((value & 0x7f) | 0x80); value = Math.floor(value / 128) }
  out.push(value)
  return Uint8Array.from(out)
}

/** One length-prefixed frame: a kind byte (text/binary) and the message. */
export function encodeFrame (data: Payload): Uint8Array {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  const prefix = varint(payload.byteLength + 1)
  const out = new Uint8Array(prefix.length + 1 + payload.byteLength)
  out.set(prefix, 0)
  out[prefix.length] = typeof data === 'string' ? TEXT : BINARY
  out.set(payload, prefix.length + 1)
  return out
}

export interface TrustedChannelInit {
  label: string
  options: ChannelOptions
  limits: ChannelLimits
  /** Lossy channels: hand a datagram to the session's UDP socket. */
  sendDatagram: (datagram: Buffer) => void
  logger: Logger
}

/**
 * A channel of the trusted profile. Each has a libp2p stream
 * (/edge-stack/trusted-channel/1.0.0, Noise-authenticated): a reliable channel's
 * messages travel on it as length-prefixed frames, with backpressure from the
 * stream (writes wait for its 'drain' event); a lossy channel's stream only
 * opens and closes it, and its messages go as plain UDP datagrams.
 */
export class TrustedChannel extends TypedEmitter<ChannelEvents> implements Channel {
  readonly label: string
  readonly options: ChannelOptions
  readonly lossy: boolean
  readonly maxMessageSize: number
  readonly #init: TrustedChannelInit
  readonly #highWaterMark: number
  readonly #log: Logger
  #stream: Stream | undefined
  #open = false
  #closed = false
  readonly #waiters = new Waiters()
  readonly #writes = new WriteChain()
  readonly #counters = new ChannelCounters()

  constructor (init: TrustedChannelInit) {
    super()
    this.#init = init
    this.label = init.label
    this.options = init.options
    this.lossy = isLossy(init.options)
    this.maxMessageSize = this.lossy ? MAX_LOSSY_MESSAGE_BYTES : MAX_TRUSTED_MESSAGE_BYTES
    this.#highWaterMark = init.limits.highWaterMark
    this.#log = init.logger.child({ channel: init.label })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'channel listener threw') }
  }

  get isOpen (): boolean { return this.#open }
  get isClosed (): boolean { return this.#closed }
  /** Glare is settled before a trusted channel opens (acceptStream): both ends take every open one. */
  readonly refused = false
  get bufferedAmount (): number { return this.#stream?.writeBufferLength ?? 0 }

  /** The stream is agreed on (both ends): read its frames, follow its close. */
  attach (stream: Stream, lp: LengthPrefixedStream<Stream>): void {
    if (this.#closed) { stream.abort(new Error('channel closed')); return }
    this.#stream = stream
    stream.maxWriteBufferLength = STREAM_WRITE_BUFFER_BYTES
    stream.addEventListener('close', () => { this.#shutDown(false) })
    stream.addEventListener('drain', () => { this.#waiters.wakeAll() })
    void this.#readLoop(lp)
    this.#open = true
    this.#log.debug({ lossy: this.lossy }, 'trusted channel open')
    this.#waiters.wakeAll()
    this.emit('open')
  }

  /** A lossy message from the session's UDP socket. */
  receiveDatagram (data: string | Buffer): void {
    if (!this.#open) return
    this.#count(data)
  }

  send (data: Payload): boolean {
    if (!this.#open) throw new ChannelNotOpenError(`channel ${this.label} is ${this.#closed ? 'closed' : 'not open yet'}`)
    this.#checkSize(data)
    this.#transmit(data)
    return this.lossy || (this.bufferedAmount < this.#highWaterMark && this.#stream?.writableNeedsDrain !== true)
  }

  write (data: Payload): Promise<void> {
    return this.#writes.run(async () => {
      await this.#waitUntil(() => this.#open)
      this.#checkSize(data)
      if (!this.lossy) await this.#waitUntil(() => this.#stream?.writableNeedsDrain !== true && this.bufferedAmount < this.#highWaterMark)
      this.#transmit(data)
    })
  }

  close (): void {
    const stream = this.#stream
    this.#shutDown(true)
    stream?.close().catch(() => { stream.abort(new Error('trusted channel close failed')) })
  }

  stats (): ChannelStats {
    return this.#counters.stats({ label: this.label, options: this.options, open: this.#open, bufferedAmount: this.bufferedAmount, dropped: 0, queued: 0 })
  }

  async #readLoop (lp: LengthPrefixedStream<Stream>): Promise<void> {
    try {
      while (!this.#closed) {
        const frame = (await lp.read()).subarray()
        if (this.lossy) throw new Error('a lossy channel\'s stream carries no messages')
        if (frame.length === 0 || (frame[0] !== TEXT && frame[0] !== BINARY)) throw new Error('malformed frame (kind byte must be 0 or 1)')
        const payload = Buffer.from(frame.buffer, frame.byteOffset + 1, frame.byteLength - 1)
        this.#count(frame[0] === TEXT ? payload.toString('utf8') : Buffer.from(payload))
      }
    } catch (err) {
      if (this.#closed) return
      const name = (err as Error).name
      if (name !== 'UnexpectedEOFError') this.#log.warn({ err: (err as Error).message }, 'closing a trusted channel after a bad frame from the peer')
      this.close()
    }
  }

  #count (data: string | Buffer): void {
    this.#counters.received(data)
    this.emit('message', data)
  }

  #checkSize (data: Payload): void {
    checkMessageSize(this.label, data, this.maxMessageSize)
  }

  #transmit (data: Payload): void {
    if (!this.#open || this.#stream === undefined) throw new ChannelNotOpenError(`channel ${this.label} is not open`)
    try {
      if (this.lossy) this.#init.sendDatagram(encodeMessageDatagram(this.label, data))
      else this.#stream.send(encodeFrame(data))
    } catch (err) {
      throw new ChannelNotOpenError(`channel ${this.label}: ${(err as Error).message}`, { cause: err })
    }
    this.#counters.sent(data)
  }

  async #waitUntil (ready: () => boolean): Promise<void> {
    // 'drain' wakes us; the poll covers a buffer over highWaterMark that never asked for one.
    while (!this.#closed && !ready()) await this.#waiters.next(WAIT_POLL_MS)
    if (this.#closed) throw new ChannelNotOpenError(`channel ${this.label} closed`)
  }

  #shutDown (local: boolean): void {
    if (this.#closed) return
    this.#closed = true
    this.#open = false
    this.#log.debug({ by: local ? 'local' : 'remote' }, 'trusted channel closed')
    this.#waiters.wakeAll()
    this.emit('close')
  }
}
