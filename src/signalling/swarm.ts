import { TopicValidatorResult, type Message, type SubscriptionChangeData } from '@libp2p/gossipsub'
import type { Libp2p, PeerId, PeerInfo as Libp2pPeerInfo } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { SwarmListenError } from '../util/errors.ts'
import { EventLoopSlicer } from '../util/event-loop-slicer.ts'
import { TypedEmitter } from '../util/typed-emitter.ts'
import { AllowPolicy } from './allow-policy.ts'
import { ConnectionCheck } from './connection-check.ts'
import { createSwarmNode, startSwarmNode, type SwarmNode } from './libp2p-node.ts'
import { PeerDialer } from './peer-dialer.ts'
import { PeerExpiry } from './peer-expiry.ts'
import { decodePresence, encodePresence, MAX_PRESENCE_BYTES } from './presence-codec.ts'
import { GRAYLIST_THRESHOLD } from './presence-scoring.ts'
import { maxEveryMs, presenceExpiryMs, presenceIntervalMs } from './presence-interval.ts'
import { PresenceSync } from './presence-sync.ts'
import { MAX_SYNC_HAVE, type SyncRecord } from './presence-sync-messages.ts'
import { DEFAULT_MAX_PEERS, PresenceTable } from './presence-table.ts'
import { PublishRateLimit } from './publish-rate-limit.ts'
import { Rendezvous } from './rendezvous.ts'
import { readSwarmKey } from './swarm-key.ts'
import { swarmGater } from './swarm-gater.ts'
import { presenceSyncProtocol, presenceTopic, rendezvousCid } from './swarm-scope.ts'
import type { PeerInfo, PresenceRecord, Swarm, SwarmEvents, SwarmInit } from './types.ts'

/** A tick this close to the repeat's due time publishes (timers fire a little early or late). */
const ANNOUNCE_SLACK_MS = 50
/** Publishes that events ask for (joining) are at least this far apart. */
const EVENT_PUBLISH_GAP_MS = 1_000
/** While we have this few connections we are joining: each new one gets our record out at once. */
const JOINING_PEERS = 2
/** Coalesce bursts of "publish now" (new connections, new subscribers). */
const ANNOUNCE_SOON_MS = 50
/**
 * A record relayed by presence sync is refused once its author signed it
 * longer ago than the peer's expiry plus this much: the relayer states the
 * age it heard it at, but only `ts` is signed, so a peer could otherwise pass
 * off a dead peer's old record as fresh. Robots' clocks drift, and a record
 * refused for that still arrives by gossip.
 */
const MAX_CLOCK_SKEW_MS = 5 * 60_000
/** The leaving record gets this long to go out before libp2p closes its connections. */
const LEAVING_PUBLISH_TIMEOUT_MS = 1_000
const LEAVING_FLUSH_MS = 100
const MIN_RENDEZVOUS_INTERVAL_MS = 1_000
const MAX_RENDEZVOUS_INTERVAL_MS = 30_000
/** Rendezvous rounds while connected to peers (see RendezvousInit.connectedIntervalMs). */
const CONNECTED_RENDEZVOUS_INTERVAL_MS = 60_000
const RENDEZVOUS_QUERY_TIMEOUT_MS = 10_000
/** How often peers' gossipsub scores are looked at, and how long a graylisted one stays shut out. */
const GRAYLIST_CHECK_MS = 1_000
export const GRAYLIST_BAN_MS = 60_000
/**
 * Authors we do not know yet that one peer may bring us, by gossip or in
 * presence sync answers: a burst (a daemon joining a swarm hears of all its
 * peers from the first one it connects to), then this many a minute. Keys are
 * free, so without it one connection could fill the table with made-up peers
 * (1,000 fresh keys over one connection did). Records over it are ignored,
 * not rejected: an honest peer that relays a flood is not penalised for it.
 */
