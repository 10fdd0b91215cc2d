/** Work this long at most between two turns of the event loop. */
export const DEFAULT_SLICE_MS = 10

/**
 * Shares the event loop between a burst of CPU work and everything else
 * (the control socket, timers, the watchdog ping). Each piece of work awaits
 * `turn()` first: once the current slice has run `sliceMs`, the pieces wait
 * for one pass of the event loop (setImmediate, after pending I/O) and go on
 * in a new slice. A burst of 1,000 signature checks then delays a control
 * request by about one slice, instead of by the whole burst.
 */
export class EventLoopSlicer {
  readonly #sliceMs: number
  #sliceStart = performance.now()
  #yielding: Promise<void> | undefined

  constructor (sliceMs = DEFAULT_SLICE_MS) {
    this.#sliceMs = sliceMs
  }

  async turn (): Promise<void> {
    while (performance.now() - this.#sliceStart >= this.#sliceMs) {
      this.#yielding ??= new Promise<void>(resolve => {
        setImmediate(() => {
          this.#sliceStart = performance.now()
          this.#yielding = undefined
          resolve()
        })
      })
      await this.#yielding
    }
  }
}
