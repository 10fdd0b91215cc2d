/** Work this long at most between two turns of the event loop. */
export const DEFAULT_SLICE_MS = 10

/**
 * Shares the event loop between a burst of CPU work and everything else
 * (the control socket, timers, the watchdog ping). Each piece of work awaits
 * `turn()` first; turns are handed out one after the other, each after the
 * work of the one before has run (so a burst started all at once, as
 * gossipsub starts the validation of every message of an RPC, is measured
 * too). Once the current slice has run `sliceMs`, the next turn waits for one
 * pass of the event loop (setImmediate, after pending I/O) and starts a new
 * slice. A burst of 1,000 signature checks then delays a control request by
 * about one slice instead of by the whole burst.
 */
export class EventLoopSlicer {
  readonly #sliceMs: number
  #sliceStart = performance.now()
  /** The last turn handed out: the next one comes after it (and after its work). */
  #tail: Promise<void> = Promise.resolve()

  constructor (sliceMs = DEFAULT_SLICE_MS) {
    this.#sliceMs = sliceMs
  }

  /** Resolves when the caller may do its piece of work: in the order the turns were asked for. */
  async turn (): Promise<void> {
    const turn = this.#tail.then(async () => { await this.#next() })
    this.#tail = turn
    await turn
  }

  async #next (): Promise<void> {
    if (performance.now() - this.#sliceStart < this.#sliceMs) return
    await new Promise(resolve => setImmediate(resolve))
    this.#sliceStart = performance.now()
  }
}
