import type { Logger } from 'pino'
import { MIN_BITRATE_KBPS } from '../../media/gst-source.ts'
import type { ControllableSource, VideoFormat } from '../../media/running-source.ts'
import { VideoFormatUnsupportedError } from '../../util/errors.ts'
import { TypedEmitter } from '../../util/typed-emitter.ts'

/**
 * Below the bit-rate floor, the picture gets smaller or slower instead of
 * the link being overrun (issue 17). When the viewers' links carry less than
 * a source's minBitrate, the encoder at minBitrate sends more than gets
 * through; this ladder steps the source's format down, one step per hold,
 * and each step's floor scales with its pixels × frame rate, so the encoder
 * can follow the estimate further down.
 *
 * The ladder alternates, starting with the picture (as libwebrtc's
 * "balanced" degradation does; webrtcsink too downscales first and halves
 * the frame rate only at its lowest rates):
 *
 *   640×480@30 → 480×360@30 → 480×360@15 → 320×240@15 → 320×240@8 → 240×180@8 → 240×180@5 → 160×120@5
 *
 * - The first step keeps the frame rate: a robot's operator steers by the
 *   motion (and each halving adds a frame interval of delay).
 * - A smaller picture works on every source (videoscale is in every source
 *   pipeline); a lower frame rate only where the source makes it (a camera
 *   has a few fixed rates), so the step that works everywhere comes first.
 * - At the low end, halving the frame rate halves the packets too: at 30 fps
 *   and 40 kbit/s a frame is ~170 bytes and packet headers cost a third.
 *
 * Picture sides go 1, 3/4, 1/2, 3/8, 1/4 … of the base (each pair of steps
 * halves them), rounded to even; never under MIN_PIXELS (160×120). Frame
 * rates halve down to MIN_FPS (5). A step is a move when the lowest viewer
 * rate (after headroom) stays below its floor for DOWN_HOLD_MS, and back up
 * when it stays above the upper step's floor × UP_MARGIN for UP_HOLD_MS
 * (down fast, up slow; the margin keeps a rate near a floor from flapping).
 * A step back down soon after a step up doubles the up hold (up to
 * MAX_UP_HOLD_MS), as a link that cannot keep the upper step.
 *
 * What a source allows: a lower frame rate it refuses
 * (VideoFormatUnsupportedError) ends the frame-rate steps (the picture steps
 * go on); a smaller picture it refuses ends the ladder where it is. Each is
 * logged once. When the ladder closes (its producer is gone) the base
 * format comes back: an alwaysOn source keeps running.
 */
export interface FormatLadderInit {
  source: Pick<ControllableSource, 'name' | 'videoFormat' | 'setVideoFormat' | 'elementStats'>
  /** The source's minBitrate (kbit/s): the floor of the base format. */
  minKbps: number
  logger: Logger
  now?: () => number
  downHoldMs?: number
  upHoldMs?: number
}

export const DOWN_HOLD_MS = 1000
export const UP_HOLD_MS = 4000
export const MAX_UP_HOLD_MS = 32_000
/** The upper step's floor must be carried with this much to spare before the ladder climbs to it. */
export const UP_MARGIN = 1.25
/** The least picture (area) and frame rate the ladder goes to. */
export const MIN_PIXELS = 160 * 120
export const MIN_FPS = 5

/** One rung: a format and the least bit rate it is sent at (kbit/s). */
export interface FormatStep {
  width: number
  height: number
  fps: number
  /** Pixels × fps relative to the base format. */
  scale: number
  floorKbps: number
}

/** The ladder as GET /v1/sources shows it (a producer's `adaptation`). */
export interface FormatLadderInfo {
  /** 0 is the base format; `steps - 1` the lowest. */
  step: number
  steps: number
  width: number | null
  height: number | null
  fps: number
  floorKbps: number
  /** The lowest step is where the source refused to go further down (a refused frame rate ends only those steps). */
  refused: 'fps' | 'size' | null
}

export interface FormatLadderEvents {
  /** The source now runs at another step: its floor changed. */
  step: [info: FormatLadderInfo]
}

/** Picture side factors of the base: 1, 3/4, 1/2, 3/8, 1/4, … */
function sideFactor (k: number): number {
  const half = 2 ** -Math.floor(k / 2)
  return k % 2 === 0 ? half : half * 0.75
}

const even = (n: number): number => Math.max(2, Math.round(n / 2) * 2)

/**
 * The ladder of a base format (width and height known): alternately a
 * smaller picture and a lower frame rate, within MIN_PIXELS and `minFps`,
 * each step's floor minKbps × its scale (never under MIN_BITRATE_KBPS, the
 * least an encoder takes: the ladder ends before that).
 */
