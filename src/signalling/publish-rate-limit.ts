/** Defaults: a daemon announces every 100 ms at the fastest (swarm.announceIntervalMs), plus a few prompt ones. */
export const DEFAULT_PUBLISH_BURST = 30
export const DEFAULT_PUBLISH_PER_SECOND = 15
/** Buckets of peers not heard from for this long are forgotten (memory stays bounded by active authors). */
const IDLE_FORGET_MS = 60_000

interface Bucket { tokens: number, at: number }

/**
 * A token bucket per key (per author of gossip messages here; presence sync
 * keys its answers by the asking peer): `burst` at once, refilled at
 * `perSecond`. Messages over it are rejected by the topic validator, which
 * gossipsub scores against the sender (see presence-scoring.ts).
 */
export class PublishRateLimit {
  readonly #burst: number
  readonly #perMs: number
  readonly #buckets = new Map<string, Bucket>()
  readonly #now: () => number
  #lastSweep = 0

  constructor (init: { burst?: number, perSecond?: number, now?: () => number } = {}) {
    this.#burst = init.burst ?? DEFAULT_PUBLISH_BURST
    this.#perMs = (init.perSecond ?? DEFAULT_PUBLISH_PER_SECOND) / 1000
    this.#now = init.now ?? Date.now
  }

  /** Take one token for `author`; false when its bucket is empty. */
  take (author: string): boolean {
    const now = this.#now()
    this.#sweep(now)
    const bucket = this.#buckets.get(author) ?? { tokens: this.#burst, at: now }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.at) * this.#perMs)
    bucket.at = now
    this.#buckets.set(author, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  /** Return one token to `author` (what it spent went somewhere useful), up to the burst. */
  giveBack (author: string): void {
    const bucket = this.#buckets.get(author)
    if (bucket !== undefined) bucket.tokens = Math.min(this.#burst, bucket.tokens + 1)
  }

  get size (): number { return this.#buckets.size }

  #sweep (now: number): void {
    if (now - this.#lastSweep < IDLE_FORGET_MS) return
    this.#lastSweep = now
    for (const [author, bucket] of this.#buckets) {
      if (now - bucket.at >= IDLE_FORGET_MS) this.#buckets.delete(author)
    }
  }
}
