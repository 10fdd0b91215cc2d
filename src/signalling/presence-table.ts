import type { PeerInfo, PresenceRecord, SwarmEvents } from './types.ts'

export type PeerEventName = keyof SwarmEvents
export type PeerEventListener = (event: PeerEventName, peer: PeerInfo) => void

/** A peer's record as its author signed it, and when we heard it. */
export interface SignedRecord {
  peerId: string
  envelope: Uint8Array
  lastSeenMs: number
}

/** Peers the table holds unless told otherwise (swarm.maxPeers). */
export const DEFAULT_MAX_PEERS = 1024
/** Characters of the peer id shown after a name that another peer holds already. */
const NAME_ID_CHARS = 8

export interface PresenceTableInit {
  /** Peers held at most; see apply() for who gives way to whom. */
  maxPeers?: number
  /** A record's `every` above this is taken as this (its expiry stretches with it: see presence-interval.ts). */
  maxEveryMs?: number
}

interface Entry {
  info: PeerInfo
  /** The name as its record says; `info.name` may carry the peer id too (see #displayName). */
  claimedName: string
  /** Since when this peer has held its claimed name here: the first holder of a name keeps it plain. */
  nameSinceMs: number
  /** We have had a libp2p connection to the author itself: it is not only somebody's say-so. */
  direct: boolean
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
  readonly #maxPeers: number
  readonly #maxEveryMs: number

  constructor (onEvent: PeerEventListener, init: PresenceTableInit = {}) {
    this.#onEvent = onEvent
    this.#maxPeers = init.maxPeers ?? DEFAULT_MAX_PEERS
    this.#maxEveryMs = init.maxEveryMs ?? Number.POSITIVE_INFINITY
  }

