import type { Libp2p, PrivateKey } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Startable } from '../util/startable.ts'
import type { TypedEmitter } from '../util/typed-emitter.ts'
import type { AllowPolicy } from './allow-policy.ts'

/** What a daemon announces about a source of its own. */
export interface SourceSummary {
  name: string
  kind: 'video' | 'audio'
  codec: string
}

/** The content of a presence record, as the local daemon describes itself. */
export interface PresenceContent {
  /** Random per daemon start: a changed instance means the peer restarted. */
  instance: string
  name: string
  version: string
  sources: SourceSummary[]
  stack: string
  /**
   * Every session slot is taken (swarm.maxSessions): auto-connecting peers do
   * not offer to it (an explicit `edgectl connect` still does). Absent: free.
   */
  full?: boolean
}

/** A signed presence record as published on the swarm topic. */
export interface PresenceRecord extends PresenceContent {
  peerId: string
  swarm: string
  addresses: string[]
  /** Monotonic per publisher: stale or replayed records are ignored. */
  seq: number
  /** Publisher's wall clock (ms since epoch), informational. */
  ts: number
  /** Set in the last record a daemon publishes as it stops. */
  leaving?: boolean
  /** The publisher re-announces this often (ms; see presence-interval.ts). Absent: the receiver's own interval. */
  every?: number
}

/** A remote peer as the daemon knows it (GET /v1/peers). */
export interface PeerInfo extends PresenceContent {
  peerId: string
  addresses: string[]
  /** ISO time of the last valid presence record. */
  lastSeen: string
  /** A libp2p connection to the peer is open. */
  connected: boolean
}

export interface SwarmEvents {
  'peer:discovered': [PeerInfo]
  'peer:updated': [PeerInfo]
  'peer:lost': [PeerInfo]
  /**
   * Addresses of this machine went away (an interface down or renumbered):
   * paths that used them are gone. The one owner of that fact is the swarm's
   * address monitor (ConnectionCheck, one look a second).
   */
  'path:lost': [PathChange]
  /**
   * This machine has a new address (an interface up, or renumbered): a path
   * may be possible again, and a path whose local address is not among `now`
   * was lost unseen (the address came and went between two looks).
   */
  'path:added': [PathChange]
}

/** What the address monitor saw change: `hosts` lost or added, and the hosts there are `now`. */
export interface PathChange {
  hosts: string[]
  now: ReadonlySet<string>
}

export interface SwarmInit {
  swarm: {
    name: string
    listen: string[]
    announce: string[]
    bootstrap: string[]
    mdns: boolean
    dht: boolean
    relay: boolean
    allow: string[]
    key?: string
    announceIntervalMs: number
    peerExpiryMs: number
    /** libp2p connections opened by ourselves to peers we hear of (see PeerDialer). */
    overlayPeers: number
    /** Peers the presence table holds at most (see PresenceTable.apply). Default DEFAULT_MAX_PEERS. */
    maxPeers?: number
  }
  /** swarm.allow and bans, shared with the signal services and the sessions (default: one made from swarm.allow). */
  allow?: AllowPolicy
  privateKey: PrivateKey
  /** Called at every announcement, so the record always shows current sources. */
  presence: () => PresenceContent
  logger: Logger
}

export interface Swarm extends Startable, TypedEmitter<SwarmEvents> {
  readonly peerId: string
  /** The libp2p node (available after start). */
  readonly libp2p: Libp2p
  /** Multiaddrs this node listens on, each with /p2p/<peerId>. */
  addresses: () => string[]
  /**
   * Make sure signalling towards `peer` does not ride a dead connection: ping
   * the open one, hang up on it if it does not answer (a dial then makes a new one).
   */
  checkConnection: (peer: string) => Promise<void>
  /** Known, unexpired peers of this swarm (never this node). */
  peers: () => PeerInfo[]
  /** One known peer, or undefined. */
  peer: (peerId: string) => PeerInfo | undefined
  /** Publish presence now (also done every announceIntervalMs). */
  announce: () => Promise<void>
}
