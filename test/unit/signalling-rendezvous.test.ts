import type { PeerInfo as Libp2pPeerInfo } from '@libp2p/interface'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { SwarmNode } from '../../src/signalling/libp2p-node.ts'
import { Rendezvous } from '../../src/signalling/rendezvous.ts'
import { kadProtocol, mdnsServiceTag, presenceTopic, rendezvousCid } from '../../src/signalling/swarm-scope.ts'
import { TestSwarms, waitFor } from './signalling-test-swarm.ts'

const swarms = new TestSwarms()
const rendezvous: Rendezvous[] = []
afterEach(async () => {
  await Promise.all(rendezvous.splice(0).map(async r => { await r.stop() }))
  await swarms.stopAll()
})

describe('swarm scope', () => {
  it('derives every swarm-scoped name from the swarm name, differently per swarm', async () => {
    expect(presenceTopic('red')).toBe('/edge-stack/red/presence/1')
    expect(kadProtocol('red')).toBe('/edge-stack/red/kad/1.0.0')
    const tag = mdnsServiceTag('a'.repeat(64))
    expect(tag).toMatch(/^_edge-stack-[0-9a-f]{16}\._udp\.local$/)
    expect(tag.split('.')[0].length).toBeLessThanOrEqual(63)
    expect(mdnsServiceTag('red')).not.toBe(mdnsServiceTag('blue'))
    expect((await rendezvousCid('red')).toString()).toBe((await rendezvousCid('red')).toString())
    expect((await rendezvousCid('red')).toString()).not.toBe((await rendezvousCid('blue')).toString())
  })
})

describe('DHT rendezvous', () => {
  it('finds, through A alone, a node that provides the swarm key, with its loopback address', async () => {
    const a = await swarms.start({ name: 'a' })
    const b = await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    const c = await swarms.start({ name: 'c', swarm: { bootstrap: a.addresses() } })
    const found = new Map<string, Libp2pPeerInfo>()
    const node = c.libp2p as SwarmNode
    const r = new Rendezvous({
      dht: node.services.dht!,
      cid: await rendezvousCid('unit'),
      intervalMs: 200,
      queryTimeoutMs: 2_000,
      connectedPeers: () => node.getPeers().length,
      onProvider: (peer) => { found.set(peer.id.toString(), peer) },
      log: pino({ level: 'silent' })
    })
    rendezvous.push(r)
    r.start()
    await waitFor('C\'s rendezvous to find B', () => found.has(b.peerId), 8_000)
    const bPort = b.addresses()[0].split('/')[4]
    expect(found.get(b.peerId)?.multiaddrs.map(m => m.toString())).toContain(`/ip4/127.0.0.1/tcp/${bPort}`)
  })

  it('a swarm of another name does not find the providers of this one', async () => {
    const a = await swarms.start({ name: 'a' })
    await swarms.start({ name: 'b', swarm: { bootstrap: a.addresses() } })
    const other = await swarms.start({ name: 'x', swarm: { name: 'other', bootstrap: a.addresses() } })
    const found: string[] = []
    const node = other.libp2p as SwarmNode
    const r = new Rendezvous({
      dht: node.services.dht!,
      cid: await rendezvousCid('unit'),
      intervalMs: 200,
      queryTimeoutMs: 1_000,
      connectedPeers: () => node.getPeers().length,
      onProvider: (peer) => { if (peer.id.toString() !== other.peerId) found.push(peer.id.toString()) },
      log: pino({ level: 'silent' })
    })
    rendezvous.push(r)
    r.start()
    // Its kad protocol is /edge-stack/other/kad/1.0.0: A and B do not speak it,
    // so only its own (local) provider record of the key can turn up.
    await new Promise(resolve => setTimeout(resolve, 1_500))
    expect(found).toEqual([])
  })
})
