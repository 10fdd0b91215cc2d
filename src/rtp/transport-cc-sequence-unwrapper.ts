/**
 * Turns a wrapping 16-bit sequence number into an ever-growing one, taking
 * each new value as the nearest to the last (so reordering within half the
 * space, 32768, unwraps right).
 */
export class SequenceUnwrapper {
  private last: number | undefined

  unwrap (sequence: number): number {
    const value = sequence & 0xffff
    if (this.last === undefined) {
      this.last = value
      return value
    }
    const diff = ((value - this.last) << 16) >> 16 // signed 16-bit difference
    const unwrapped = this.last + diff
    if (unwrapped > this.last) this.last = unwrapped
    return unwrapped
  }

  /** The largest value unwrapped so far. */
  get highest (): number | undefined {
    return this.last
  }
}
