import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { encodePresence } from '../../src/signalling/presence-codec.ts'
import { decodeSyncRecord, encodeSyncRecord, encodeSyncRequest } from '../../src/signalling/presence-sync-messages.ts'
import { presenceSyncProtocol } from '../../src/signalling/swarm-scope.ts'
import type { PresenceRecord } from '../../src/signalling/types.ts'
import { capturingLogger, peerNames, TestSwarms, waitFor } from './signalling-test-swarm.ts'

const swarms = new TestSwarms()
afterEach(async () => { await swarms.stopAll() })

/** No periodic repeat within a test: what arrives, arrives by events or by sync. */
const QUIET = { announceIntervalMs: 60_000, peerExpiryMs: 120_000 }
const PROTOCOL = presenceSyncProtocol('unit')
const idOf = (key: PrivateKey): string => peerIdFromPrivateKey(key).toString()

function record (key: PrivateKey, over: Partial<PresenceRecord> = {}): PresenceRecord {
  const peerId = idOf(key)
  return {
    peerId, swarm: 'unit', instance: 'x-1', name: 'x', version: '1', sources: [], stack: 'webrtc',
    addresses: [`/ip4/127.0.0.1/tcp/9/p2p/${peerId}`], seq: Date.now(), ts: Date.now(), ...over
  }
}

describe('presence sync', () => {
  it('a newcomer hears the peers that will not greet it from its first peer, without waiting for their repeat', { timeout: 30_000 }, async () => {
    const [ka, kb, kc] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const a = await swarms.start({ name: 'a', privateKey: ka, swarm: QUIET })
    // B and C refuse the newcomer: they never greet it, and its record does not reach them.
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
    expect(d.peer(b.peerId)).toMatchObject({ name: 'b', connected: false })
    expect(d.peer(b.peerId)?.addresses).toEqual(b.addresses())
  })

  it('drops forged, foreign and malformed records of an answer with a warning, and takes the good ones', async () => {
    const evil = await swarms.start({ name: 'evil', swarm: QUIET })
    const [kx, ky] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const frames = [
      // X's record, signed by Y.
      encodeSyncRecord({ envelope: await encodePresence(record(kx, { name: 'forged' }), ky), ageMs: 0 }),
      encodeSyncRecord({ envelope: await encodePresence(record(ky, { name: 'foreign', swarm: 'other' }), ky), ageMs: 0 }),
      encodeSyncRecord({ envelope: new TextEncoder().encode('{"v":1'), ageMs: 0 }),
      // Heard too long ago to count.
      encodeSyncRecord({ envelope: await encodePresence(record(ky, { name: 'old' }), ky), ageMs: 10 * QUIET.peerExpiryMs }),
      encodeSyncRecord({ envelope: await encodePresence(record(kx, { name: 'x' }), kx), ageMs: 500 })
    ]
    const evilNode = evil.libp2p
    await evilNode.unhandle(PROTOCOL)
    await evilNode.handle(PROTOCOL, async (stream) => {
      const lp = lpStream(stream)
      await lp.read()
      for (const frame of frames) await lp.write(frame)
      await stream.close()
    })

    const { logger, lines } = capturingLogger()
    const good = await swarms.start({ name: 'good', logger, swarm: { ...QUIET, bootstrap: evil.addresses() } })
    await waitFor('good to list X from the answer', () => good.peer(idOf(kx)) !== undefined, 10_000)
    expect(good.peer(idOf(kx))).toMatchObject({ name: 'x', connected: false })
    expect(good.peer(idOf(ky))).toBeUndefined()
    const dropped = lines.filter(l => l.msg === 'invalid presence record in a sync answer dropped')
    expect(dropped.map(l => l.why).sort()).toEqual(['json', 'signature', 'swarm'])
    expect(dropped.every(l => l.peer === evil.peerId)).toBe(true)
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
    expect(JSON.parse(JSON.parse(new TextDecoder().decode(first.envelope)).record)).toMatchObject({ peerId: target.peerId, name: 'target' })
  })
})
