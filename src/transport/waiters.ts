/**
 * Callers parked until something they wait for may have changed (a channel
 * opened, its send buffer drained, it closed). wakeAll() releases every one at
 * once: each checks its own condition again and parks again if it must.
 */
export class Waiters {
  #parked = new Set<() => void>()

  /**
   * Resolves at the next wakeAll(), or after pollMs if given: a poll covers a
   * condition that can come true with no event to wake on. A poll that fires
   * leaves the set, so a long wait does not pile up dead entries.
   */
  next (pollMs?: number): Promise<void> {
    return new Promise<void>(resolve => {
      if (pollMs === undefined) {
        this.#parked.add(resolve)
        return
      }
      const wake = (): void => { clearTimeout(timer); resolve() }
      const timer = setTimeout(() => { this.#parked.delete(wake); resolve() }, pollMs)
      this.#parked.add(wake)
    })
  }

  /** How many callers are parked. */
  get size (): number {
    return this.#parked.size
  }

  wakeAll (): void {
    // Swap first: a woken caller that parks again lands in the new set.
    const parked = this.#parked
    this.#parked = new Set()
    for (const wake of parked) wake()
  }
}
