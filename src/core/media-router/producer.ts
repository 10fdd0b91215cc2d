import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { KeyFrameThrottle, KEYFRAME_MIN_INTERVAL_MS, type KeyFrameKind } from '../../media/keyframe-throttle.ts'
import type { ControllableSource, RunningSource } from '../../media/running-source.ts'
import { NotFoundError, SourceFailedError, WatchEndedError } from '../../util/errors.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'
import { Consumer, type ConsumerInit } from './consumer.ts'
import type { ConsumerInfo, ProducerInfo, ProducerKind } from './router-info.ts'
import { SourceRateControl, type EstimatingTrack } from './source-rate-control.ts'

/** Why a producer's stream ended while consumers played it. */
export type ProducerEndCode = 'source-failed' | 'source-removed' | 'ended'

/** Where an origin puts its stream: the producer it feeds. */
export interface ProducerOutput {
  /** One RTP packet of the stream, for every consumer. */
  write: (packet: Buffer) => void
  /** The stream is over (its source failed or went away, the peer ended it): every consumer ends. */
  end: (code: ProducerEndCode, reason: string) => void
  /** The stream changed under the consumers (a restarted source): they need a key frame. */
  requestKeyFrame: (kind?: KeyFrameKind) => void
}

/**
 * What makes a producer's stream: a source of MediaSources (a GStreamer
 * pipeline or a WHIP publication), or a peer's stream this daemon watches
 * and forwards. It writes into the ProducerOutput it was made with.
 */
export interface ProducerOrigin {
  readonly kind: ProducerKind
  /** One more consumer: start the stream if it is not running. Rejects when it cannot; pair with release(). */
  hold: () => Promise<void>
  /** One consumer fewer: the last one stops the stream (an alwaysOn source keeps running). */
  release: () => Promise<void>
  /** Ask whoever makes the stream for a key frame (already merged by the producer's policy). */
  requestKeyFrame: (kind: KeyFrameKind) => void
  /** The running source (this daemon's own streams), for its parameters and control. */
  readonly source?: RunningSource
  /** The running source when the daemon can control its encoder while it plays. */
  readonly controllable?: ControllableSource
  /** The stream's statistics: its one stats owner (the source's, or the forwarding sink's). */
  stats: () => object | null
  /** The producer is gone: drop every listener (holds were released one by one). */
  close: () => void
}

export interface ProducerEvents {
  /** Its stream ended: the router makes a new producer for the next consumer. */
  ended: []
  /** No consumer and none joining: the router drops it. */
  idle: []
}

export interface ProducerInit {
  /** Whose stream: this daemon's peer id for its own sources. */
  peer: string
  source: string
  createOrigin: (output: ProducerOutput) => ProducerOrigin
  keyFrameIntervalMs?: number
  logger: Logger
}

/** The error each way of ending stands for (what a consumer that could not get the stream is told). */
export const END_ERRORS: Record<ProducerEndCode, new (message: string) => Error> = {
  'source-failed': SourceFailedError,
  'source-removed': NotFoundError,
  ended: WatchEndedError
}

/**
 * One stream this daemon can send, however many consumers play it: one
 * origin (one encoder, one forwarded watch), one key-frame policy (a
 * KeyFrameThrottle: N consumers' PLIs cost the encoder at most one key frame
 * per interval), one stats owner. Every packet goes to every consumer; one
 * that throws is ended, the others go on.
 */
export class Producer extends TypedEmitter<ProducerEvents> {
  readonly id = randomBytes(8).toString('base64url')
  readonly peer: string
  readonly source: string
  readonly #origin: ProducerOrigin
  readonly #throttle: KeyFrameThrottle
  readonly #log: Logger
  readonly #consumers = new Set<Consumer>()
  /** Consumers, and consume() calls waiting for the origin. */
  #holds = 0
  #packets = 0
  #ended: { code: ProducerEndCode, reason: string } | undefined
  #closed = false
  /** Consumers' tracks with congestion control: the encoder follows their estimates (adaptive sources). */
  readonly #estimating = new Set<EstimatingTrack>()
  #rate: SourceRateControl | undefined
  /** The encoder #rate drives (a restarted source is a new one). */
  #rateSource: ControllableSource | undefined

  constructor (init: ProducerInit) {
    super()
    this.peer = init.peer
    this.source = init.source
    this.#log = init.logger.child({ producer: this.id, peer: init.peer, source: init.source })
    this.#throttle = new KeyFrameThrottle(kind => { this.#origin.requestKeyFrame(kind) }, init.keyFrameIntervalMs ?? KEYFRAME_MIN_INTERVAL_MS)
    this.#origin = init.createOrigin({
      write: packet => { this.#write(packet) },
      end: (code, reason) => { this.#end(code, reason) },
      requestKeyFrame: kind => {
        // The stream changed under the consumers: a restarted source's encoder follows the estimates too.
        this.#followingSource()
        this.requestKeyFrame(kind)
      }
    })
  }

