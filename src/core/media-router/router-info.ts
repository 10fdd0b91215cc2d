import type { ConsumerKind, ConsumerStats } from './consumer.ts'
import type { FormatLadderInfo } from './format-ladder.ts'

/** What makes a producer's stream: a configured source, a WHIP publication, a peer's stream forwarded. */
export type ProducerKind = 'source' | 'published' | 'forward'

/** One consumer as MediaRouter.list() shows it. */
export interface ConsumerInfo {
  id: string
  kind: ConsumerKind
  /** Who it serves: a peer id, a browser session, an in-process client. */
  client: string
  since: string
  /** What its outgoing track reports; null before it has one. */
  stats: ConsumerStats | null
}

/** One producer and its consumers, as MediaRouter.list() shows them (read-only). */
export interface ProducerInfo {
  id: string
  /** Whose stream: this daemon's peer id for its own sources. */
  peer: string
  source: string
  kind: ProducerKind
  /** Packets written to its consumers. */
  packets: number
  /** Its one key-frame policy: requests passed to the encoder (or forwarded peer), and those merged into them. */
  keyFrames: { sent: number, merged: number }
  /**
   * An adaptive source: the encoder's target as the consumers' estimates set it (kbit/s), and the
   * format step their links allow (null for audio); null when the stream is not adaptive.
   */
  adaptation: { targetKbps: number, format: FormatLadderInfo | null } | null
  consumers: ConsumerInfo[]
}