export function formatSteps (base: { width: number, height: number, fps: number }, minKbps: number, minFps = MIN_FPS): FormatStep[] {
  const steps: FormatStep[] = [{ ...base, scale: 1, floorKbps: minKbps }]
  const basePixelRate = base.width * base.height * base.fps
  let side = 0
  let fps = base.fps
  let sizeNext = true
  for (;;) {
    const last = steps[steps.length - 1]
    const smaller = { width: even(base.width * sideFactor(side + 1)), height: even(base.height * sideFactor(side + 1)) }
    const canShrink = smaller.width * smaller.height >= MIN_PIXELS && smaller.width * smaller.height < last.width * last.height
    const slower = Math.max(MIN_FPS, minFps, Math.round(fps / 2))
    const canSlow = slower < fps
    let next: { width: number, height: number, fps: number }
    if (canShrink && (sizeNext || !canSlow)) {
      side++
      next = { ...smaller, fps }
    } else if (canSlow) {
      fps = slower
      next = { width: last.width, height: last.height, fps }
    } else {
      return steps
    }
    sizeNext = next.fps !== last.fps
    const scale = next.width * next.height * next.fps / basePixelRate
    const floorKbps = Math.round(minKbps * scale)
    if (floorKbps < MIN_BITRATE_KBPS) return steps
    steps.push({ ...next, scale, floorKbps })
  }
}

const formatText = (f: { width?: number, height?: number, fps: number }): string => `${f.width ?? '?'}×${f.height ?? '?'}@${f.fps}`

export class FormatLadder extends TypedEmitter<FormatLadderEvents> {
  readonly #init: FormatLadderInit
  readonly #log: Logger
  readonly #now: () => number
  readonly #downHoldMs: number
  readonly #baseUpHoldMs: number
  #upHoldMs: number
  /** The format the source ran at when the ladder began: step 0, and what close() restores. */
  readonly #start: VideoFormat
  /** Known once the base's width and height are (read from the running pipeline when not configured). */
  #steps: FormatStep[] | undefined
  #index = 0
  #refused: 'fps' | 'size' | null = null
  /** Since when the viewers' rate has been below this step's floor / above the upper step's threshold. */
  #belowSince: number | undefined
  #aboveSince: number | undefined
  /** The last rate observed: it stands until the next one (undefined: no viewer estimates). */
  #wanted: number | undefined
  #lastUpMs = Number.NEGATIVE_INFINITY
  #moving: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #transientWarned = false
  #closed = false
  /** Steps taken, down and up. */
  moves = 0

  constructor (init: FormatLadderInit, start: VideoFormat) {
    super()
    this.#init = init
    this.#log = init.logger
    this.#now = init.now ?? (() => performance.now())
    this.#downHoldMs = init.downHoldMs ?? DOWN_HOLD_MS
    this.#baseUpHoldMs = init.upHoldMs ?? UP_HOLD_MS
    this.#upHoldMs = this.#baseUpHoldMs
    this.#start = start
    if (start.width !== undefined && start.height !== undefined) this.#steps = formatSteps({ width: start.width, height: start.height, fps: start.fps }, init.minKbps)
  }

  /** The least bit rate (kbit/s) the current step is sent at. */
  get floorKbps (): number {
    return this.#steps?.[this.#index].floorKbps ?? this.#init.minKbps
  }

  get step (): number { return this.#index }

  info (): FormatLadderInfo {
    const step = this.#steps?.[this.#index]
    return {
      step: this.#index,
      steps: this.#steps?.length ?? 1,
      width: step?.width ?? this.#start.width ?? null,
      height: step?.height ?? this.#start.height ?? null,
      fps: step?.fps ?? this.#start.fps,
      floorKbps: this.floorKbps,
      refused: this.#refused
    }
  }

  /** The lowest viewer's rate after headroom (kbit/s); undefined when no viewer estimates (nothing holds the format down). */
  observe (wantedKbps: number | undefined): void {
    if (this.#closed) return
    this.#wanted = wantedKbps
    this.#classify()
    this.#evaluate()
  }

  /** Whether the last rate observed is under this step's floor, or carries the upper step's; since when. */
  #classify (): void {
    const now = this.#now()
    const wanted = this.#wanted
    const upper = this.#index > 0 ? this.#steps?.[this.#index - 1] : undefined
    const below = wanted !== undefined && wanted < this.floorKbps
    const above = upper !== undefined && (wanted === undefined || wanted >= upper.floorKbps * UP_MARGIN)
    this.#belowSince = below ? this.#belowSince ?? now : undefined
    this.#aboveSince = above ? this.#aboveSince ?? now : undefined
  }

  /** Stop stepping; the source goes back to the format it started at (an alwaysOn source keeps running). */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    void (this.#moving ?? Promise.resolve()).then(async () => {
      if (this.#index === 0) return
      const { width, height, fps } = this.#steps?.[0] ?? this.#start
      await this.#init.source.setVideoFormat({ width, height, fps })
      this.#index = 0
    }).catch((err: unknown) => {
      this.#log.debug({ err: (err as Error).message }, 'format not restored (the source is stopping)')
    })
  }

