import type { PeerInfo, PresenceRecord, SwarmEvents } from './types.ts'

export type PeerEventName = keyof SwarmEvents
export type PeerEventListener = (event: PeerEventName, peer: PeerInfo) => void

/** A peer's record as its author signed it, and when we heard it. */
export interface SignedRecord {
  peerId: string
  envelope: Uint8Array
  lastSeenMs: number
}

interface Entry {
  info: PeerInfo
  seq: number
  lastSeenMs: number
  /** The record as its author signed it, for presence sync to pass on (absent: taken without one). */
  envelope?: Uint8Array
  /** The peer's re-announce interval, as its last record said. */
  everyMs?: number
}

/**
 * The known peers of the swarm, built from verified presence records. It
 * decides when a peer is discovered, updated or lost and reports that through
 * `onEvent`; when a silent peer counts as gone (it also needs to be
 * unreachable) is the caller's call, through `remove`.
 */
export class PresenceTable {
  readonly #entries = new Map<string, Entry>()
  /** Last seq per peer, kept after a peer leaves so a replay cannot bring it back. */
  readonly #seqs = new Map<string, { seq: number, atMs: number }>()
  readonly #onEvent: PeerEventListener

  constructor (onEvent: PeerEventListener) {
    this.#onEvent = onEvent
  }

  lastSeq (peerId: string): number | undefined {
    return this.#seqs.get(peerId)?.seq
  }

  /**
   * Take a verified record, heard at `seenMs`; a stale one (seq not above
   * the last) is ignored and returns false. `envelope` is the signed form
   * it came in, kept for presence sync.
   */
  apply (record: PresenceRecord, connected: boolean, seenMs: number = Date.now(), envelope?: Uint8Array): boolean {
    const last = this.lastSeq(record.peerId)
    if (last !== undefined && record.seq <= last) return false
    this.#seqs.set(record.peerId, { seq: record.seq, atMs: seenMs })
    const entry = this.#entries.get(record.peerId)
    // A relayed record can be older news than the last one heard directly.
    const seen = Math.max(seenMs, entry?.lastSeenMs ?? 0)

    if (record.leaving === true) {
      this.remove(record.peerId)
      return true
    }
    const info: PeerInfo = {
      peerId: record.peerId,
      instance: record.instance,
      name: record.name,
      version: record.version,
      sources: record.sources.map(s => ({ name: s.name, kind: s.kind, codec: s.codec })),
      stack: record.stack,
      ...(record.full === true ? { full: true } : {}),
      addresses: [...record.addresses],
      lastSeen: new Date(seen).toISOString(),
      connected
    }
    this.#entries.set(record.peerId, {
      info,
      seq: record.seq,
      lastSeenMs: seen,
      ...(envelope !== undefined ? { envelope } : {}),
      ...(record.every !== undefined ? { everyMs: record.every } : {})
    })
    if (entry === undefined) {
      this.#onEvent('peer:discovered', structuredClone(info))
    } else if (contentKey(entry.info) !== contentKey(info)) {
      this.#onEvent('peer:updated', structuredClone(info))
    }
    return true
  }

  setConnected (peerId: string, connected: boolean): void {
    const entry = this.#entries.get(peerId)
    if (entry === undefined || entry.info.connected === connected) return
    entry.info = { ...entry.info, connected }
    this.#onEvent('peer:updated', structuredClone(entry.info))
  }

  /** Peers silent for longer than `expiryOf` their announce interval allows. */
  silent (nowMs: number, expiryOf: (everyMs: number | undefined) => number): string[] {
    return [...this.#entries].filter(([, e]) => e.lastSeenMs < nowMs - expiryOf(e.everyMs)).map(([id]) => id)
  }

  remove (peerId: string): void {
    const entry = this.#entries.get(peerId)
    if (entry === undefined) return
    this.#entries.delete(peerId)
    this.#onEvent('peer:lost', structuredClone(entry.info))
  }

  /** Forget the seq of peers that are gone and silent since before `cutoffMs`. */
  pruneSeqs (cutoffMs: number): void {
    for (const [id, s] of this.#seqs) {
      if (s.atMs < cutoffMs && !this.#entries.has(id)) this.#seqs.delete(id)
    }
  }

  /**
   * The last seq of the peers we took a record from, gone ones included (a
   * sync request's `have`): the `limit` most recently heard.
   */
  seqs (limit = Number.POSITIVE_INFINITY): Map<string, number> {
    const all = [...this.#seqs]
    if (all.length > limit) all.sort(([, a], [, b]) => b.atMs - a.atMs).splice(limit)
    return new Map(all.map(([id, s]) => [id, s.seq]))
  }

  /** The signed records of the known peers whose seq is above `have`'s, with when each was heard. */
  signedAfter (have: Map<string, number>): SignedRecord[] {
    const out: SignedRecord[] = []
    for (const [peerId, e] of this.#entries) {
      if (e.envelope === undefined || e.seq <= (have.get(peerId) ?? -1)) continue
      out.push({ peerId, envelope: e.envelope, lastSeenMs: e.lastSeenMs })
    }
    return out
  }

  has (peerId: string): boolean {
    return this.#entries.has(peerId)
  }

  /** One peer (a copy), or undefined. */
  get (peerId: string): PeerInfo | undefined {
    const entry = this.#entries.get(peerId)
    return entry === undefined ? undefined : structuredClone(entry.info)
  }

  get size (): number {
    return this.#entries.size
  }

  list (): PeerInfo[] {
    return [...this.#entries.values()].map(e => structuredClone(e.info))
  }

  /** Drop everything without events (the swarm is stopping). */
  clear (): void {
    this.#entries.clear()
    this.#seqs.clear()
  }
}

/** What counts as a change worth 'peer:updated' (not lastSeen). */
function contentKey (p: PeerInfo): string {
  return JSON.stringify([p.instance, p.name, p.version, p.sources, p.stack, p.full === true, p.addresses, p.connected])
}
