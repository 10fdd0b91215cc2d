/** A FIFO that, when full, makes room by dropping its oldest item and counts the drops. */
export class DropOldestQueue<T> {
  readonly limit: number
  dropped = 0
  readonly #items: T[] = []

  constructor (limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`queue limit must be a positive integer, got ${limit}`)
    this.limit = limit
  }

  get length (): number {
    return this.#items.length
  }

  push (item: T): void {
    if (this.#items.length >= this.limit) {
      this.#items.shift()
      this.dropped++
    }
    this.#items.push(item)
  }

  shift (): T | undefined {
    return this.#items.shift()
  }

  clear (): void {
    this.#items.length = 0
  }
}