  get kind (): ProducerKind { return this.#origin.kind }
  get ended (): boolean { return this.#ended !== undefined || this.#closed }
  get consumers (): ReadonlySet<Consumer> { return this.#consumers }
  /** The running source of this daemon's own streams (parameters for a consumer's track). */
  get runningSource (): RunningSource | undefined { return this.#origin.source }
  /** Its encoder, when the daemon can control it while it plays (target bit rate, format). */
  get controllable (): ControllableSource | undefined { return this.#origin.controllable }
  /** The encoder's target bit rate as the consumers' estimates set it (kbit/s); undefined when not adaptive. */
  get targetKbps (): number | undefined { return this.#rate?.targetKbps }
  /** Key-frame requests passed to the origin, and those merged into them. */
  get keyFrames (): { sent: number, merged: number } { return { sent: this.#throttle.sent, merged: this.#throttle.merged } }

  /** A new consumer, once the origin runs (rejects as the origin's start does). */
  async consume (init: ConsumerInit): Promise<Consumer> {
    if (this.ended) throw this.#endError()
    this.#holds++
    try {
      await this.#origin.hold()
    } catch (err) {
      this.#drop()
      throw err
    }
    if (this.ended) {
      this.#drop()
      throw this.#endError()
    }
    const consumer = new Consumer(this, init)
    this.#consumers.add(consumer)
    return consumer
  }

  requestKeyFrame (kind: KeyFrameKind = 'pli'): void {
    if (!this.#closed) this.#throttle.request(kind)
  }

  /** A consumer's track estimates its link: the encoder follows the lowest estimate (an adaptive source). */
  followEstimates (track: EstimatingTrack): void {
    if (this.#closed || this.#estimating.has(track)) return
    this.#estimating.add(track)
    this.#followingSource()?.add(track)
  }

  unfollowEstimates (track: EstimatingTrack): void {
    if (this.#estimating.delete(track)) this.#rate?.remove(track)
  }

  /** The rate control of the source running now: made anew when the source is (a restart), none when it is not adaptive. */
  #followingSource (): SourceRateControl | undefined {
    const source = this.#origin.controllable
    if (source === this.#rateSource || this.#closed) return this.#rate
    this.#rate?.close()
    this.#rateSource = source
    const range = source?.adaptiveRange
    this.#rate = source === undefined || range === undefined ? undefined : new SourceRateControl({ source, range, logger: this.#log })
    for (const track of this.#estimating) this.#rate?.add(track)
    return this.#rate
  }

  /** A consumer left (Consumer.close()): its hold goes; the last one stops the origin. */
  remove (consumer: Consumer): void {
    if (this.#consumers.delete(consumer)) this.#drop()
  }

  stats (): object | null {
    return this.#origin.stats()
  }

  info (): ProducerInfo {
    const consumers: ConsumerInfo[] = [...this.#consumers].map(c => ({ id: c.id, kind: c.kind, client: c.client, since: c.since.toISOString(), stats: c.stats() }))
    return {
      id: this.id,
      peer: this.peer,
      source: this.source,
      kind: this.kind,
      packets: this.#packets,
      keyFrames: this.keyFrames,
      adaptation: this.#rate === undefined ? null : { targetKbps: this.#rate.targetKbps, format: this.#rate.format ?? null },
      consumers
    }
  }

  /** Drop everything at once (the router is stopping): consumers are not told, their holds go. */
  close (): void {
    if (this.#closed) return
    const holds = this.#consumers.size
    this.#consumers.clear()
    this.#holds -= holds
    for (let i = 0; i < holds; i++) void this.#origin.release().catch(() => {})
    this.#shut()
  }

  #write (packet: Buffer): void {
    this.#packets++
    for (const consumer of this.#consumers) {
      try {
        consumer.send(packet)
      } catch (err) {
        this.#log.warn({ consumer: consumer.id, kind: consumer.kind, client: consumer.client, err: (err as Error).message }, 'consumer failed: ending it')
        consumer.end('consumer-failed', `${(err as Error).name}: ${(err as Error).message}`)
      }
    }
  }

  #end (code: ProducerEndCode, reason: string): void {
    if (this.ended) return
    this.#ended = { code, reason }
    this.#log.info({ code, reason, consumers: this.#consumers.size }, 'stream ended')
    this.emit('ended')
    for (const consumer of [...this.#consumers]) consumer.end(code, reason)
  }

  #endError (): Error {
    if (this.#ended === undefined) return new WatchEndedError(`the stream of ${this.source} is closing`)
    return new END_ERRORS[this.#ended.code](this.#ended.reason)
  }

  /** One hold fewer; the last one stops the origin and the producer. */
  #drop (): void {
    this.#holds--
    void this.#origin.release().catch((err: unknown) => { this.#log.warn({ err: (err as Error).message }, 'releasing the stream failed') })
    if (this.#holds > 0 || this.#closed) return
    this.emit('idle')
    this.#shut()
  }

  #shut (): void {
    if (this.#closed) return
    this.#closed = true
    this.#throttle.close()
    this.#rate?.close()
    this.#estimating.clear()
    this.#origin.close()
  }
}
