/** Bytes seen over time (a consumer of RTP), for "the rate changed within N ms" checks. Keeps the last maxSamples. */
export class ByteRate {
  readonly #at: number[] = []
  readonly #bytes: number[] = []
  readonly #max: number

  constructor (maxSamples = 200_000) {
    this.#max = maxSamples
  }

  add (bytes: number, at = performance.now()): void {
    this.#at.push(at)
    this.#bytes.push(bytes)
    if (this.#at.length > this.#max) {
      this.#at.shift()
      this.#bytes.shift()
    }
  }

  /** kbit/s over [from, to). */
  kbps (from: number, to: number): number {
    let sum = 0
    for (let i = 0; i < this.#at.length; i++) if (this.#at[i] >= from && this.#at[i] < to) sum += this.#bytes[i]
    return sum * 8 / (to - from)
  }

  /** The longest stretch in [from, to) with no bytes arriving, in ms. */
  largestGap (from: number, to: number): number {
    let previous = from
    let gap = 0
    for (const at of this.#at) {
      if (at < from) continue
      if (at >= to) break
      gap = Math.max(gap, at - previous)
      previous = at
    }
    return Math.max(gap, to - previous)
  }

  /**
   * The first time t in (after, until] (in steps of stepMs) at which the rate
   * over [t - windowMs, t) passes `test`; undefined if none.
   */
  firstWindow (after: number, until: number, windowMs: number, test: (kbps: number) => boolean, stepMs = 10): number | undefined {
    for (let t = after + stepMs; t <= until; t += stepMs) if (test(this.kbps(t - windowMs, t))) return t
    return undefined
  }
}

/** Wait (polling) until the rate over the last windowMs passes `test`; the ms from `since` to then, or undefined after timeoutMs. */
export async function rateReached (meter: ByteRate, since: number, windowMs: number, test: (kbps: number) => boolean, timeoutMs: number): Promise<number | undefined> {
  const deadline = since + timeoutMs
  while (performance.now() < deadline + windowMs) {
    await new Promise(resolve => setTimeout(resolve, 50))
    const t = meter.firstWindow(since, Math.min(performance.now(), deadline), windowMs, test)
    if (t !== undefined) return t - since
  }
  return undefined
}