  get maxPeers (): number { return this.#maxPeers }

  lastSeq (peerId: string): number | undefined {
    return this.#seqs.get(peerId)?.seq
  }

  /**
   * Take a verified record, heard at `seenMs`; a stale one (seq not above
   * the last) is ignored and returns false. `envelope` is the signed form
   * it came in, kept for presence sync. `connected`: we hold a connection
   * to its author now.
   *
   * The table holds at most `maxPeers`. When full, a new peer takes the place
   * of the one heard from longest ago that has no live connection; one that
   * we have never been connected to (a record relayed by others, which
   * anybody can make up with fresh keys) may only take the place of another
   * such peer. Peers with live connections are never displaced. A new peer
   * that finds no place is not taken (false).
   */
  apply (record: PresenceRecord, connected: boolean, seenMs: number = Date.now(), envelope?: Uint8Array): boolean {
    const last = this.lastSeq(record.peerId)
    if (last !== undefined && record.seq <= last) return false
    const entry = this.#entries.get(record.peerId)
    if (entry === undefined && record.leaving !== true && this.#entries.size >= this.#maxPeers && !this.#makeRoom(connected)) return false
    this.#seqs.set(record.peerId, { seq: record.seq, atMs: seenMs })
    // A relayed record can be older news than the last one heard directly.
    const seen = Math.max(seenMs, entry?.lastSeenMs ?? 0)

    if (record.leaving === true) {
      this.remove(record.peerId)
      return true
    }
    const nameSinceMs = entry !== undefined && entry.claimedName === record.name ? entry.nameSinceMs : seenMs
    const direct = connected || entry?.direct === true
    const info: PeerInfo = {
      peerId: record.peerId,
      instance: record.instance,
      name: this.#displayName(record.peerId, record.name, nameSinceMs, direct),
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
      claimedName: record.name,
      nameSinceMs,
      direct,
      seq: record.seq,
      lastSeenMs: seen,
      ...(envelope !== undefined ? { envelope } : {}),
      ...(record.every !== undefined ? { everyMs: Math.min(record.every, this.#maxEveryMs) } : {})
    })
    if (entry === undefined) {
      this.#onEvent('peer:discovered', structuredClone(info))
    } else if (contentKey(entry.info) !== contentKey(info)) {
      this.#onEvent('peer:updated', structuredClone(info))
    }
    if (info.name === record.name) this.#renameHolders(record.name, record.peerId)
    return true
  }

  setConnected (peerId: string, connected: boolean): void {
    const entry = this.#entries.get(peerId)
    if (entry === undefined) return
    const becameDirect = connected && !entry.direct
    if (connected) entry.direct = true
    const name = becameDirect ? this.#displayName(peerId, entry.claimedName, entry.nameSinceMs, true) : entry.info.name
    if (entry.info.connected === connected && entry.info.name === name) return
    entry.info = { ...entry.info, connected, name }
    this.#onEvent('peer:updated', structuredClone(entry.info))
    if (becameDirect && name === entry.claimedName) this.#renameHolders(name, peerId)
  }


  /**
   * Peers silent for longer than `expiryOf` their announce interval allows;
   * `direct` says whether we ever had a connection to the peer (see apply).
   */
  silent (nowMs: number, expiryOf: (everyMs: number | undefined, direct: boolean) => number): string[] {
    return [...this.#entries].filter(([, e]) => e.lastSeenMs < nowMs - expiryOf(e.everyMs, e.direct)).map(([id]) => id)
  }

  /** Whether we have had a connection to this peer itself (see apply). */
  direct (peerId: string): boolean {
    return this.#entries.get(peerId)?.direct === true
  }

  /**
   * Drop the peer heard from longest ago that a newcomer may displace;
   * false when there is none (see apply).
   */
  #makeRoom (newcomerConnected: boolean): boolean {
    let victim: [string, Entry] | undefined
    for (const candidate of this.#entries) {
      const e = candidate[1]
      if (e.info.connected) continue
      if (!newcomerConnected && e.direct) continue
      // A newcomer we are connected to displaces relayed-only peers before peers we once had a connection to.
      const better = victim === undefined ||
        (victim[1].direct && !e.direct) ||
        (victim[1].direct === e.direct && e.lastSeenMs < victim[1].lastSeenMs)
      if (better) victim = candidate
    }
    if (victim === undefined) return false
    this.remove(victim[0])
    return true
  }

  /**
   * A peer's name as we show it: plain for one holder of a name, with the
   * peer id after it for any other, so that a record copying the name of a
   * peer we know cannot pass for that peer. The plain one is a peer we have
   * been connected to before one only relayed to us, then the first to hold
   * the name here.
   */
  #displayName (peerId: string, name: string, sinceMs: number, direct: boolean): string {
    for (const [id, e] of this.#entries) {
      if (id === peerId || e.claimedName !== name) continue
      if (outranks(e.direct, e.nameSinceMs, id, direct, sinceMs, peerId)) return `${name} (${peerId.slice(-NAME_ID_CHARS)})`
    }
    return name
  }

  /** Show the other holders of `name` as the holder `except` now ranks among them. */
  #renameHolders (name: string, except: string): void {
    for (const [id, e] of this.#entries) {
      if (id === except || e.claimedName !== name) continue
      const shown = this.#displayName(id, name, e.nameSinceMs, e.direct)
      if (shown === e.info.name) continue
      e.info = { ...e.info, name: shown }
      this.#onEvent('peer:updated', structuredClone(e.info))
    }
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

/** Whether holder A of a name shows it plain rather than holder B (see #displayName). */
function outranks (aDirect: boolean, aSinceMs: number, aId: string, bDirect: boolean, bSinceMs: number, bId: string): boolean {
  if (aDirect !== bDirect) return aDirect
  if (aSinceMs !== bSinceMs) return aSinceMs < bSinceMs
  return aId < bId
}

/** What counts as a change worth 'peer:updated' (not lastSeen). */
function contentKey (p: PeerInfo): string {
  return JSON.stringify([p.instance, p.name, p.version, p.sources, p.stack, p.full === true, p.addresses, p.connected])
}