export const NEW_AUTHORS_BURST = 128
export const NEW_AUTHORS_PER_MINUTE = 60
/** How often this machine's addresses are compared with the last look (see ConnectionCheck). */
const ADDRESS_CHECK_MS = 1_000

export function createSwarm (init: SwarmInit): Swarm {
  return new SwarmService(init)
}

/** What runs only while started; dropped as a whole on stop. */
interface Running {
  node: SwarmNode
  dialer: PeerDialer
  expiry: PeerExpiry
  check: ConnectionCheck
  sync: PresenceSync
  rendezvous?: Rendezvous
  timers: NodeJS.Timeout[]
  detach: Array<() => void>
}

/**
 * The swarm service: a libp2p node scoped to `swarm.name`, finding peers by
 * mDNS, bootstrap and a DHT rendezvous, dialling what it finds, and keeping
 * the table of peers from their signed presence records (see presence-codec.ts
 * for the wire format).
 */
class SwarmService extends TypedEmitter<SwarmEvents> implements Swarm {
  readonly peerId: string
  readonly #init: SwarmInit
  readonly #log: Logger
  readonly #allow: AllowPolicy
  readonly #onAllowChanged = (): void => { this.#dropDisallowed() }
  readonly #table: PresenceTable
  readonly #topic: string
  /** The largest `every` a record may claim (see maxEveryMs). */
  readonly #maxEveryMs: number
  /** Records that passed the topic validator, waiting for gossipsub's 'message'. */
  readonly #validated = new WeakMap<Message, PresenceRecord>()
  readonly #rate = new PublishRateLimit()
  /** New authors (not in our table) that one forwarding peer may bring us (see NEW_AUTHORS_*). */
  readonly #newAuthors = new PublishRateLimit({ burst: NEW_AUTHORS_BURST, perSecond: NEW_AUTHORS_PER_MINUTE / 60 })
  /** Decoding and signature checks of a burst of records share the event loop (see EventLoopSlicer). */
  readonly #slicer = new EventLoopSlicer()
  #running: Running | undefined
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined
  #seq = 0
  /** When our last record went out (the periodic repeat counts from it). */
  #publishedAt = 0
  /** Our last record as signed, for presence sync answers. */
  #published: { seq: number, envelope: Uint8Array, atMs: number } | undefined
  #soon: NodeJS.Timeout | undefined
  /** A record of ours went to at least one subscriber since we started. */
  #reached = false

  constructor (init: SwarmInit) {
    super()
    this.#init = init
    this.peerId = peerIdFromPrivateKey(init.privateKey).toString()
    this.#log = init.logger.child({ swarm: init.swarm.name })
    this.#allow = init.allow ?? new AllowPolicy(init.swarm.allow)
    this.#topic = presenceTopic(init.swarm.name)
    const maxPeers = init.swarm.maxPeers ?? DEFAULT_MAX_PEERS
    this.#maxEveryMs = maxEveryMs(init.swarm.announceIntervalMs, maxPeers)
    this.#table = new PresenceTable((event, peer) => {
      this.#log.debug({ peer: peer.peerId, name: peer.name, connected: peer.connected }, event)
      this.emit(event, peer)
    }, { maxPeers, maxEveryMs: this.#maxEveryMs })
    this.onListenerError = (event, err) => { this.#log.error({ err, event }, 'swarm event listener threw') }
  }

  get libp2p (): Libp2p {
    if (this.#running === undefined) throw new Error('the swarm is not started')
    return this.#running.node
  }

  addresses (): string[] {
    const self = `/p2p/${this.peerId}`
    return this.#running?.node.getMultiaddrs().map(a => {
      const text = a.toString()
      return text.endsWith(self) ? text : `${text}${self}`
    }) ?? []
  }

  async checkConnection (peer: string): Promise<void> {
    await this.#running?.check.verify(peerIdFromString(peer))
  }

  peers (): PeerInfo[] {
    return this.#table.list()
  }

