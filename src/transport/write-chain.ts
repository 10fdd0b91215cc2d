/**
 * Runs a channel's write() calls one at a time, in call order. A write that
 * fails rejects its own promise only: the next one still runs.
 */
export class WriteChain {
  #tail: Promise<void> = Promise.resolve()

  run (write: () => Promise<void>): Promise<void> {
    const result = this.#tail.then(write)
    this.#tail = result.catch(() => {})
    return result
  }
}
