/**
 * Paces a track's RTP to a rate (libwebrtc's pacer, in short): packets wait
 * in a bounded queue and leave in a budget that refills at `rateBps`, so a
 * key frame's 30 packets reach the bottleneck over tens of milliseconds
 * instead of in one burst that overflows its queue. Retransmissions go out
 * before media. node-datachannel's PacingHandler paces at a fixed rate set
 * at its construction; this one follows the estimate.
 *
 * A queue that holds more than `drainMs` of data at the pacing rate is
 * sent faster (at what empties it in `drainMs`): a late picture is worse
 * than a burst. Past `maxPackets` the oldest media packet is dropped.
 */
export interface SendPacerInit {
  /** Sends one packet now (`repair`: a retransmission; `nowMs`: the pacer's clock, read once for the packet). */
  send: (packet: Buffer, repair: boolean, nowMs: number) => void
  rateBps: number
  /** Timer tick while packets wait (default 5 ms). */
  intervalMs?: number
  /** Most packets waiting (default 1024). */
  maxPackets?: number
  /** The longest the queue may take to empty (default 500 ms). */
  drainMs?: number
  /** Budget the pacer may save up while idle, in ms at its rate (default 10 ms). */
  burstMs?: number
  now?: () => number
}

export const DEFAULT_PACER_INTERVAL_MS = 5
export const DEFAULT_PACER_MAX_PACKETS = 1024
export const DEFAULT_PACER_DRAIN_MS = 500
export const DEFAULT_PACER_BURST_MS = 10

export class SendPacer {
  #rateBps: number
  readonly #send: (packet: Buffer, repair: boolean, nowMs: number) => void
  readonly #intervalMs: number
  readonly #maxPackets: number
  readonly #drainMs: number
  readonly #burstMs: number
  readonly #now: () => number
  readonly #media: Buffer[] = []
  readonly #repairs: Buffer[] = []
  #queuedBytes = 0
  /** Bytes that may go now (negative: sent ahead of the rate). */
  #budget = 0
  #lastRefill: number
  #timer: NodeJS.Timeout | undefined
  #closed = false
  dropped = 0

  constructor (init: SendPacerInit) {
    this.#send = init.send
    this.#rateBps = init.rateBps
    this.#intervalMs = init.intervalMs ?? DEFAULT_PACER_INTERVAL_MS
    this.#maxPackets = init.maxPackets ?? DEFAULT_PACER_MAX_PACKETS
    this.#drainMs = init.drainMs ?? DEFAULT_PACER_DRAIN_MS
    this.#burstMs = init.burstMs ?? DEFAULT_PACER_BURST_MS
    this.#now = init.now ?? (() => performance.now())
    this.#lastRefill = this.#now()
  }

  get rateBps (): number {
    return this.#rateBps
  }

  setRate (bps: number): void {
    if (bps > 0 && Number.isFinite(bps)) this.#rateBps = bps
  }

  /** Packets waiting. */
  get length (): number {
    return this.#media.length + this.#repairs.length
  }

  /** How long what waits takes to leave at the pacing rate, ms. */
  get queueMs (): number {
    return this.#queuedBytes * 8 / this.#rateBps * 1000
  }

  enqueue (packet: Buffer, repair = false): void {
    if (this.#closed) return
    if (this.#media.length === 0 && this.#repairs.length === 0) {
      // Nothing waits (the rule while the rate is above what the source sends): the packet
      // leaves now if the budget allows, without a trip through the queue.
      const now = this.#now()
      this.#refill(now, packet.length)
      if (this.#budget > 0) {
        this.#budget -= packet.length
        this.#send(packet, repair, now)
        return
      }
    }
    if (this.length >= this.#maxPackets) {
      const old = this.#media.shift() ?? this.#repairs.shift()
      if (old !== undefined) this.#queuedBytes -= old.length
      this.dropped++
    }
    (repair ? this.#repairs : this.#media).push(packet)
    this.#queuedBytes += packet.length
    this.#drain()
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#media.length = 0
    this.#repairs.length = 0
    this.#queuedBytes = 0
  }

  /** Adds what the rate earned since the last refill; `queuedBytes` set the drain rate. */
  #refill (now: number, queuedBytes: number): void {
    const drainBps = queuedBytes * 8 / (this.#drainMs / 1000)
    const rate = Math.max(this.#rateBps, drainBps)
    this.#budget = Math.min(this.#budget + rate / 8 * (now - this.#lastRefill) / 1000, rate / 8 * this.#burstMs / 1000)
    this.#lastRefill = now
  }

  #drain (): void {
    const now = this.#now()
    this.#refill(now, this.#queuedBytes)
    while (this.#budget > 0) {
      const repair = this.#repairs.length > 0
      const packet = repair ? this.#repairs.shift() : this.#media.shift()
      if (packet === undefined) break
      this.#queuedBytes -= packet.length
      this.#budget -= packet.length
      this.#send(packet, repair, now)
    }
    if (this.length > 0 && this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        this.#drain()
      }, this.#intervalMs)
    }
  }
}
