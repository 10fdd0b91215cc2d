import { randomBytes } from 'node:crypto'
import type { KeyFrameKind } from '../../media/keyframe-throttle.ts'
import type { SendTrack, SendTrackEvents, SenderStatsSnapshot, TrackStats } from '../../transport/track-types.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import type { Producer, ProducerEndCode } from './producer.ts'

/** What is behind a consumer: a peer's SRTP track, a browser's, a trusted RTP track, a local sink, an in-process feed. */
export type ConsumerKind = 'peer' | 'browser' | 'trusted' | 'sink' | 'feed'

/** Why a consumer ended without its owner closing it: its producer's reason, or its own output threw. */
export type ConsumerEndCode = ProducerEndCode | 'consumer-failed'

/**
 * What a consumer's outgoing track reports: a network track's sender
 * statistics (sent, the receiver's loss, jitter and RTT, NACKs, resends,
 * PLI/FIR, the encoder's target), else the track's own counters.
 */
export type ConsumerStats = SenderStatsSnapshot | TrackStats

export interface ConsumerInit {
  kind: ConsumerKind
  /** Who it serves: a peer id, a browser session, an in-process client. */
  client: string
  /** Statistics of what it sends; default: the attached track's stats(). */
  stats?: () => ConsumerStats
  /**
   * The producer ended (its source failed or went away) or the output threw.
   * The consumer is already closed (its hold released). Without this the
   * attached track is closed; with it, the owner closes what it owns.
   */
  onEnd?: (code: ConsumerEndCode, reason: string) => void
}

export interface ConsumerEvents {
  /** Closed, by its owner or because it ended: the producer no longer counts it. */
  close: []
}

/** A consumer's output: a send track of any profile, or anything else RTP goes into. */
export type ConsumerOutput = Pick<SendTrack, 'sendRtp' | 'stats' | 'close' | 'isOpen' | 'isClosed' | 'congestionStats' | 'senderStats'> & Pick<TypedEmitter<SendTrackEvents>, 'on' | 'once' | 'off'>

/**
 * One place a producer's stream goes. It holds its producer from
 * MediaRouter.consume() until close(); packets flow into the output once
 * attach()ed. Its key-frame requests (a PLI/FIR from the far end, a new
 * track opening) go to the producer, whose policy merges them.
 */
export class Consumer extends TypedEmitter<ConsumerEvents> {
  readonly id = randomBytes(8).toString('base64url')
  readonly kind: ConsumerKind
  readonly client: string
  readonly producer: Producer
  readonly since = new Date()
  readonly #init: ConsumerInit
  #output: ConsumerOutput | undefined
  #closed = false

  constructor (producer: Producer, init: ConsumerInit) {
    super()
    this.producer = producer
    this.kind = init.kind
    this.client = init.client
    this.#init = init
  }

  get closed (): boolean { return this.#closed }
  get output (): ConsumerOutput | undefined { return this.#output }

  /**
   * Send the stream into `output` from now on: a new track asks for a key
   * frame when it opens, its PLI/FIR reach the producer, and its close closes
   * this consumer. A closed output closes the consumer at once.
   */
  attach (output: ConsumerOutput): void {
    if (this.#closed) {
      output.close()
      return
    }
    if (output.isClosed) {
      this.close()
      return
    }
    this.#output = output
    output.on('open', () => { this.requestKeyFrame('pli') })
    output.on('keyframe-request', kind => { this.requestKeyFrame(kind) })
    output.once('close', () => { this.close() })
    // A track with congestion control: the producer's encoder follows its estimate until it leaves.
    if (output.congestionStats?.() !== undefined) this.producer.followEstimates(output)
    if (output.isOpen) this.requestKeyFrame('pli')
  }

  /** One packet of the producer's stream (the producer catches a throw: it ends this consumer only). */
  send (packet: Buffer): void {
    this.#output?.sendRtp(packet)
  }

  requestKeyFrame (kind: KeyFrameKind = 'pli'): void {
    if (!this.#closed) this.producer.requestKeyFrame(kind)
  }

  stats (): ConsumerStats | null {
    const output = this.#output
    return this.#init.stats?.() ?? output?.senderStats?.(this.producer.controllable?.bitrateKbps ?? null) ?? output?.stats() ?? null
  }

  /** Leave the producer (the last consumer to leave stops it). Idempotent. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#output !== undefined) this.producer.unfollowEstimates(this.#output)
    this.producer.remove(this)
    this.emit('close')
  }

  /** Ended from the producer's side: closed, then the owner (or the default: close the output) hears why. */
  end (code: ConsumerEndCode, reason: string): void {
    if (this.#closed) return
    this.close()
    if (this.#init.onEnd !== undefined) this.#init.onEnd(code, reason)
    else this.#output?.close()
  }
}
