import { readTransportSequence } from '../rtp/transport-cc-extension.ts'
import { TransportFeedbackGenerator } from '../rtp/transport-cc-generator.ts'

/**
 * The receive side of transport-cc on one track: the arrival time of every
 * packet that carries the transport-wide sequence number, and feedback
 * (RTCP RTPFB FMT 15) sent back every 50 ms while packets arrive. The timer
 * runs only while something is due, and stops with close().
 */
export interface TransportCcReporterInit {
  /** The negotiated extension ID (from the sender's a=extmap). */
  extensionId: number
  senderSsrc: number
  mediaSsrc: number
  /** Sends one feedback message; false when it could not go. */
  send: (packet: Buffer) => boolean
  now?: () => number
}

export class TransportCcReporter {
  readonly #init: TransportCcReporterInit
  readonly #generator: TransportFeedbackGenerator
  readonly #now: () => number
  #timer: NodeJS.Timeout | undefined
  #closed = false
  sent = 0

  constructor (init: TransportCcReporterInit) {
    this.#init = init
    this.#now = init.now ?? (() => performance.now())
    this.#generator = new TransportFeedbackGenerator({ senderSsrc: init.senderSsrc, mediaSsrc: init.mediaSsrc })
  }

  /** One RTP packet arrived now (`nowMs`: the caller's reading of this reporter's clock, if it has one). */
  received (packet: Uint8Array, nowMs = this.#now()): void {
    if (this.#closed) return
    const sequence = readTransportSequence(packet, this.#init.extensionId)
    if (sequence === undefined) return
    this.#generator.record(sequence, nowMs)
    if (this.#timer === undefined) this.#schedule()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule (): void {
    const due = this.#generator.dueMs
    if (this.#timer !== undefined || due === undefined || this.#closed) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      for (const message of this.#generator.poll(this.#now())) {
        if (this.#init.send(Buffer.from(message.buffer, message.byteOffset, message.byteLength))) this.sent++
      }
    }, Math.max(0, due - this.#now()))
  }
}
