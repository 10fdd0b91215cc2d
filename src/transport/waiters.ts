/**
 * Callers parked until something they wait for may have changed (a channel
 * opened, its send buffer drained, it closed). wakeAll() releases every one at
 * once: each checks its own condition again and parks again if it must.
 */
export class Waiters {
  #parked: Array<() => void> = []

  /**
   * Resolves at the next wakeAll(), or after pollMs if given: a poll covers a
   * condition that can come true with no event to wake on.
   */
  next (pollMs?: number): Promise<void> {
    return new Promise<void>(resolve => {
      if (pollMs === undefined) {
        this.#parked.push(resolve)
        return
      }
      const timer = setTimeout(resolve, pollMs)
      this.#parked.push(() => { clearTimeout(timer); resolve() })
    })
  }

  wakeAll (): void {
    // Swap first: a woken caller that parks again lands in the new list.
    const parked = this.#parked
    this.#parked = []
    for (const wake of parked) wake()
  }
}
