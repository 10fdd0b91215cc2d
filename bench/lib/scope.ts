/** Cleanups run in reverse order of registration; each runs even if an earlier one throws. */
export class Scope {
  #cleanups: Array<() => Promise<void> | void> = []

  defer (cleanup: () => Promise<void> | void): void {
    this.#cleanups.push(cleanup)
  }

  /** Run every cleanup once; returns the errors they threw. */
  async close (): Promise<unknown[]> {
    const errors: unknown[] = []
    while (this.#cleanups.length > 0) {
      const cleanup = this.#cleanups.pop() as () => Promise<void> | void
      try {
        await cleanup()
      } catch (err) {
        errors.push(err)
      }
    }
    return errors
  }
}