  #evaluate (): void {
    if (this.#closed || this.#moving !== undefined) return
    const now = this.#now()
    const canGoDown = this.#steps === undefined ? this.#refused === null : this.#index < this.#steps.length - 1
    let dueAt: number | undefined
    let to = this.#index
    if (this.#belowSince !== undefined && canGoDown) {
      dueAt = this.#belowSince + this.#downHoldMs
      to = this.#index + 1
    } else if (this.#aboveSince !== undefined && this.#index > 0) {
      dueAt = this.#aboveSince + this.#upHoldMs
      to = this.#index - 1
    }
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (dueAt === undefined) return
    if (dueAt > now) {
      // The next estimate may be a while (receiver reports come about once a second): the hold ends on time.
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#evaluate()
      }, dueAt - now)
      return
    }
    this.#moving = this.#move(to).finally(() => {
      this.#moving = undefined
      // The last rate stands: its hold at the new step (or for another try) starts now.
      this.#belowSince = undefined
      this.#aboveSince = undefined
      if (this.#closed) return
      this.#classify()
      this.#evaluate()
    })
  }

  async #move (to: number): Promise<void> {
    const from = this.#index
    const steps = this.#steps ?? await this.#readSteps()
    if (steps === undefined || this.#closed) return
    const step = steps[to]
    if (step === undefined) return
    try {
      await this.#init.source.setVideoFormat({ width: step.width, height: step.height, fps: step.fps })
    } catch (err) {
      this.#failed(err as Error, from, to)
      return
    }
    const now = this.#now()
    if (to > from && now - this.#lastUpMs < 2 * this.#upHoldMs) this.#upHoldMs = Math.min(this.#upHoldMs * 2, MAX_UP_HOLD_MS)
    if (to < from) this.#lastUpMs = now
    if (to === 0) this.#upHoldMs = this.#baseUpHoldMs
    this.#index = to
    this.moves++
    this.#transientWarned = false
    this.#log.info({ source: this.#init.source.name, from: formatText(steps[from]), to: formatText(step), floorKbps: step.floorKbps, step: to, upHoldMs: this.#upHoldMs }, to > from ? 'link under the bit-rate floor: format stepped down' : 'link carries more: format stepped back up')
    if (!this.#closed) this.emit('step', this.info())
  }

  #failed (err: Error, from: number, to: number): void {
    const steps = this.#steps as FormatStep[]
    const current = steps[from]
    const step = steps[to]
    if (!(err instanceof VideoFormatUnsupportedError) || to < from) {
      // Not a refusal of a lower step (the pipeline restarting, a slow answer): the next hold tries again.
      if (!this.#transientWarned) this.#log.warn({ source: this.#init.source.name, to: formatText(step), err: err.message }, 'format step not taken')
      this.#transientWarned = true
      return
    }
    if (step.fps < current.fps) {
      // The source makes no lower frame rate than this one: the picture steps go on.
      this.#steps = formatSteps({ width: steps[0].width, height: steps[0].height, fps: steps[0].fps }, this.#init.minKbps, current.fps)
      this.#refused = 'fps'
      this.#log.info({ source: this.#init.source.name, fps: step.fps, err: err.message }, 'the source makes no lower frame rate: only its picture steps down from here')
    } else {
      this.#steps = steps.slice(0, from + 1)
      this.#refused = 'size'
      this.#log.info({ source: this.#init.source.name, to: formatText(step), err: err.message }, 'the source takes no smaller picture: the format ladder stops here')
    }
  }

  /** A source with no configured size: its base is the size the pipeline runs at (read once). */
  async #readSteps (): Promise<FormatStep[] | undefined> {
    let format: { width: number, height: number } | null = null
    try {
      format = (await this.#init.source.elementStats()).format
    } catch (err) {
      this.#log.debug({ err: (err as Error).message }, 'the source\'s size is not known yet')
      return undefined
    }
    if (format === null) {
      this.#refused = 'size'
      this.#log.info({ source: this.#init.source.name }, 'the source\'s size is unknown: no format ladder')
      return undefined
    }
    this.#steps = formatSteps({ width: format.width, height: format.height, fps: this.#start.fps }, this.#init.minKbps)
    return this.#steps
  }
}
