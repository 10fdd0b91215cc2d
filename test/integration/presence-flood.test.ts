import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { presenceTopic } from '../../src/signalling/swarm-scope.ts'
import { startEdged, waitFor, type EdgedProcess } from '../helpers/edged-process.ts'
import { unixRequest } from '../helpers/unix-http.ts'

const rtc = { bindAddress: '127.0.0.1' }
let a: EdgedProcess, b: EdgedProcess
let flooder: Libp2p<{ identify: unknown, pubsub: GossipSub }>
let target: string

beforeAll(async () => {
  a = await startEdged({ name: 'alpha', config: { rtc } })
  target = (await unixRequest(a.socket, 'GET', '/v1/status')).body.addresses[0] as string
  b = await startEdged({ name: 'bravo', config: { rtc, swarm: { bootstrap: [target] } } })
  await waitFor('A and B connected', async () => (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.some((s: any) => s.state === 'connected'))
  flooder = await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }) }
  })
})
afterAll(async () => {
  await flooder?.stop()
  await Promise.all([a, b].map(async d => { await d?.cleanup() }))
})

describe('a peer flooding the presence topic', () => {
  it('is graylisted, hung up on and refused; the swarm carries on', async () => {
    const topic = presenceTopic('test')
    flooder.services.pubsub.subscribe(topic)
    await flooder.dial(multiaddr(target))
    await waitFor('alpha among the flooder\'s topic peers', () => flooder.services.pubsub.getSubscribers(topic).some(p => p.toString() === a.peerId), 10_000, 50)

    const garbage = new TextEncoder().encode('{"not":"a presence record"}')
    let sent = 0
    const deadline = Date.now() + 10_000
    while (flooder.getConnections().length > 0 && Date.now() < deadline) {
      await Promise.allSettled(Array.from({ length: 20 }, async (_, i) => await flooder.services.pubsub.publish(topic, new Uint8Array([...garbage, sent + i]))))
      sent += 20
      await new Promise(resolve => setTimeout(resolve, 20))
    }
    console.log(`hung up on after ${sent} messages`)
    expect(flooder.getConnections(), `still connected after ${sent} messages`).toHaveLength(0)
    expect(a.output()).toContain('peer flooded the swarm with invalid messages')

    // Refused for a while: the gater turns a new connection down.
    const again = await flooder.dial(multiaddr(target), { signal: AbortSignal.timeout(5_000) }).then(() => 'connected', (err: Error) => err.name)
    if (again === 'connected') {
      await waitFor('alpha hangs up at once', () => flooder.getConnections().length === 0, 3_000, 50)
    }

    // The honest members never noticed.
    expect(a.proc.exitCode).toBeNull()
    const peers = (await unixRequest(a.socket, 'GET', '/v1/peers')).body.peers
    expect(peers.map((p: any) => p.peerId)).toEqual([b.peerId])
    const session = (await unixRequest(a.socket, 'GET', '/v1/sessions')).body.sessions.find((s: any) => s.peer === b.peerId)
    expect(session?.state).toBe('connected')
    const seen = peers[0].lastSeen
    await waitFor('a fresh record from bravo', async () => (await unixRequest(a.socket, 'GET', '/v1/peers')).body.peers[0]?.lastSeen !== seen, 5_000)
  }, 40_000)
})
