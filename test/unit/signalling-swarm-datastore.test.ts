import { Key } from 'interface-datastore'
import { base32 } from 'multiformats/bases/base32'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { SwarmDatastore } from '../../src/signalling/swarm-datastore.ts'

const cidOf = async (text: string): Promise<CID> => CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(text)))
const providerKey = (cid: CID, peer: string): Key => new Key(`/dht/provider/${base32.baseEncode(cid.multihash.bytes)}/${peer}`)
const value = new Uint8Array([1])

describe('swarm datastore', () => {
  it('keeps provider records of the rendezvous key only, up to its cap', async () => {
    const rendezvous = await cidOf('rendezvous')
    const store = new SwarmDatastore({ rendezvous, maxRendezvousProviders: 2 })
    await store.put(providerKey(await cidOf('junk'), 'p1'), value)
    for (const peer of ['p1', 'p2', 'p3']) await store.put(providerKey(rendezvous, peer), value)
    expect(store.count('/dht/provider/')).toBe(2)
    expect(await store.has(providerKey(rendezvous, 'p3'))).toBe(false)
    // A provider that goes makes room for another.
    await store.delete(providerKey(rendezvous, 'p1'))
    await store.put(providerKey(rendezvous, 'p3'), value)
    expect(await store.has(providerKey(rendezvous, 'p3'))).toBe(true)
  })

  it('holds maxEntries keys: new ones past it are dropped, known ones still updated', async () => {
    const store = new SwarmDatastore({ rendezvous: await cidOf('r'), maxEntries: 2 })
    await store.put(new Key('/peers/a'), value)
    await store.put(new Key('/peers/b'), value)
    await store.put(new Key('/peers/c'), value)
    expect(store.size).toBe(2)
    await store.put(new Key('/peers/a'), new Uint8Array([2]))
    expect(await store.get(new Key('/peers/a'))).toEqual(new Uint8Array([2]))
  })
})
