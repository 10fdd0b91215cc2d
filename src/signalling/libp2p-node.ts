import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub, type GossipsubOpts } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { CID } from 'multiformats/cid'
import { DhtRecordRefusedError } from '../util/errors.ts'
import { AddressBudget } from './address-budget.ts'
import { guardKadStreams } from './kad-stream-guard.ts'
import { presenceScoring } from './presence-scoring.ts'
import { SwarmDatastore } from './swarm-datastore.ts'
import { kadProtocol, mdnsServiceTag, presenceTopic } from './swarm-scope.ts'

/**
 * libp2p pings every connection this often and aborts one whose ping takes
 * longer than its adaptive timeout (at least the minimum). Its defaults (10 s,
 * 5 s) turn a busy machine into a storm: a daemon slow to answer has its
 * connections aborted, both ends dial again (Noise handshakes, identify,
 * gossip state, presence for the new peer) and everyone gets busier still;
 * twenty daemons on two cores never settled. Dead paths are found sooner by
 * what watches them for a reason: our address checks (ConnectionCheck), an
 * offer left unanswered, presence expiry.
 */
const MONITOR_PING_INTERVAL_MS = 30_000
const MONITOR_MIN_PING_TIMEOUT_MS = 10_000
/** Presence envelopes are ≤ 16 KiB; anything much larger is not ours. */
const MAX_PUBSUB_DATA_BYTES = 64 * 1024
const MDNS_QUERY_INTERVAL_MS = 10_000
/**
 * Provider records of the rendezvous key: a departed node's record should not
 * be handed out (and dialled) for the default 48 h. Live nodes provide again
 * well within this (rendezvous.ts).
 */
const PROVIDER_VALIDITY_MS = 30 * 60_000
const PROVIDER_SWEEP_MS = 5 * 60_000
const MAX_RELAY_RESERVATIONS = 64
/**
 * The presence mesh. gossipsub's defaults (D 6, up to 12) are sized for
 * bulk data over a sparse overlay; here every daemon also floods its own
 * record to every peer it is connected to (floodPublish, on by default), and
 * in a LAN swarm that is every peer. Each mesh neighbour forwards each record
 * once more, so a daemon receives every record 1 + (mesh size) times: with
 * the defaults, N times in a swarm of up to 13 (and up to 13 times beyond).
 * A mesh of 3-5 still reaches peers we are not connected to within a hop or
 * two (IHAVE gossip covers a miss) at 5-6 copies: about half at 10 daemons,
 * less than half at 20.
 */
const MESH = { D: 4, Dlo: 3, Dhi: 5, Dout: 1, Dscore: 2, Dlazy: 4 } as const

/**
 * Messages above this size get an IDONTWANT to every mesh peer (gossipsub
 * 1.2): worth it for blocks of data, not for sub-kilobyte presence records,
 * where the IDONTWANT is one more frame per mesh peer for every record, as
 * many as the copies it may save. Above our largest message: never sent.
 */
const IDONTWANT_MIN_BYTES = MAX_PUBSUB_DATA_BYTES + 1

/**
 * Bounds on what peers can make this node hold (issue 21; each is listed in
 * the README's "Bounds" section). libp2p's own knobs where it has one.
 */
/** Connections in all; past it libp2p prunes the least valued and refuses new inbound ones. */
export const MAX_CONNECTIONS = 128
/** Inbound connections still in their Noise/yamux upgrade (libp2p's default, said out loud). */
const MAX_INCOMING_PENDING_CONNECTIONS = 10
/** New inbound connections per second from one host (libp2p's default, said out loud). */
const INBOUND_CONNECTIONS_PER_HOST_PER_SECOND = 5
/** A connection's upgrade, and a stream's protocol negotiation, must finish within this (libp2p: 10 s). */
const INBOUND_UPGRADE_TIMEOUT_MS = 5_000
const STREAM_NEGOTIATION_TIMEOUT_MS = 5_000
/**
 * yamux: streams a peer may have open on one connection at once (all
 * protocols, those still negotiating included; yamux's default 1,000 let one
 * connection hold 1,000 streams of ~75 KB each). The per-protocol limits
 * below add up to less than this.
 */