  peer (peerId: string): PeerInfo | undefined {
    return this.#table.get(peerId)
  }

  async announce (): Promise<void> {
    await this.#publish(false)
  }

  /** The allow policy changed (config reload): peers no longer on it are hung up on and forgotten. */
  #dropDisallowed (): void {
    for (const peer of this.#table.list()) {
      if (!this.#allow.allows(peer.peerId)) this.#table.remove(peer.peerId)
    }
    const running = this.#running
    if (running === undefined) return
    for (const peer of running.node.getPeers()) {
      if (this.#allow.allows(peer)) continue
      this.#log.info({ peer: peer.toString() }, 'peer no longer on the allow list: hanging up')
      void running.node.hangUp(peer).catch((err: unknown) => { this.#log.debug({ peer: peer.toString(), err: (err as Error).message }, 'hang up failed') })
    }
    // Peers that were refused until now: look for them at once rather than at the next round.
    running.rendezvous?.trigger()
    for (const { peerId, addr } of bootstrapPeers(this.#init.swarm.bootstrap, this.#log)) running.dialer.dial(peerId, [addr], 'bootstrap')
  }

  async start (): Promise<void> {
    if (this.#running !== undefined) return
    this.#starting ??= this.#start().finally(() => { this.#starting = undefined })
    await this.#starting
  }

  async stop (): Promise<void> {
    this.#stopping ??= this.#stop().finally(() => { this.#stopping = undefined })
    await this.#stopping
  }

  async #start (): Promise<void> {
    const s = this.#init.swarm
    const psk = s.key === undefined ? undefined : await readSwarmKey(s.key)
    let node: SwarmNode | undefined
    const rendezvous = await rendezvousCid(s.name)
    try {
      node = await createSwarmNode({
        swarmName: s.name,
        privateKey: this.#init.privateKey,
        listen: s.listen,
        announce: s.announce,
        bootstrap: s.bootstrap,
        mdns: s.mdns,
        dht: s.dht,
        relay: s.relay,
        psk,
        rendezvous,
        gater: swarmGater({ allow: this.#allow, connectionsTo: peer => node?.getConnections(peer).length ?? 0 })
      })
      await startSwarmNode(node, { dht: s.dht, swarmName: s.name })
    } catch (err) {
      // A start that failed half-way (a listener, or the kad guard after it) leaves nothing running.
      try { await node?.stop() } catch {}
      throw new SwarmListenError(s.listen, err)
    }
    try {
      this.#running = await this.#attach(node)
    } catch (err) {
      try { await node.stop() } catch {}
      throw err
    }
    // Connections made before our listeners were attached (libp2p dials bootstrap peers at start).
    for (const peer of node.getPeers()) void this.#running.sync.ask(peer)
    this.#log.info({ peerId: this.peerId, addresses: this.addresses(), mdns: s.mdns, dht: s.dht, private: psk !== undefined }, 'swarm started')
    void this.#publish(false)
  }

  async #attach (node: SwarmNode): Promise<Running> {
    const s = this.#init.swarm
    const log = this.#log
    const dialer = new PeerDialer({ libp2p: node, allow: this.#allow, overlayPeers: s.overlayPeers, maxTrackedPeers: s.maxPeers ?? DEFAULT_MAX_PEERS, log })
    const expiry = new PeerExpiry({
      libp2p: node,
      table: this.#table,
      expiryMs: s.peerExpiryMs,
      intervalMs: s.announceIntervalMs,
      currentIntervalMs: () => this.#intervalMs(),
      log
    })
    const check = new ConnectionCheck({
      libp2p: node,
      redial: peer => { dialer.dialNow(peer, 'address change') },
      onLost: (lost, hosts) => { this.emit('path:lost', { hosts: lost, now: hosts }) },
      onAdded: (added, hosts) => { this.emit('path:added', { hosts: added, now: hosts }) },
      log
    })
    const sync = new PresenceSync({
      libp2p: node,
      protocol: presenceSyncProtocol(s.name),
      isAllowed: peer => this.#allow.allows(peer),
      have: () => this.#table.seqs(MAX_SYNC_HAVE),
      offer: (asker, have) => this.#syncOffer(asker, have),
      take: async (peer, record) => await this.#takeSynced(peer, record),
      log
    })
    await sync.start()
    const running: Running = { node, dialer, expiry, check, sync, timers: [], detach: [] }
    const pubsub = node.services.pubsub
    pubsub.topicValidators.set(this.#topic, async (source, msg) => await this.#validate(source.toString(), msg))
    const onMessage = (evt: CustomEvent<Message>): void => { this.#onMessage(evt.detail) }
    const onSubscription = (evt: CustomEvent<SubscriptionChangeData>): void => {
      if (!evt.detail.subscriptions.some(sub => sub.topic === this.#topic && sub.subscribe)) return
      // Our records so far went to nobody (published before gossipsub knew any
      // subscriber: on a busy machine that can be seconds after the first
      // connections): this subscriber forwards ours to the swarm. Once one has
      // gone out, the peers we connect to hear us by presence sync, and the
      // others through the mesh.
      if (!this.#reached) this.#publishSoon()
    }
    pubsub.addEventListener('message', onMessage)
    pubsub.addEventListener('subscription-change', onSubscription)
    pubsub.subscribe(this.#topic)

    const onDiscovery = (evt: CustomEvent<Libp2pPeerInfo>): void => { dialer.dial(evt.detail.id, evt.detail.multiaddrs, 'discovery', { optional: true }) }
    const onConnect = (evt: CustomEvent<PeerId>): void => {
      this.#table.setConnected(evt.detail.toString(), true)
      // What the peer knows of the swarm, in one round trip (see presence-sync.ts).
      void sync.ask(evt.detail)
      // The first peer makes DHT queries possible: look for the swarm at once.
      // Later ones bring their peers by presence; a round for each of them
      // (every daemon, at every connection) would cost N² queries as a swarm forms.
      if (node.getPeers().length <= 1) running.rendezvous?.trigger()
      if (node.getPeers().length <= JOINING_PEERS) this.#publishSoon()
    }
    const onDisconnect = (evt: CustomEvent<PeerId>): void => {
      this.#table.setConnected(evt.detail.toString(), false)
      // Alone again: back to the quick rounds, not at the end of a slow one.
      if (node.getPeers().length === 0) running.rendezvous?.trigger()
    }
    node.addEventListener('peer:discovery', onDiscovery)
    node.addEventListener('peer:connect', onConnect)
    node.addEventListener('peer:disconnect', onDisconnect)

    this.#allow.on('changed', this.#onAllowChanged)
    running.detach.push(() => {
      this.#allow.off('changed', this.#onAllowChanged)
      pubsub.topicValidators.delete(this.#topic)
      pubsub.removeEventListener('message', onMessage)
      pubsub.removeEventListener('subscription-change', onSubscription)
      node.removeEventListener('peer:discovery', onDiscovery)
      node.removeEventListener('peer:connect', onConnect)
      node.removeEventListener('peer:disconnect', onDisconnect)
    })

    const dht = node.services.dht
    if (dht !== undefined) {
      running.rendezvous = new Rendezvous({
        dht,
        cid: await rendezvousCid(s.name),
        intervalMs: Math.min(MAX_RENDEZVOUS_INTERVAL_MS, Math.max(MIN_RENDEZVOUS_INTERVAL_MS, s.announceIntervalMs * 2)),
        connectedIntervalMs: CONNECTED_RENDEZVOUS_INTERVAL_MS,
        queryTimeoutMs: RENDEZVOUS_QUERY_TIMEOUT_MS,
        connectedPeers: () => node.getPeers().length,
        onProvider: (peer) => { dialer.dial(peer.id, peer.multiaddrs, 'rendezvous', { optional: true }) },
        log
      })
      running.rendezvous.start()
    }
    expiry.start()
    const bootstrap = bootstrapPeers(s.bootstrap, log)
    running.timers.push(setInterval(() => { this.#shutOutGraylisted(node) }, GRAYLIST_CHECK_MS))
    check.look()
    running.timers.push(setInterval(() => { check.look() }, ADDRESS_CHECK_MS))
    running.timers.push(setInterval(() => {
      // The repeat stretches as the swarm grows (presence-interval.ts); a change goes out at once anyway.
      if (Date.now() - this.#publishedAt >= this.#intervalMs() - ANNOUNCE_SLACK_MS) void this.#publish(false)
      // @libp2p/bootstrap dials once at start; keep coming back to a bootstrap peer that restarted.
      for (const { peerId, addr } of bootstrap) dialer.dial(peerId, [addr], 'bootstrap')
    }, s.announceIntervalMs))
    return running
  }

  async #stop (): Promise<void> {
    await this.#starting?.catch(() => {})
    const running = this.#running
    if (running === undefined) return
    clearTimeout(this.#soon)
    for (const timer of running.timers) clearInterval(timer)
    running.expiry.stop()
    running.check.stop()
    running.dialer.stop()
    await running.sync.stop()
    await running.rendezvous?.stop()
    await withTimeout(this.#publish(true), LEAVING_PUBLISH_TIMEOUT_MS)
    await new Promise(resolve => setTimeout(resolve, LEAVING_FLUSH_MS))
    this.#running = undefined
    for (const detach of running.detach) detach()
    try {
      await running.node.stop()
    } catch (err) {
      this.#log.warn({ err }, 'libp2p stop failed')
    }
    clearTimeout(this.#soon)
    this.#soon = undefined
    this.#reached = false
    this.#table.clear()
    this.#published = undefined
    this.#log.info('swarm stopped')
  }

  /**
   * gossipsub already ignores a graylisted peer; hang up on it too, and refuse
   * it for a while, so a flooding peer costs nothing more than the gater's check.
   */
  #shutOutGraylisted (node: SwarmNode): void {
    // The GossipSub interface does not declare getScore; the router (gossipsub.js) has it.
    const scores = node.services.pubsub as unknown as { getScore?: (peer: string) => number }
    if (typeof scores.getScore !== 'function') return
    for (const peer of node.getPeers()) {
      const id = peer.toString()
      const score = scores.getScore(id)
      if (score >= GRAYLIST_THRESHOLD) continue
      this.#log.warn({ peer: id, score: Math.round(score), banMs: GRAYLIST_BAN_MS }, 'peer flooded the swarm with invalid messages: hanging up and refusing it for a while')
      this.#allow.ban(id, GRAYLIST_BAN_MS)
      this.#table.remove(id)
      void node.hangUp(peer).catch((err: unknown) => { this.#log.debug({ peer: id, err: (err as Error).message }, 'hang up failed') })
    }
  }

  /** Our re-announce interval now, with the peers we know. */
  #intervalMs (): number {
    return presenceIntervalMs(this.#init.swarm.announceIntervalMs, this.#table.size)
  }

  #publishSoon (): void {
    if (this.#running === undefined || this.#stopping !== undefined || this.#soon !== undefined) return
    // The gap spares peers' CPU; while no record of ours has reached anyone, nobody pays
    // for one more, and a joining daemon is heard a second or two sooner on a busy machine.
    const gap = this.#reached ? EVENT_PUBLISH_GAP_MS : 0
    const wait = Math.max(ANNOUNCE_SOON_MS, this.#publishedAt + gap - Date.now())
    this.#soon = setTimeout(() => {
      this.#soon = undefined
      void this.#publish(false)
    }, wait)
  }

  /** Publish our presence record; failures (no peers yet, peers going away) are logged, never thrown. */
  async #publish (leaving: boolean): Promise<void> {
    const running = this.#running
    if (running === undefined || (this.#stopping !== undefined && !leaving)) return
    try {
      const content = this.#init.presence()
      this.#seq = Math.max(this.#seq + 1, Date.now())
      this.#publishedAt = Date.now()
      const record: PresenceRecord = {
        peerId: this.peerId,
        swarm: this.#init.swarm.name,
        instance: content.instance,
        name: content.name,
        version: content.version,
        sources: content.sources,
        stack: content.stack,
        ...(content.full === true ? { full: true } : {}),
        addresses: this.addresses(),
        seq: this.#seq,
        ts: Date.now(),
        every: this.#intervalMs(),
        ...(leaving ? { leaving: true } : {})
      }
      const data = await encodePresence(record, this.#init.privateKey)
      if (data.byteLength > MAX_PRESENCE_BYTES) {
        this.#log.warn({ bytes: data.byteLength, max: MAX_PRESENCE_BYTES }, 'presence record too large: peers will drop it')
      }
      // Two publishes can overlap (an announce and the repeat): keep the newer.
      if (record.seq > (this.#published?.seq ?? -1)) this.#published = { seq: record.seq, envelope: data, atMs: record.ts }
      const result = await running.node.services.pubsub.publish(this.#topic, data)
      // Nobody heard it (alone again, after a partition): the next subscriber asks for another.
      this.#reached = result.recipients.length > 0
      this.#log.trace({ seq: record.seq, leaving, recipients: result.recipients.length }, 'presence published')
    } catch (err) {
      this.#log.debug({ err: (err as Error).message, leaving }, 'presence publish failed')
    }
  }

  /** A gossip record by `msg.from`, forwarded to us by `source`. */
  async #validate (source: string, msg: Message): Promise<TopicValidatorResult> {
    if (msg.type !== 'signed') return TopicValidatorResult.Reject
    const from = msg.from.toString()
    if (!this.#allow.allows(from)) {
      this.#log.debug({ peer: from }, 'presence from a peer not on the allow list ignored')
      return TopicValidatorResult.Ignore
    }
    // Before any decoding or signature work: a flood costs us a map lookup each.
    if (!this.#rate.take(from)) {
      this.#log.debug({ peer: from }, 'presence over the publish rate rejected')
      return TopicValidatorResult.Reject
    }
    if (!this.#admitsAuthor(source, from)) return TopicValidatorResult.Ignore
    await this.#slicer.turn()
    // The record we hold already (its seq, not below) passes too: presence sync may have
    // brought it first, and gossipsub forwards only what its validator accepts, so
    // refusing it would stop the record at us. The table then takes it as nothing new.
    const last = this.#table.lastSeq(from)
    const result = await decodePresence(msg.data, { from, swarm: this.#init.swarm.name, lastSeq: last === undefined ? undefined : last - 1 })
    if (!result.ok) {
      if (result.why === 'stale') {
        this.#log.debug({ peer: from, reason: result.reason }, 'stale presence record ignored')
        return TopicValidatorResult.Ignore
      }
      this.#log.warn({ peer: from, why: result.why, reason: result.reason }, 'invalid presence record dropped')
      return TopicValidatorResult.Reject
    }
    this.#validated.set(msg, result.record)
    return TopicValidatorResult.Accept
  }

  #onMessage (msg: Message): void {
    const record = this.#validated.get(msg)
    if (record === undefined || msg.type !== 'signed') return
    this.#validated.delete(msg)
    // A copy: the message's data can be a view into gossipsub's whole RPC buffer.
    this.#take(msg.from, record, msg.data.slice(), Date.now())
  }

  /**
   * Whether a record of `author` that `forwarder` brought may go on: always
   * for an author we know, or the forwarder's own record; a new author takes
   * one of the forwarder's new-author tokens.
   */
  #admitsAuthor (forwarder: string, author: string): boolean {
    if (author === forwarder || this.#table.has(author)) return true
    if (this.#newAuthors.take(forwarder)) return true
    this.#log.debug({ peer: forwarder, author }, 'presence of a new author over the forwarder\'s new-author rate ignored')
    return false
  }

  /** A verified record into the table; a peer it tells of that we are not connected to may be dialled. */
  #take (peer: PeerId, record: PresenceRecord, envelope: Uint8Array, seenMs: number): void {
    const running = this.#running
    if (running === undefined) return
    const connected = running.node.getConnections(peer).length > 0
    if (!this.#table.apply(record, connected, seenMs, envelope)) return
    if (record.leaving !== true && !connected) {
      running.dialer.dial(peer, parseAddrs(record.addresses, this.#log), 'presence', { optional: true })
    }
  }

  /** A sync answer for `asker`: our own record first, then every newer one we hold but its own. */
  #syncOffer (asker: string, have: Map<string, number>): SyncRecord[] {
    const now = Date.now()
    const out: SyncRecord[] = []
    const own = this.#published
    if (own !== undefined && own.seq > (have.get(this.peerId) ?? -1)) out.push({ envelope: own.envelope, ageMs: now - own.atMs })
    for (const r of this.#table.signedAfter(have)) {
      if (r.peerId !== asker) out.push({ envelope: r.envelope, ageMs: now - r.lastSeenMs })
    }
    return out
  }

  /**
   * One record of a sync answer from `from`: checked like gossip, but its
   * author need not be the sender. False for an invalid one (the answer is
   * then dropped: one warning, not one per record of a hostile answer).
   */
  async #takeSynced (from: string, synced: SyncRecord): Promise<boolean> {
    const s = this.#init.swarm
    await this.#slicer.turn()
    const result = await decodePresence(synced.envelope, { swarm: s.name, lastSeq: id => this.#table.lastSeq(id) })
    if (!result.ok) {
      if (result.why === 'stale') return true
      this.#log.warn({ peer: from, why: result.why, reason: result.reason }, 'invalid presence record in a sync answer: the rest of the answer dropped')
      return false
    }
    const record = result.record
    if (record.peerId === this.peerId || !this.#allow.allows(record.peerId)) return true
    if (!this.#admitsAuthor(from, record.peerId)) return true
    // Heard, or signed, too long ago to count: the peer would be silent, and may be gone.
    const every = record.every === undefined ? undefined : Math.min(record.every, this.#maxEveryMs)
    const expiry = presenceExpiryMs({ expiryMs: s.peerExpiryMs, intervalMs: s.announceIntervalMs }, every)
    if (synced.ageMs > expiry || Date.now() - record.ts > expiry + MAX_CLOCK_SKEW_MS) return true
    this.#take(peerIdFromString(record.peerId), record, synced.envelope, Date.now() - synced.ageMs)
    return true
  }
}

function parseAddrs (addrs: string[], log: Logger): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    try {
      out.push(multiaddr(a))
    } catch (err) {
      log.debug({ addr: a, err: (err as Error).message }, 'ignoring bad multiaddr')
    }
  }
  return out
}

function bootstrapPeers (addrs: string[], log: Logger): Array<{ peerId: PeerId, addr: Multiaddr }> {
  const out: Array<{ peerId: PeerId, addr: Multiaddr }> = []
  for (const addr of parseAddrs(addrs, log)) {
    const id = addr.getComponents().findLast(c => c.code === CODE_P2P)?.value
    try {
      if (id !== undefined) out.push({ peerId: peerIdFromString(id), addr })
    } catch {
      log.warn({ addr: addr.toString() }, 'bootstrap address has a bad /p2p peer id')
    }
  }
  return out
}

async function withTimeout (p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p, new Promise<void>(resolve => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}
