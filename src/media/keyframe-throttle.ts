/** Key-frame requests closer together than this are merged (encoders restart their GOP on each). */
export const KEYFRAME_MIN_INTERVAL_MS = 300

export type KeyFrameKind = 'pli' | 'fir'

/**
 * Passes key-frame requests on at most once per interval: the first at once,
 * the ones inside the window as a single request at its end. Many viewers'
 * PLIs after a loss burst cost the encoder one key frame, not one each.
 */
export class KeyFrameThrottle {
  readonly #send: (kind: KeyFrameKind) => void
  readonly #intervalMs: number
  #lastAt = Number.NEGATIVE_INFINITY
  #timer: NodeJS.Timeout | undefined
  #pending: KeyFrameKind | undefined
  #sent = 0
  #merged = 0

  constructor (send: (kind: KeyFrameKind) => void, intervalMs = KEYFRAME_MIN_INTERVAL_MS) {
    this.#send = send
    this.#intervalMs = intervalMs
  }

  /** Requests passed on. */
  get sent (): number { return this.#sent }
  /** Requests folded into another one. */
  get merged (): number { return this.#merged }

  request (kind: KeyFrameKind = 'pli'): void {
    const wait = this.#lastAt + this.#intervalMs - performance.now()
    if (wait <= 0 && this.#timer === undefined) {
      this.#fire(kind)
      return
    }
    this.#merged++
    // A FIR (a decoder that must restart) outranks a PLI.
    this.#pending = this.#pending === 'fir' ? 'fir' : kind
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      const pending = this.#pending ?? 'pli'
      this.#pending = undefined
      this.#fire(pending)
    }, Math.max(0, wait))
  }

  close (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#pending = undefined
  }

  #fire (kind: KeyFrameKind): void {
    this.#lastAt = performance.now()
    this.#sent++
    this.#send(kind)
  }
}
