import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { encodePresence } from '../../src/signalling/presence-codec.ts'
import { decodeSyncRecord, encodeSyncRecord, encodeSyncRequest } from '../../src/signalling/presence-sync-messages.ts'
import { createSwarmNode } from '../../src/signalling/libp2p-node.ts'
import { presenceSyncProtocol, presenceTopic, rendezvousCid } from '../../src/signalling/swarm-scope.ts'
import { answerSyncWith, capturingLogger, peerNames, TestSwarms, unitRecord, waitFor } from './signalling-test-swarm.ts'

const swarms = new TestSwarms()
afterEach(async () => { await swarms.stopAll() })

/** No periodic repeat within a test: what arrives, arrives by events or by sync. */
const QUIET = { announceIntervalMs: 60_000, peerExpiryMs: 120_000 }
const PROTOCOL = presenceSyncProtocol('unit')
const idOf = (key: PrivateKey): string => peerIdFromPrivateKey(key).toString()

const record = unitRecord

describe('presence sync', () => {
  it('a newcomer hears peers that never heard of it from its first peer, without waiting for their repeat', { timeout: 30_000 }, async () => {
    const [ka, kb, kc] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const a = await swarms.start({ name: 'a', privateKey: ka, swarm: QUIET })
    // B and C refuse the newcomer: they publish nothing for it, and its record does not reach them.
    const b = await swarms.start({ name: 'b', privateKey: kb, swarm: { ...QUIET, bootstrap: a.addresses(), allow: [idOf(ka), idOf(kc)] } })
    const c = await swarms.start({ name: 'c', privateKey: kc, swarm: { ...QUIET, bootstrap: a.addresses(), allow: [idOf(ka), idOf(kb)] } })
    await waitFor('A, B and C to see each other', () =>
      peerNames(a).join() === 'b,c' && peerNames(b).join() === 'a,c' && peerNames(c).join() === 'a,b', 10_000)
    // Until gossipsub's message cache (5 heartbeats of 1 s) forgets them, A would
    // offer B's and C's last records to D as gossip (IHAVE).
    await new Promise(resolve => setTimeout(resolve, 6_000))

    const d = await swarms.start({ name: 'd', swarm: { ...QUIET, bootstrap: a.addresses() } })
    // Without sync B and C would reach D only at their next repeat, 60 s away.
    await waitFor('D to list A, B and C', () => peerNames(d).join() === 'a,b,c', 10_000)
    // D dials B from that record; B's gater refuses D once Noise is done, and D
    // may count the connection for the moment before B's close reaches it.
    await waitFor('D not connected to B', () => d.peer(b.peerId)?.connected === false, 5_000)
    expect(d.peer(b.peerId)).toMatchObject({ name: 'b', connected: false })
    expect(d.peer(b.peerId)?.addresses).toEqual(b.addresses())
  })

  const answerWith = answerSyncWith


  it('takes the good records of an answer, skips stale ones, and drops the answer at its first invalid record with one warning', async () => {
    const evil = await swarms.start({ name: 'evil', swarm: QUIET })
    const [kx, ky, kz, kw] = await Promise.all([0, 1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
    const hourAgo = Date.now() - 3_600_000
    await answerWith(evil, [
      encodeSyncRecord({ envelope: await encodePresence(record(kx, { name: 'x' }), kx), ageMs: 500 }),
      // Heard too long ago to count; signed an hour ago and passed off as fresh (a replay).
      encodeSyncRecord({ envelope: await encodePresence(record(ky, { name: 'old' }), ky), ageMs: 10 * QUIET.peerExpiryMs }),
      encodeSyncRecord({ envelope: await encodePresence(record(kz, { name: 'replayed', ts: hourAgo, seq: hourAgo }), kz), ageMs: 0 }),
      // Y's record, signed by W: the answer ends here.
      encodeSyncRecord({ envelope: await encodePresence(record(ky, { name: 'forged' }), kw), ageMs: 0 }),
      encodeSyncRecord({ envelope: await encodePresence(record(kw, { name: 'after' }), kw), ageMs: 0 })
    ])

    const { logger, lines } = capturingLogger()
    const good = await swarms.start({ name: 'good', logger, swarm: { ...QUIET, bootstrap: evil.addresses() } })
    await waitFor('good to list X from the answer', () => good.peer(idOf(kx)) !== undefined, 10_000)
    await waitFor('the bad record to be logged', () => lines.some(l => l.msg.startsWith('invalid presence record in a sync answer')), 5_000)
    expect(good.peer(idOf(kx))).toMatchObject({ name: 'x', connected: false })
    for (const key of [ky, kz, kw]) expect(good.peer(idOf(key))).toBeUndefined()
    const dropped = lines.filter(l => l.msg.startsWith('invalid presence record in a sync answer'))
    expect(dropped).toMatchObject([{ level: 40, why: 'signature', peer: evil.peerId }])
  })

  it('lets gossip carry on a record that presence sync brought first', { timeout: 30_000 }, async () => {
    // B between N and C: C is connected to B alone and asked B before N existed, so
    // the only way N's record can reach C is gossip forwarded by B.
    const b = await swarms.start({ name: 'b', swarm: QUIET })
    const c = await swarms.start({ name: 'c', swarm: { ...QUIET, bootstrap: b.addresses(), overlayPeers: 1 } })
    await waitFor('B and C to see each other', () => peerNames(b).join() === 'c' && peerNames(c).join() === 'b', 10_000)

    // N: a bare node of the swarm that publishes one record, by sync and then by gossip.
    const key = await generateKeyPair('Ed25519')
    const n = await createSwarmNode({ swarmName: 'unit', privateKey: key, listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [], mdns: false, dht: false, relay: false, rendezvous: await rendezvousCid('unit') })
    await n.start()
    try {
      const envelope = await encodePresence(record(key, { name: 'n', addresses: n.getMultiaddrs().map(a => a.toString()) }), key)
      await n.handle(PROTOCOL, async (stream) => {
        const lp = lpStream(stream)
        await lp.read()
        await lp.write(encodeSyncRecord({ envelope, ageMs: 0 }))
        await stream.close()
      })
      n.services.pubsub.subscribe(presenceTopic('unit'))
      await n.dial(multiaddr(b.addresses()[0]))
      await waitFor('B to list N (by sync)', () => b.peer(idOf(key)) !== undefined, 10_000)
      await waitFor('N to know B subscribes', () => n.services.pubsub.getSubscribers(presenceTopic('unit')).some(p => p.toString() === b.peerId), 10_000)
      await n.services.pubsub.publish(presenceTopic('unit'), envelope)
      await waitFor('C to list N (by gossip through B)', () => c.peer(idOf(key)) !== undefined, 5_000)
      expect(c.libp2p.getConnections(peerIdFromPrivateKey(key)).length).toBe(0)
    } finally {
      await n.stop()
    }
  })

  it('refuses a malformed request with a warning naming it, and answers the next one', async () => {
    const { logger, lines } = capturingLogger()
    const target = await swarms.start({ name: 'target', logger, swarm: QUIET })
    const asker = await swarms.start({ name: 'asker', swarm: QUIET })
    const peer = multiaddr(target.addresses()[0])

    const bad = await asker.libp2p.dialProtocol(peer, PROTOCOL)
    await lpStream(bad).write(new TextEncoder().encode('{"v":1,"have":[1]}'))
    await waitFor('the refusal to be logged', () => lines.some(l => l.msg === 'presence sync request refused'), 5_000)
    expect(lines.find(l => l.msg === 'presence sync request refused')).toMatchObject({ level: 40, peer: asker.peerId, err: expect.stringMatching(/have/) })

    const good = await asker.libp2p.dialProtocol(peer, PROTOCOL)
    const lp = lpStream(good)
    await lp.write(encodeSyncRequest(new Map()))
    const first = decodeSyncRecord((await lp.read()).subarray())
    await good.close()
    expect(JSON.parse(JSON.parse(new TextDecoder().decode(first.envelope)).record)).toMatchObject({ peerId: target.peerId, name: 'target' })

    // Asking again and again (an amplifier: the answer is larger than the request) is refused.
    const answered = async (): Promise<boolean> => {
      try {
        const stream = await asker.libp2p.dialProtocol(peer, PROTOCOL)
        const l = lpStream(stream)
        await l.write(encodeSyncRequest(new Map()))
        await l.read()
        // Done with it: a connection may hold only two sync streams open.
        await stream.close()
        return true
      } catch {
        return false
      }
    }
    const results = []
    for (let i = 0; i < 6; i++) results.push(await answered())
    expect(results.slice(-2)).toEqual([false, false])
    await waitFor('the refusals to be logged', () => lines.some(l => l.msg === 'presence sync over the answer rate refused'), 5_000)
  })
})
