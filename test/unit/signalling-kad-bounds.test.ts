import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_MAX_ADDRESSES_PER_PEER } from '../../src/signalling/address-budget.ts'
import { createSwarmNode, startSwarmNode, type SwarmNode } from '../../src/signalling/libp2p-node.ts'
import { MAX_KAD_STREAM_BYTES } from '../../src/signalling/kad-stream-guard.ts'
import type { SwarmDatastore } from '../../src/signalling/swarm-datastore.ts'
import { kadProtocol, rendezvousCid } from '../../src/signalling/swarm-scope.ts'
import { addProvider, lengthPrefix, putValue } from '../helpers/kad-wire.ts'

const SWARM = 'unit'
let victim: SwarmNode
let attacker: Libp2p
const datastore = (): SwarmDatastore => (victim as unknown as { components: { datastore: SwarmDatastore } }).components.datastore

beforeAll(async () => {
  victim = await createSwarmNode({
    swarmName: SWARM, privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], announce: [], bootstrap: [],
    mdns: false, dht: true, relay: false, rendezvous: await rendezvousCid(SWARM)
  })
  await startSwarmNode(victim, { dht: true, swarmName: SWARM })
  attacker = await createLibp2p({ addresses: { listen: [] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
})
afterAll(async () => {
  await attacker?.stop()
  await victim?.stop()
})

async function kadStream (): Promise<Stream> {
  return await attacker.dialProtocol(multiaddr(victim.getMultiaddrs()[0]), kadProtocol(SWARM))
}

/** Resolves with the error the stream ended with (undefined: a clean end), or 'open' after `ms`. */
async function ending (stream: Stream, ms: number): Promise<Error | undefined | 'open'> {
  return await new Promise(resolve => {
    const timer = setTimeout(() => { resolve('open') }, ms)
    stream.addEventListener('close', (evt) => { clearTimeout(timer); resolve((evt as Event & { error?: Error }).error) }, { once: true })
  })
}

const providerKeys = (): number => datastore().count('/dht/provider/')

describe('kad-dht bounds', () => {
  it(`resets a stream that claims a huge message once more than ${MAX_KAD_STREAM_BYTES} bytes arrived`, async () => {
    const stream = await kadStream()
    const ended = ending(stream, 5_000)
    stream.send(lengthPrefix(4 * 1024 * 1024 - 1))
    for (let i = 0; i < 4; i++) stream.send(new Uint8Array(32 * 1024))
    const result = await ended
    expect(result).not.toBe('open')
    expect(result).toBeInstanceOf(Error)
  })

  it('does not reset a stream of ordinary size', async () => {
    const stream = await kadStream()
    const ended = ending(stream, 1_000)
    stream.send(lengthPrefix(4096))
    stream.send(new Uint8Array(2048))
    expect(await ended).toBe('open')
    stream.abort(new Error('done'))
  })

  it('stores no /pk/ record for others', async () => {
    const key = await generateKeyPair('Ed25519')
    const before = datastore().size
    const stream = await kadStream()
    const ended = ending(stream, 5_000)
    const lp = lpStream(stream)
    await lp.write(putValue(new TextEncoder().encode('/pk/whatever'), publicKeyToProtobuf(key.publicKey)))
    expect(await ended).toBeInstanceOf(Error)
    expect(datastore().size).toBe(before)
  })

  it('stores providers of the rendezvous key only, and no more addresses per provider than the budget', async () => {
    const junk = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('junk')))
    const rendezvous = await rendezvousCid(SWARM)
    const self = attacker.peerId.toMultihash().bytes
    const addrs = Array.from({ length: 2_000 }, (_, i) => multiaddr(`/ip4/127.${(i >> 8) & 255}.${i & 255}.1/tcp/9`).bytes)
    const before = providerKeys()
    for (const cid of [junk, rendezvous]) {
      const stream = await kadStream()
      await lpStream(stream).write(addProvider(cid.multihash.bytes, self, cid === junk ? addrs.slice(0, 2) : addrs.slice(0, 200)))
      await stream.close()
    }
    await new Promise(resolve => setTimeout(resolve, 500))
    expect(providerKeys()).toBe(before + 1)
    const stored = await victim.peerStore.get(attacker.peerId)
    expect(stored.addresses.length).toBeLessThanOrEqual(DEFAULT_MAX_ADDRESSES_PER_PEER)
  })
})