export const YAMUX_MAX_INBOUND_STREAMS = 128
const YAMUX_MAX_OUTBOUND_STREAMS = 512
/** yamux frame size we send (its default) and unread bytes a stream may buffer (its default is 4 MiB). */
const YAMUX_MAX_MESSAGE_BYTES = 64 * 1024
const YAMUX_MAX_READ_BUFFER_BYTES = 1024 * 1024
/** Per protocol and connection, inbound/outbound (libp2p's registrar counts them). */
export const PROTOCOL_STREAMS = {
  identify: { in: 2, out: 2 },
  ping: { in: 2, out: 2 },
  kad: { in: 4, out: 16 },
  gossipsub: { in: 2, out: 2 },
  relayHop: { in: 4, out: 4 }
} as const
/** identify messages (listen addresses, protocols): libp2p's default, said out loud. */
const IDENTIFY_MAX_MESSAGE_BYTES = 8 * 1024
/** A kad request is answered within this (kad-dht: 10 s). */
const KAD_INCOMING_MESSAGE_TIMEOUT_MS = 5_000
/** kad-dht's provider cache (its LRU in front of the datastore). */
const KAD_PROVIDER_CACHE_SIZE = 64
/** gossipsub: per-peer subscription bookkeeping, and its RPC decoding caps (defaults: 1 MiB, 5,000 of each). */
const GOSSIP_MAX_TOPIC_BYTES_PER_PEER = 16 * 1024
const GOSSIP_DECODE_LIMITS = {
  maxSubscriptions: 16,
  maxMessages: 256,
  maxIhaveMessageIDs: 1_000,
  maxIwantMessageIDs: 1_000,
  maxIdontwantMessageIDs: 512,
  maxControlMessages: 64,
  maxPeerInfos: 16
} as const
/** What one peer's outbound gossip queue may hold before sends to it fail. */
const GOSSIP_MAX_OUTBOUND_BUFFER_BYTES = 1024 * 1024

/** The gossipsub wire message, as handed to `fastMsgIdFn`. */
type RpcMessage = Parameters<GossipsubOpts['fastMsgIdFn']>[0]

const b64 = (bytes: Uint8Array | undefined): string => bytes === undefined ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/**
 * The key of gossipsub's duplicate check before validation: author and
 * sequence number, what the message id (StrictSign) is made of. Without one,
 * gossipsub checks the signature of every copy of a message before it looks
 * whether it has seen it, an Ed25519 verification per copy. Only messages that
 * passed that check enter this cache, so a forged copy cannot shadow the real one.
 */
export function fastMsgId (msg: RpcMessage): string {
  return `${b64(msg.from)}/${b64(msg.seqno)}`
}

export interface SwarmServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  dht?: KadDHT
  relay?: unknown
}

export type SwarmNode = Libp2p<SwarmServices>

export interface NodeInit {
  swarmName: string
  privateKey: PrivateKey
  listen: string[]
  announce: string[]
  bootstrap: string[]
  mdns: boolean
  dht: boolean
  /** Relay for peers of the swarm and reserve a slot on a relay: signalling reaches peers with no direct connection. */
  relay: boolean
  /** Private-network key file contents (see swarm-key.ts). */
  psk?: Uint8Array
  gater?: ConnectionGater
  /** The swarm's rendezvous key: the only DHT key whose providers we store. */
  rendezvous: CID
}

