/**
 * RFC 3550 appendix A.1: one source's sequence numbers, extended across the
 * 16-bit wrap, with the packets expected and received since it (re)started.
 * A new source is on probation until MIN_SEQUENTIAL packets in a row; a jump
 * of more than MAX_DROPOUT is taken as a restarted sender once the next
 * packet follows it. The one owner of receive-side loss: receiver reports
 * (ReceptionStats) and the daemon's stream counters (RtpStats) both count
 * with it.
 */
const RTP_SEQ_MOD = 1 << 16
const MAX_DROPOUT = 3000
const MAX_MISORDER = 100
const MIN_SEQUENTIAL = 2

export class SequenceTracker {
  #baseSeq = 0
  #maxSeq = 0
  #cycles = 0
  #badSeq = RTP_SEQ_MOD + 1
  #probation = 0
  #received = 0
  #started = false
  /** Times counting began anew: a new source, or a restarted sequence. */
  #restarts = 0

  /** Packets counted since the source (re)started. */
  get received (): number { return this.#received }
  get extendedHighest (): number { return this.#cycles + this.#maxSeq }
  get expected (): number { return this.#received === 0 ? 0 : this.extendedHighest - this.#baseSeq + 1 }
  /** Expected less received since the (re)start: negative with duplicates. */
  get lost (): number { return this.expected - this.#received }
  get restarts (): number { return this.#restarts }

  /** A new source (first packet, or a new SSRC): counting starts over after its probation. */
  newSource (seq: number): void {
    this.#started = true
    this.#init(seq)
    this.#maxSeq = (seq - 1 + RTP_SEQ_MOD) % RTP_SEQ_MOD
    this.#probation = MIN_SEQUENTIAL
  }

  /** update_seq: false for a packet not counted (on probation, a jump not yet confirmed). */
  update (seq: number): boolean {
    if (!this.#started) this.newSource(seq)
    const udelta = (seq - this.#maxSeq + RTP_SEQ_MOD) % RTP_SEQ_MOD
    if (this.#probation > 0) {
      if (seq === (this.#maxSeq + 1) % RTP_SEQ_MOD) {
        this.#probation--
        this.#maxSeq = seq
        if (this.#probation === 0) {
          this.#init(seq)
          this.#received++
          return true
        }
      } else {
        this.#probation = MIN_SEQUENTIAL - 1
        this.#maxSeq = seq
      }
      return false
    }
    if (udelta < MAX_DROPOUT) {
      // In order, with a permissible gap.
      if (seq < this.#maxSeq) this.#cycles += RTP_SEQ_MOD
      this.#maxSeq = seq
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // A very large jump: two sequential packets mean the sender restarted its sequence.
      if (seq === this.#badSeq) {
        this.#init(seq)
      } else {
        this.#badSeq = (seq + 1) % RTP_SEQ_MOD
        return false
      }
    }
    // (else a duplicate or reordered packet)
    this.#received++
    return true
  }

  #init (seq: number): void {
    this.#baseSeq = seq
    this.#maxSeq = seq
    this.#badSeq = RTP_SEQ_MOD + 1
    this.#cycles = 0
    this.#received = 0
    this.#restarts++
  }
}
