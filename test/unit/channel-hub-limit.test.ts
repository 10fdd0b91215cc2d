import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { ChannelHub, EDGE_CHANNEL, MAX_CHANNELS_PER_PEER } from '../../src/core/sessions/channel-hub.ts'
import { TooManyChannelsError } from '../../src/util/errors.ts'
import { FakeChannel, pairOf } from '../helpers/fake-channel.ts'

// An endpoint lives as long as its peer: the hub bounds how many labels one
// peer may have, whoever asks for a new one (a local program, the peer
// opening a channel, a resume on `_edge`), and the others carry on.

const log = pino({ level: 'silent' })
const A = 'peer-a'
const B = 'peer-b'

function fill (hub: ChannelHub, peer: string): void {
  for (let i = 0; i < MAX_CHANNELS_PER_PEER; i++) hub.endpoint(peer, `l${i}`)
}

describe('channel hub: at most MAX_CHANNELS_PER_PEER labels a peer', () => {
  it('a local request for one more is a TooManyChannelsError naming the peer; known labels and other peers still work', () => {
    const hub = new ChannelHub(log)
    fill(hub, A)
    expect(() => hub.endpoint(A, 'one-more')).toThrow(TooManyChannelsError)
    expect(() => hub.endpoint(A, 'one-more')).toThrow(new RegExp(`${A} has ${MAX_CHANNELS_PER_PEER} channels`))
    expect(hub.endpoint(A, 'l7')).toBe(hub.find(A, 'l7'))
    expect(hub.endpoint(B, 'one-more').label).toBe('one-more')
    hub.close()
  })

  it('a channel the peer opens beyond it is closed; the peer\'s earlier channels stay attached', async () => {
    const hub = new ChannelHub(log)
    fill(hub, A)
    const got: string[] = []
    hub.endpoint(A, 'l0').addConsumer({ deliver: data => { got.push(String(data)); return true }, backlog: () => 0, overflow: () => {} })
    const [far, near] = pairOf('l0')
    hub.attach(A, near, 's1')
    const extra = new FakeChannel('extra')
    hub.attach(A, extra, 's1')
    expect(extra.isClosed).toBe(true)
    expect(hub.find(A, 'extra')).toBeUndefined()
    far.send('still here')
    await new Promise(resolve => setImmediate(resolve))
    expect(got).toEqual(['still here'])
    hub.close()
  })

  it('a resume for a new label beyond it is ignored, and dropping the peer frees its labels', async () => {
    const hub = new ChannelHub(log)
    fill(hub, A)
    const [far, near] = pairOf(EDGE_CHANNEL)
    hub.attach(A, near, 's1')
    far.send(JSON.stringify({ t: 'resume', label: 'unseen', session: null, received: 0 }))
    await new Promise(resolve => setImmediate(resolve))
    expect(hub.find(A, 'unseen')).toBeUndefined()
    hub.dropPeer(A)
    expect(hub.endpoint(A, 'unseen').label).toBe('unseen')
    hub.close()
  })
})