/** The libp2p options of a swarm node: every swarm-scoped name comes from swarm-scope.ts. */
export function libp2pOptions (init: NodeInit): Libp2pOptions<SwarmServices> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  if (init.mdns) peerDiscovery.push(mdns({ serviceTag: mdnsServiceTag(init.swarmName), interval: MDNS_QUERY_INTERVAL_MS }))
  if (init.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: init.bootstrap, timeout: 100 }))

  const services: Libp2pOptions<SwarmServices>['services'] = {
    identify: identify({
      maxInboundStreams: PROTOCOL_STREAMS.identify.in,
      maxOutboundStreams: PROTOCOL_STREAMS.identify.out,
      maxMessageSize: IDENTIFY_MAX_MESSAGE_BYTES
    }),
    ping: ping({ maxInboundStreams: PROTOCOL_STREAMS.ping.in, maxOutboundStreams: PROTOCOL_STREAMS.ping.out }),
    pubsub: gossipsub({
      maxInboundStreams: PROTOCOL_STREAMS.gossipsub.in,
      maxOutboundStreams: PROTOCOL_STREAMS.gossipsub.out,
      // We take part in one topic; subscriptions to others are not tracked.
      allowedTopics: [presenceTopic(init.swarmName)],
      maxTopicBytesPerPeer: GOSSIP_MAX_TOPIC_BYTES_PER_PEER,
      decodeRpcLimits: { ...GOSSIP_DECODE_LIMITS },
      maxOutboundBufferSize: GOSSIP_MAX_OUTBOUND_BUFFER_BYTES,
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      // Every presence record must be signed by its author (the default, said out loud).
      globalSignaturePolicy: 'StrictSign',
      maxInboundDataLength: MAX_PUBSUB_DATA_BYTES,
      fastMsgIdFn: fastMsgId,
      idontwantMinDataSize: IDONTWANT_MIN_BYTES,
      ...MESH,
      ...presenceScoring(presenceTopic(init.swarmName))
    })
  }
  if (init.relay) {
    // Every daemon relays for its swarm (gated like any connection): two peers
    // that cannot dial each other still reach each other's signal protocol.
    services.relay = circuitRelayServer({
      reservations: { maxReservations: MAX_RELAY_RESERVATIONS },
      maxInboundHopStreams: PROTOCOL_STREAMS.relayHop.in,
      maxOutboundHopStreams: PROTOCOL_STREAMS.relayHop.out
    })
  }
  if (init.dht) {
    services.dht = kadDHT({
      protocol: kadProtocol(init.swarmName),
      // Serve queries from the start and keep private/loopback addresses:
      // the defaults assume the public IPFS DHT and would leave a LAN swarm empty.
      clientMode: false,
      peerInfoMapper: passthroughMapper,
      logPrefix: 'libp2p:edge-stack:kad-dht',
      maxInboundStreams: PROTOCOL_STREAMS.kad.in,
      maxOutboundStreams: PROTOCOL_STREAMS.kad.out,
      incomingMessageTimeout: KAD_INCOMING_MESSAGE_TIMEOUT_MS,
      // edged reads no DHT records: refuse to store any for others (kad-dht's only record type is /pk/).
      validators: { pk: async () => { throw new DhtRecordRefusedError('this node stores no DHT records') } },
      providers: { cacheSize: KAD_PROVIDER_CACHE_SIZE, provideValidity: PROVIDER_VALIDITY_MS / 1000, cleanupInterval: PROVIDER_SWEEP_MS / 1000 },
      reprovide: { validity: PROVIDER_VALIDITY_MS, interval: PROVIDER_SWEEP_MS, threshold: PROVIDER_VALIDITY_MS / 2 }
    })
  }

  return {
    privateKey: init.privateKey,
    addresses: {
      listen: init.relay ? [...init.listen, '/p2p-circuit'] : init.listen,
      // What peers say they saw us as: with TCP that is the connection's ephemeral
      // source port, which nobody can dial; kept, it changes with every new
      // connection, and each change is an identify push to every peer.
      maxObservedAddresses: 0,
      // Announce addresses replace the listening ones, but relay (circuit) addresses stay.
      ...(init.announce.length > 0 ? { announceFilter: announceInstead(init.announce) } : {})
    },
    transports: init.relay ? [tcp(), circuitRelayTransport()] : [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({
      maxInboundStreams: YAMUX_MAX_INBOUND_STREAMS,
      maxOutboundStreams: YAMUX_MAX_OUTBOUND_STREAMS,
      maxMessageSize: YAMUX_MAX_MESSAGE_BYTES,
      streamOptions: { maxReadBufferLength: YAMUX_MAX_READ_BUFFER_BYTES }
    })],
    connectionManager: {
      maxConnections: MAX_CONNECTIONS,
      maxIncomingPendingConnections: MAX_INCOMING_PENDING_CONNECTIONS,
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_HOST_PER_SECOND,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
      inboundStreamProtocolNegotiationTimeout: STREAM_NEGOTIATION_TIMEOUT_MS
    },
    datastore: new SwarmDatastore({ rendezvous: init.rendezvous }),
    ...(init.psk !== undefined ? { connectionProtector: preSharedKey({ psk: init.psk }) } : {}),
    connectionGater: withAddressBudget(init.gater ?? {}, new AddressBudget()),
    peerDiscovery,
    connectionMonitor: { pingInterval: MONITOR_PING_INTERVAL_MS, pingTimeout: { minTimeout: MONITOR_MIN_PING_TIMEOUT_MS } },
    services
  }
}

/**
 * `gater` plus the address budget (see AddressBudget) as its
 * `filterMultiaddrForPeer`, which libp2p calls unbound, for every address the
 * peer store is given.
 */
function withAddressBudget (gater: ConnectionGater, budget: AddressBudget): ConnectionGater {
  return { ...gater, filterMultiaddrForPeer: (peer, addr) => budget.allows(peer.toString(), addr) }
}

function announceInstead (announce: string[]): (addrs: Multiaddr[]) => Multiaddr[] {
  const fixed = announce.map(a => multiaddr(a))
  return addrs => [...fixed, ...addrs.filter(a => a.toString().includes('/p2p-circuit'))]
}

/** Build (not start) the node. */
export async function createSwarmNode (init: NodeInit): Promise<SwarmNode> {
  return await createLibp2p({ ...libp2pOptions(init), start: false })
}

/** Start the node, then put in what needs its protocols registered. */
export async function startSwarmNode (node: SwarmNode, init: Pick<NodeInit, 'dht' | 'swarmName'>): Promise<void> {
  await node.start()
  // kad-dht has no message size limit of its own (it reads up to 4 MiB per message).
  if (init.dht) await guardKadStreams(node, kadProtocol(init.swarmName))
}
