import { SequenceUnwrapper } from './transport-cc-sequence-unwrapper.ts'
import { buildTransportFeedback, DELTA_TICK_US, MAX_DELTA_TICKS, MAX_STATUS_COUNT, MIN_DELTA_TICKS, REFERENCE_TIME_UNIT_US, type ReceivedPacket } from './transport-cc-feedback.ts'

/**
 * The receive side of transport-wide congestion control: records when each
 * transport-wide sequence number arrived and, every `intervalMs`, turns what
 * arrived since the last report into transport-cc feedback messages
 * (libwebrtc's RemoteEstimatorProxy does the same job).
 *
 * State is bounded: arrival times live in a ring of `historySize` slots
 * indexed by the unwrapped sequence number, so a peer that jumps the number
 * or floods packets cannot grow it; each poll builds at most
 * `maxPacketsPerPoll` messages of at most `maxPacketBytes` each.
 *
 * A packet that arrives after the report that covered its number (reordered)
 * moves the report window back, so it is reported (and its neighbours
 * again); the sender ignores repeats.
 */
export interface TransportFeedbackGeneratorInit {
  senderSsrc: number
  mediaSsrc: number
  /** How often a report goes out while packets arrive (default 50 ms). */
  intervalMs?: number
  /** Sequence numbers remembered (default 8192): the most a report window spans. */
  historySize?: number
  /** Largest message built (default 1200 bytes). */
  maxPacketBytes?: number
  /** Most messages one poll returns (default 8); the rest wait for the next. */
  maxPacketsPerPoll?: number
}

export const DEFAULT_FEEDBACK_INTERVAL_MS = 50
export const DEFAULT_FEEDBACK_HISTORY = 8192
export const DEFAULT_FEEDBACK_PACKET_BYTES = 1200
export const DEFAULT_FEEDBACK_PACKETS_PER_POLL = 8

export class TransportFeedbackGenerator {
  readonly intervalMs: number
  private readonly senderSsrc: number
  private readonly mediaSsrc: number
  private readonly historySize: number
  private readonly maxPacketBytes: number
  private readonly maxPacketsPerPoll: number
  private readonly unwrapper = new SequenceUnwrapper()
  /** Arrival time (µs) and the unwrapped number that owns each slot. */
  private readonly arrivalUs: Float64Array
  private readonly owner: Float64Array
  /** First unwrapped number the next report covers, and the highest seen. */
  private windowStart: number | undefined
  private highest: number | undefined
  private nextDueMs: number | undefined
  private feedbackCount = 0

  constructor (init: TransportFeedbackGeneratorInit) {
    this.senderSsrc = init.senderSsrc
    this.mediaSsrc = init.mediaSsrc
    this.intervalMs = init.intervalMs ?? DEFAULT_FEEDBACK_INTERVAL_MS
    this.historySize = init.historySize ?? DEFAULT_FEEDBACK_HISTORY
    this.maxPacketBytes = init.maxPacketBytes ?? DEFAULT_FEEDBACK_PACKET_BYTES
    this.maxPacketsPerPoll = init.maxPacketsPerPoll ?? DEFAULT_FEEDBACK_PACKETS_PER_POLL
    this.arrivalUs = new Float64Array(this.historySize)
    this.owner = new Float64Array(this.historySize).fill(-1)
  }

  /** One packet with transport-wide sequence number `sequence` arrived at `arrivalMs` (any monotonic clock). */
  record (sequence: number, arrivalMs: number): void {
    const seq = this.unwrapper.unwrap(sequence)
    if (this.highest === undefined || this.windowStart === undefined) {
      this.highest = seq
      this.windowStart = seq
    } else if (seq > this.highest) {
      this.highest = seq
    } else if (seq <= this.highest - this.historySize) {
      return // older than anything we keep
    }
    if (seq < this.windowStart) this.windowStart = seq
    // The window never spans more than the ring holds.
    this.windowStart = Math.max(this.windowStart, this.highest - this.historySize + 1)
    const slot = seq % this.historySize
    if (this.owner[slot] === seq) return // duplicate: keep the first arrival
    this.owner[slot] = seq
    this.arrivalUs[slot] = Math.round(arrivalMs * 1000)
    this.nextDueMs ??= arrivalMs + this.intervalMs
  }

  /** When the next report is due (undefined until a packet arrives): for the owner's timer. */
  get dueMs (): number | undefined {
    return this.nextDueMs
  }

  /** The messages to send now: none before the interval is up or when nothing new arrived. */
  poll (nowMs: number): Uint8Array[] {
    if (this.nextDueMs === undefined || nowMs < this.nextDueMs) return []
    this.nextDueMs = nowMs + this.intervalMs
    const out: Uint8Array[] = []
    while (out.length < this.maxPacketsPerPoll && this.windowStart !== undefined && this.highest !== undefined && this.windowStart <= this.highest) {
      const packet = this.buildOne(this.windowStart, this.highest)
      if (packet === undefined) break
      out.push(packet.bytes)
      this.windowStart = packet.next
    }
    return out
  }

  /** Builds one message from `start`; returns it and the first number it did not cover. */
  private buildOne (start: number, end: number): { bytes: Uint8Array, next: number } | undefined {
    // Skip to the first received packet: its arrival sets the reference time.
    let first = start
    while (first <= end && !this.has(first)) first++
    if (first > end) return undefined
    const referenceTime = Math.floor(this.arrivalOf(first) / REFERENCE_TIME_UNIT_US)
    const referenceUs = referenceTime * REFERENCE_TIME_UNIT_US
    const received: ReceivedPacket[] = []
    let previousTicks = 0
    let deltaBytes = 0
    let last = start
    for (let seq = start; seq <= end && seq - start < MAX_STATUS_COUNT; seq++) {
      if (this.has(seq)) {
        const ticks = Math.round((this.arrivalOf(seq) - referenceUs) / DELTA_TICK_US)
        const delta = ticks - previousTicks
        if (delta < MIN_DELTA_TICKS || delta > MAX_DELTA_TICKS) break
        const size = delta >= 0 && delta <= 0xff ? 1 : 2
        // Worst case: one 2-byte chunk per 7 statuses.
        if (20 + Math.ceil((seq - start + 1) / 7) * 2 + deltaBytes + size > this.maxPacketBytes) break
        deltaBytes += size
        previousTicks = ticks
        received.push({ sequence: seq & 0xffff, arrivalUs: ticks * DELTA_TICK_US })
      }
      last = seq
    }
    // End the message at its last received packet: trailing losses go in the next one.
    const lastReceived = received.length === 0 ? last : this.unwrapNear(received[received.length - 1].sequence, last)
    const bytes = buildTransportFeedback({
      senderSsrc: this.senderSsrc,
      mediaSsrc: this.mediaSsrc,
      baseSequence: start & 0xffff,
      statusCount: lastReceived - start + 1,
      referenceTime,
      feedbackCount: this.feedbackCount,
      received
    })
    this.feedbackCount = (this.feedbackCount + 1) & 0xff
    return { bytes, next: lastReceived + 1 }
  }

  private has (seq: number): boolean {
    return this.owner[seq % this.historySize] === seq
  }

  private arrivalOf (seq: number): number {
    return this.arrivalUs[seq % this.historySize]
  }

  private unwrapNear (sequence16: number, near: number): number {
    return near - ((near - sequence16) & 0xffff)
  }
}
