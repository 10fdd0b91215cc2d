import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { PING_PROTOCOL } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import type { SwarmNode } from '../../src/signalling/libp2p-node.ts'
import { encodePresence } from '../../src/signalling/presence-codec.ts'
import { generateSwarmKey } from '../../src/signalling/swarm-key.ts'
import { presenceTopic } from '../../src/signalling/swarm-scope.ts'
import type { PeerInfo, Swarm } from '../../src/signalling/types.ts'
import { capturingLogger, peerNames, TestSwarms, waitFor } from './signalling-test-swarm.ts'

const swarms = new TestSwarms()
afterEach(async () => { await swarms.stopAll() })

const node = (s: Swarm): SwarmNode => s.libp2p as SwarmNode
const connectedTo = (a: Swarm, b: Swarm): boolean => a.libp2p.getConnections(peerIdFromString(b.peerId)).length > 0

describe('swarm', () => {
  it('listens on loopback and reports its addresses with /p2p/<id>', async () => {
    const a = await swarms.start({ name: 'a' })
    expect(a.addresses().length).toBeGreaterThan(0)
    for (const addr of a.addresses()) expect(addr).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${a.peerId}$`))
    expect(a.peers()).toEqual([])
  })

  it('announces the swarm.announce addresses instead of the listening ones', async () => {
    const a = await swarms.start({ name: 'a', swarm: { announce: ['/ip4/127.0.0.1/tcp/7420'] } })
    expect(a.addresses()).toEqual([`/ip4/127.0.0.1/tcp/7420/p2p/${a.peerId}`])
  })

  it('with mDNS off, nodes that only bootstrap to A find each other and each other\'s names', async () => {
    const a = await swarms.start({ name: 'a' })
    const b = await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    const c = await swarms.start({ name: 'c', swarm: { bootstrap: a.addresses() } })
    await waitFor('all three to see the other two', () =>
      peerNames(a).join() === 'b,c' && peerNames(b).join() === 'a,c' && peerNames(c).join() === 'a,b', 10_000)
    // B learnt C (and dialled it) without a bootstrap entry for it.
    await waitFor('B connected to C', () => b.peers().find(p => p.name === 'c')?.connected === true, 5_000)
    expect(connectedTo(b, c)).toBe(true)
  })

  it('with the DHT off, presence relayed through A is still enough for B and C to meet', async () => {
    const a = await swarms.start({ name: 'a', swarm: { dht: false } })
    const b = await swarms.start({ name: 'b', swarm: { dht: false, bootstrap: a.addresses() } })
    const c = await swarms.start({ name: 'c', swarm: { dht: false, bootstrap: a.addresses() } })
    await waitFor('B and C to meet', () => peerNames(b).join() === 'a,c' && peerNames(c).join() === 'a,b' && connectedTo(b, c), 10_000)
  })

  it('publishes as soon as a peer subscribes, not only on the interval', async () => {
    const slow = { announceIntervalMs: 10_000, peerExpiryMs: 30_000 }
    const a = await swarms.start({ name: 'a', swarm: slow })
    const b = await swarms.start({ name: 'b', swarm: { ...slow, bootstrap: a.addresses() } })
    const took = await waitFor('both to see each other', () => peerNames(a).join() === 'b' && peerNames(b).join() === 'a', 5_000)
    expect(took).toBeLessThan(3_000)
  })

  it('reports content and connection changes as peer:updated', async () => {
    let name = 'b'
    const a = await swarms.start({ name: 'a' })
    const b = await swarms.start({
      name: 'b',
      swarm: { bootstrap: a.addresses() },
      presence: () => ({ instance: 'b-1', name, version: '1', sources: [], stack: 'webrtc' })
    })
    await waitFor('A to see B', () => peerNames(a).join() === 'b')
    const updates: PeerInfo[] = []
    a.on('peer:updated', p => { updates.push(p) })
    name = 'b-renamed'
    await b.announce()
    await waitFor('A to see the new name', () => updates.some(u => u.name === 'b-renamed' && u.peerId === b.peerId), 3_000)
    expect(peerNames(a)).toEqual(['b-renamed'])
  })

  it('a node that stops is lost at once by the others (leaving record)', async () => {
    const a = await swarms.start({ name: 'a' })
    const b = await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    const c = await swarms.start({ name: 'c', swarm: { bootstrap: a.addresses() } })
    await waitFor('all to meet', () => a.peers().length === 2 && b.peers().length === 2)
    const lost: string[] = []
    a.on('peer:lost', p => { lost.push(`a:${p.name}`) })
    b.on('peer:lost', p => { lost.push(`b:${p.name}`) })
    const t0 = Date.now()
    await c.stop()
    await waitFor('A and B to lose C', () => lost.length === 2, 1_500)
    expect(Date.now() - t0).toBeLessThan(1_500)
    expect(lost.sort()).toEqual(['a:c', 'b:c'])
    expect(peerNames(a)).toEqual(['b'])
  })

  it('a node that dies without a word is lost once silent for peerExpiryMs and unreachable', async () => {
    const a = await swarms.start({ name: 'a' })
    const b = await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    await waitFor('A to see B', () => peerNames(a).join() === 'b')
    let lostAt = 0
    a.on('peer:lost', () => { lostAt = Date.now() })
    const t0 = Date.now()
    await b.libp2p.stop() // no leaving record: like a crash that closes its sockets
    await waitFor('A to lose B', () => lostAt > 0, 4_000)
    // Not at once (its last record is at most one announceIntervalMs old), but once silent for
    // peerExpiryMs (1500) and the next sweep; the margins are for a loaded machine.
    expect(lostAt - t0).toBeGreaterThan(1_500 - 2 * 300)
    expect(lostAt - t0).toBeLessThan(1_500 + 1_500)
  })

  it('keeps a silent peer that still answers pings, and loses it once pings fail', async () => {
    const a = await swarms.start({ name: 'a' })
    const b = await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    await waitFor('A to see B', () => peerNames(a).join() === 'b')
    // B goes silent but stays connected.
    node(b).services.pubsub.publish = async () => ({ recipients: [] })
    await new Promise(resolve => setTimeout(resolve, 1_500 + 1_000))
    expect(peerNames(a)).toEqual(['b'])
    expect(connectedTo(a, b)).toBe(true)
    // Now B stops answering pings (the connection stays open).
    await b.libp2p.unhandle(PING_PROTOCOL)
    await waitFor('A to lose B', () => a.peers().length === 0, 3_000)
    expect(connectedTo(a, b)).toBe(true)
  })

  it('keeps the peers of a swarm to that swarm', async () => {
    const a = await swarms.start({ name: 'a', swarm: { name: 'red' } })
    const b = await swarms.start({ name: 'b', swarm: { name: 'blue', bootstrap: a.addresses() } })
    const c = await swarms.start({ name: 'c', swarm: { name: 'red', bootstrap: a.addresses() } })
    await waitFor('A and C to meet', () => peerNames(a).join() === 'c' && peerNames(c).join() === 'a')
    await new Promise(resolve => setTimeout(resolve, 1_000))
    // B is connected to A (bootstrap) but on another topic: no one sees anyone across swarms.
    expect(connectedTo(b, a)).toBe(true)
    expect(peerNames(a)).toEqual(['c'])
    expect(b.peers()).toEqual([])
  })

  it('refuses connections and ignores presence of peers not on the allow list', async () => {
    const keyB = await generateKeyPair('Ed25519')
    const { logger, lines } = capturingLogger()
    const a = await swarms.start({ name: 'a', logger, swarm: { allow: [peerIdFromPrivateKey(keyB).toString()] } })
    const b = await swarms.start({ name: 'b', privateKey: keyB, swarm: { bootstrap: a.addresses() } })
    // C knows both; B (open to all) relays C's presence to A, which must ignore it.
    const c = await swarms.start({ name: 'c', swarm: { bootstrap: [...a.addresses(), ...b.addresses()] } })
    await waitFor('B to see A and C', () => peerNames(b).join() === 'a,c')
    await waitFor('A to see B', () => peerNames(a).join() === 'b')
    // A's gater refuses to dial C, and refuses C's connection once Noise shows who it is
    // (C's side may see it open for a moment before A closes it).
    await expect(a.libp2p.dial(multiaddr(c.addresses()[0]))).rejects.toThrow()
    await c.libp2p.dial(multiaddr(a.addresses()[0])).catch(() => {})
    await waitFor('C\'s connection to A to be closed', () => !connectedTo(c, a), 2_000)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    expect(peerNames(a)).toEqual(['b'])
    // C keeps redialling A (with back-off), so a refused connection may be seen
    // for the moment of its handshake; none may last.
    await waitFor('no lasting connection between A and C', () => !connectedTo(a, c) && !connectedTo(c, a), 2_000)
    // C itself has no allow list: it may know A through B's relay, but cannot reach it.
    expect(c.peers().find(p => p.name === 'a')?.connected ?? false).toBe(false)
    expect(lines.some(l => l.msg === 'presence from a peer not on the allow list ignored' && l.peer === c.peerId)).toBe(true)
  })

  it('drops a record that claims to be another peer and logs why', async () => {
    const keyC = await generateKeyPair('Ed25519')
    const { logger, lines } = capturingLogger()
    const a = await swarms.start({ name: 'a', logger })
    const b = await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    // Seeing B can come from presence sync, before gossipsub knows A subscribes.
    await waitFor('B to know A subscribes to presence', () => node(b).services.pubsub.getSubscribers(presenceTopic('unit')).some(p => p.toString() === a.peerId))
    const cId = peerIdFromPrivateKey(keyC).toString()
    // Correctly signed by C, but published by B.
    const forged = await encodePresence({
      peerId: cId, swarm: 'unit', instance: 'g-1', name: 'ghost', version: '1', sources: [], stack: 'webrtc', addresses: [], seq: Date.now(), ts: Date.now()
    }, keyC)
    await node(b).services.pubsub.publish(presenceTopic('unit'), forged)
    await waitFor('A to log the drop', () => lines.some(l => l.msg === 'invalid presence record dropped' && l.why === 'sender'), 3_000)
    expect(peerNames(a)).toEqual(['b'])
  })

  it('with a swarm key, only nodes holding the same key connect', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'swarm-key-'))
    try {
      const key = path.join(dir, 'swarm.key')
      const otherKey = path.join(dir, 'other.key')
      await fs.writeFile(key, generateSwarmKey())
      await fs.writeFile(otherKey, generateSwarmKey())
      const a = await swarms.start({ name: 'a', swarm: { key } })
      const b = await swarms.start({ name: 'b', swarm: { key, bootstrap: a.addresses() } })
      const open = await swarms.start({ name: 'open', swarm: { bootstrap: a.addresses() } })
      const other = await swarms.start({ name: 'other', swarm: { key: otherKey, bootstrap: a.addresses() } })
      await waitFor('A and B to meet', () => peerNames(a).join() === 'b' && peerNames(b).join() === 'a')
      // The handshake cannot complete (it would take ~50 ms if it could): bounded so the test stays short.
      const dial = async (s: Swarm): Promise<unknown> => await s.libp2p.dial(multiaddr(a.addresses()[0]), { signal: AbortSignal.timeout(1_500) })
      await Promise.all([expect(dial(open)).rejects.toThrow(), expect(dial(other)).rejects.toThrow()])
      expect(peerNames(a)).toEqual(['b'])
      expect(connectedTo(a, open) || connectedTo(a, other)).toBe(false)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a malformed swarm key file, naming it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'swarm-key-'))
    try {
      const key = path.join(dir, 'bad.key')
      await fs.writeFile(key, 'not a key\n')
      const err = await swarms.start({ name: 'a', swarm: { key } }).catch((e: Error) => e)
      expect(err).toMatchObject({ name: 'SwarmKeyError', file: key })
      expect((err as Error).message).toContain(key)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })

  it('fails to start on a taken port with an error naming the address, and rolls back', async () => {
    const a = await swarms.start({ name: 'a' })
    const taken = a.addresses()[0].replace(/\/p2p\/.*$/, '')
    const err = await swarms.start({ name: 'b', swarm: { listen: [taken] } }).catch((e: Error) => e)
    expect(err).toMatchObject({ name: 'SwarmListenError' })
    expect((err as Error).message).toContain(taken)
    const b = swarms.started[1]
    expect(b.addresses()).toEqual([])
    expect(() => b.libp2p).toThrow()
    await b.stop()
  })

  it('stops idempotently and can be stopped concurrently', async () => {
    const a = await swarms.start({ name: 'a' })
    const lib = a.libp2p
    await Promise.all([a.stop(), a.stop()])
    await a.stop()
    expect(lib.status).toBe('stopped')
    expect(a.addresses()).toEqual([])
    expect(a.peers()).toEqual([])
    await a.announce() // a no-op once stopped, never a rejection
  })
})
