export const DEFAULT_TAIL_BYTES = 4096

/** Keeps the last `limit` bytes of a child's stderr for error messages. */
export class StderrTail {
  readonly limit: number
  #chunks: Buffer[] = []
  #size = 0

  constructor (limit = DEFAULT_TAIL_BYTES) {
    this.limit = limit
  }

  push (chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#size += chunk.length
    while (this.#size - this.#chunks[0].length >= this.limit) {
      this.#size -= this.#chunks.shift()!.length
    }
  }

  toString (): string {
    const all = Buffer.concat(this.#chunks)
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8').trimEnd()
  }
}
