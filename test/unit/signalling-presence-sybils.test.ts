import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterEach, describe, expect, it } from 'vitest'
import { encodePresence } from '../../src/signalling/presence-codec.ts'
import { encodeSyncRecord } from '../../src/signalling/presence-sync-messages.ts'
import { NEW_AUTHORS_BURST, NEW_AUTHORS_PER_MINUTE } from '../../src/signalling/swarm.ts'
import type { Swarm } from '../../src/signalling/types.ts'
import { answerSyncWith, TestSwarms, unitRecord, waitFor } from './signalling-test-swarm.ts'

const swarms = new TestSwarms()
afterEach(async () => { await swarms.stopAll() })

const QUIET = { announceIntervalMs: 60_000, peerExpiryMs: 120_000 }
const SYBILS = NEW_AUTHORS_BURST + 72
const idOf = (key: PrivateKey): string => peerIdFromPrivateKey(key).toString()

const record = unitRecord

/** A sync answer: `evil`'s own record first, then one record of each fresh key (the first named like `copied`). */
async function sybilAnswer (evilKey: PrivateKey, evil: Swarm, copied: string): Promise<Uint8Array[]> {
  const frames = [encodeSyncRecord({ envelope: await encodePresence(record(evilKey, { name: 'evil', addresses: evil.addresses() }), evilKey), ageMs: 0 })]
  for (let i = 0; i < SYBILS; i++) {
    const key = await generateKeyPair('Ed25519')
    frames.push(encodeSyncRecord({ envelope: await encodePresence(record(key, { name: i === 0 ? copied : `sybil-${i}`, every: 24 * 3_600_000 }), key), ageMs: 0 }))
  }
  return frames
}

const answerWith = answerSyncWith

describe('presence against sybils', () => {
  it('one peer brings at most its burst of new authors; a copied name shows the peer id', { timeout: 30_000 }, async () => {
    const honest = await swarms.start({ name: 'honest', swarm: QUIET })
    const evilKey = await generateKeyPair('Ed25519')
    const evil = await swarms.start({ name: 'evil', privateKey: evilKey, swarm: QUIET })
    await answerWith(evil, await sybilAnswer(evilKey, evil, 'honest'))

    const t0 = Date.now()
    const victim = await swarms.start({ name: 'victim', swarm: { ...QUIET, bootstrap: evil.addresses() } })
    await waitFor('the victim to hear of the sybils', () => victim.peers().length >= NEW_AUTHORS_BURST, 15_000)
    // The copy came first, relayed; the honest peer, connected, takes its name back.
    await victim.libp2p.dial(honest.libp2p.getMultiaddrs()[0])
    await waitFor('the victim to list the honest peer', () => victim.peer(honest.peerId) !== undefined, 10_000)
    await new Promise(resolve => setTimeout(resolve, 500))
    const peers = victim.peers()
    const sybils = peers.filter(p => p.peerId !== honest.peerId && p.peerId !== evil.peerId)
    // The evil peer's own record is no new author of its own; the rest come out of its budget,
    // which refills while the test runs.
    const refilled = Math.ceil((Date.now() - t0) / 1000 * NEW_AUTHORS_PER_MINUTE / 60)
    expect(sybils.length).toBeLessThanOrEqual(NEW_AUTHORS_BURST + refilled)
    expect(sybils.length).toBeLessThan(SYBILS)
    expect(sybils.length).toBeGreaterThan(NEW_AUTHORS_BURST / 2)
    expect(victim.peer(honest.peerId)?.name).toBe('honest')
    const copy = sybils.find(p => p.name.startsWith('honest'))
    expect(copy?.name).toBe(`honest (${copy?.peerId.slice(-8)})`)
    expect(peers.filter(p => p.name === 'honest').map(p => p.peerId)).toEqual([honest.peerId])
  })

  it('a full table keeps the peers it is connected to: relayed sybils only take the place of each other', { timeout: 30_000 }, async () => {
    const honest = await swarms.start({ name: 'honest', swarm: QUIET })
    const evilKey = await generateKeyPair('Ed25519')
    const evil = await swarms.start({ name: 'evil', privateKey: evilKey, swarm: QUIET })
    await answerWith(evil, await sybilAnswer(evilKey, evil, 'sybil-0'))

    const maxPeers = 20
    const victim = await swarms.start({ name: 'victim', swarm: { ...QUIET, maxPeers, bootstrap: honest.addresses() } })
    await waitFor('the victim to list the honest peer', () => victim.peer(honest.peerId) !== undefined, 10_000)
    await victim.libp2p.dial(evil.libp2p.getMultiaddrs()[0])
    await waitFor('the victim to take the sybils', () => victim.peers().length === maxPeers, 15_000)
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(victim.peers().length).toBe(maxPeers)
    expect(victim.peer(honest.peerId)).toMatchObject({ name: 'honest', connected: true })
    expect(victim.peer(evil.peerId)).toMatchObject({ connected: true })
  })
})
