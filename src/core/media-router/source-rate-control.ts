import type { Logger } from 'pino'
import type { BandwidthEstimate } from '../../rtp/bwe-estimate.ts'
import type { AdaptiveRange, ControllableSource } from '../../media/running-source.ts'
import type { SendTrackEvents } from '../../transport/track-types.ts'
import type { TypedEmitter } from '../../util/typed-emitter.ts'
import { FormatLadder, type FormatLadderInfo, type FormatLadderInit } from './format-ladder.ts'

/** What a viewer's track with congestion control offers: its estimates. */
export type EstimatingTrack = Pick<TypedEmitter<SendTrackEvents>, 'on' | 'off'>

/**
 * The encoder follows its viewers' links: each viewer's track with
 * congestion control reports an estimate; the source's target is the
 * lowest of them (one encoding serves every viewer, so for now the slowest
 * viewer sets it — a ladder or temporal layers is the later step of issue
 * 17), less a headroom for repairs and packet overhead, within the
 * source's [floor (minBitrate), max]. Changes are rate-limited with hysteresis: a step
 * smaller than HYSTERESIS is ignored, a decrease waits DECREASE_INTERVAL_MS
 * since the last change, an increase INCREASE_INTERVAL_MS. Below the
 * floor, a FormatLadder steps the picture or frame rate down and lowers
 * the floor with it (format-ladder.ts).
 */
export interface SourceRateControlInit {
  source: ControllableSource
  range: AdaptiveRange
  logger: Logger
  now?: () => number
  /** The format ladder's hold times (tests); the defaults of format-ladder.ts otherwise. */
  ladder?: Pick<FormatLadderInit, 'downHoldMs' | 'upHoldMs'>
}

/** Share of the estimate kept free: RTP header and extension overhead (~2 %) and some repairs; the loss rate comes on top. */
export const REPAIR_HEADROOM = 0.05
/** At most this much of the estimate is left for repairs, however lossy the link. */
const MAX_LOSS_HEADROOM = 0.25
export const HYSTERESIS = 0.05
export const DECREASE_INTERVAL_MS = 250
export const INCREASE_INTERVAL_MS = 1000

export class SourceRateControl {
  readonly #init: SourceRateControlInit
  readonly #log: Logger
  readonly #now: () => number
  readonly #estimates = new Map<EstimatingTrack, BandwidthEstimate | undefined>()
  readonly #listeners = new Map<EstimatingTrack, (estimate: BandwidthEstimate) => void>()
  /** Video: below the floor, the format steps down; the floor is its step's. */
  readonly #ladder: FormatLadder | undefined
  /** What the encoder was last told (kbit/s). */
  #currentKbps: number
  #lastChangeMs = Number.NEGATIVE_INFINITY
  #applying = false
  #timer: NodeJS.Timeout | undefined
  #closed = false
  changes = 0

  constructor (init: SourceRateControlInit) {
    this.#init = init
    this.#log = init.logger
    this.#now = init.now ?? (() => performance.now())
    this.#currentKbps = init.range.maxKbps
    const format = init.source.videoFormat
    if (format !== undefined) {
      this.#ladder = new FormatLadder({ source: init.source, minKbps: init.range.floorKbps, logger: init.logger, now: init.now, ...init.ladder }, format)
      // A new step is a new floor: the target moves to it.
      this.#ladder.on('step', () => { this.#update() })
    }
  }

  get targetKbps (): number {
    return this.#currentKbps
  }

  /** The format step the source runs at; undefined for a source with no format ladder. */
  get format (): FormatLadderInfo | undefined {
    return this.#ladder?.info()
  }

  /** A viewer's track: its estimates count from now on. */
  add (track: EstimatingTrack): void {
    if (this.#closed || this.#listeners.has(track)) return
    const listener = (estimate: BandwidthEstimate): void => {
      this.#estimates.set(track, estimate)
      this.#ladder?.observe(this.#lowestKbps())
      this.#update()
    }
    this.#listeners.set(track, listener)
    this.#estimates.set(track, undefined)
    track.on('estimate', listener)
  }

  remove (track: EstimatingTrack): void {
    const listener = this.#listeners.get(track)
    if (listener === undefined) return
    track.off('estimate', listener)
    this.#listeners.delete(track)
    this.#estimates.delete(track)
    this.#ladder?.observe(this.#lowestKbps())
    this.#update()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#ladder?.close()
    for (const [track, listener] of this.#listeners) track.off('estimate', listener)
    this.#listeners.clear()
    this.#estimates.clear()
  }

  /** The slowest viewer's estimate less headroom (kbit/s); undefined while no viewer has said anything. */
  #lowestKbps (): number | undefined {
    let lowest: number | undefined
    for (const estimate of this.#estimates.values()) {
      if (estimate === undefined) continue
      const headroom = REPAIR_HEADROOM + Math.min(estimate.lossFraction, MAX_LOSS_HEADROOM)
      lowest = Math.min(lowest ?? Number.POSITIVE_INFINITY, estimate.bitrateBps * (1 - headroom) / 1000)
    }
    return lowest
  }

  /** The least target now: minBitrate, or less at a lower format step. */
  #floorKbps (): number {
    return this.#ladder?.floorKbps ?? this.#init.range.floorKbps
  }

  /** The target the viewers' estimates ask for now (kbit/s). */
  #wantedKbps (): number {
    const { maxKbps } = this.#init.range
    const lowest = this.#lowestKbps()
    // No viewer has said anything yet: the configured rate, today's behaviour.
    if (lowest === undefined) return maxKbps
    return Math.round(Math.min(Math.max(lowest, this.#floorKbps()), maxKbps))
  }

  #update (): void {
    if (this.#closed || this.#applying) return
    const wanted = this.#wantedKbps()
    const current = this.#currentKbps
    const atLimit = wanted === this.#floorKbps() || wanted === this.#init.range.maxKbps
    if (wanted === current || (Math.abs(wanted - current) < HYSTERESIS * current && !atLimit)) return
    const waitMs = (wanted < current ? DECREASE_INTERVAL_MS : INCREASE_INTERVAL_MS) - (this.#now() - this.#lastChangeMs)
    if (waitMs > 0) {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined
        this.#update()
      }, waitMs)
      return
    }
    this.#apply(wanted)
  }

  #apply (kbps: number): void {
    this.#applying = true
    this.#lastChangeMs = this.#now()
    const from = this.#currentKbps
    this.#currentKbps = kbps
    this.changes++
    this.#init.source.setBitrate(kbps).then(() => {
      this.#log.debug({ from, to: kbps, viewers: this.#estimates.size }, 'encoder bit rate follows the estimate')
    }, (err: unknown) => {
      this.#log.warn({ err: (err as Error).message, kbps }, 'encoder did not take the bit rate')
    }).finally(() => {
      this.#applying = false
      // Estimates that came while the encoder was busy.
      this.#update()
    })
  }
}
