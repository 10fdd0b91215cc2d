import type { Stream } from '@libp2p/interface'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { decodeSignal, encodeSignal, MAX_SIGNAL_MESSAGE_BYTES, SignalRejectedError, type SignalErrorCode, type SignalMessage } from './signal-messages.ts'

export interface SignalStreamEvents {
  message: [SignalMessage]
  /** The stream ended; `error` says why when it was not a clean close. */
  close: [Error | undefined]
}

/** A closing stream's last bytes get this long to go out before it is reset. */
export const CLOSE_TIMEOUT_MS = 2_000

/** A stream carries at most this many messages (a session's offer, answer and candidates). */
export const MAX_MESSAGES_PER_STREAM = 1000

/**
 * One `/edge-stack/signal/1.0.0` stream: length-prefixed JSON messages, each
 * validated. A malformed, oversized or excess message gets an `error` reply
 * and the stream is closed; nothing propagates beyond this object.
 */
export class SignalStream extends TypedEmitter<SignalStreamEvents> {
  readonly remotePeer: string
  readonly #stream: Stream
  readonly #lp: LengthPrefixedStream<Stream>
  readonly #log: Logger
  #closed = false
  #received = 0

  constructor (stream: Stream, remotePeer: string, logger: Logger) {
    super()
    this.remotePeer = remotePeer
    this.#stream = stream
    this.#lp = lpStream(stream, { maxDataLength: MAX_SIGNAL_MESSAGE_BYTES })
    this.#log = logger.child({ peer: remotePeer })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'signal listener failed') }
  }

  get closed (): boolean { return this.#closed }

  /** Start reading; messages arrive as 'message' events. */
  start (): void {
    void this.#readLoop()
  }

  async #readLoop (): Promise<void> {
    try {
      while (!this.#closed) {
        const data = await this.#lp.read()
        if (++this.#received > MAX_MESSAGES_PER_STREAM) {
          throw new SignalRejectedError(`more than ${MAX_MESSAGES_PER_STREAM} messages on one stream`, 'too-large')
        }
        this.emit('message', decodeSignal(data.subarray()))
      }
    } catch (err) {
      if (this.#closed) return
      if (err instanceof SignalRejectedError) {
        this.#log.warn({ code: err.code }, `rejecting signalling: ${err.message}`)
        await this.reject(err.code, err.message)
        return
      }
      const name = (err as Error).name
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') {
        this.#log.warn('rejecting oversized signalling message')
        await this.reject('too-large', `message over ${MAX_SIGNAL_MESSAGE_BYTES} bytes`)
        return
      }
      this.close(name === 'UnexpectedEOFError' ? undefined : err as Error)
    }
  }

  async send (message: SignalMessage): Promise<void> {
    if (this.#closed) throw new SignalRejectedError('signal stream is closed', 'internal')
    await this.#lp.write(encodeSignal(message))
  }

  /** Answer with an error message and close. */
  async reject (code: SignalErrorCode, message: string, session?: string): Promise<void> {
    if (this.#closed) return
    try {
      await Promise.race([
        this.send({ type: 'error', code, message: message.slice(0, 1024), ...(session !== undefined ? { session } : {}) }),
        new Promise(resolve => setTimeout(resolve, 1000))
      ])
    } catch {}
    this.close(new SignalRejectedError(message, code))
  }

  /**
   * Close; idempotent. A clean close ends our side and lets the peer finish
   * its own. One with an error (a refusal, a timeout, a bad message) ends
   * both sides: what we sent is flushed, then reading stops too, and a peer
   * that does not take it within CLOSE_TIMEOUT_MS gets the stream reset, so
   * no half-open stream is left behind.
   */
  close (err?: Error): void {
    if (this.#closed) return
    this.#closed = true
    this.emit('close', err)
    this.removeAllListeners()
    const stream = this.#stream
    const signal = AbortSignal.timeout(CLOSE_TIMEOUT_MS)
    const done = stream.close({ signal }).then(async () => {
      if (err !== undefined) await stream.closeRead({ signal })
    })
    done.catch(() => { stream.abort(err ?? new Error('signal stream close failed')) })
  }
}
