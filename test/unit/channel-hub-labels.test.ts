import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { channelClient, ChannelHub, MAX_LABELS_PER_CLIENT, MAX_PEER_OPENED_LABELS } from '../../src/core/sessions/channel-hub.ts'
import type { ChannelConsumer } from '../../src/core/sessions/channel-endpoint.ts'
import { TooManyLabelsError } from '../../src/util/errors.ts'
import { FakeChannel, pairOf } from '../helpers/fake-channel.ts'

// Labels are bounded per client (a control-socket connection, a browser
// session) and per peer, and a label nobody used comes back once its last
// program leaves and its channel is gone: a flood of opens cannot keep them.

const log = pino({ level: 'silent' })
const A = 'peer-a'
const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }
const consumer = (got: string[] = []): ChannelConsumer => ({ deliver: data => { got.push(String(data)); return true }, backlog: () => 0, overflow: () => {} })

function nameOf (fn: () => unknown): string {
  try { fn() } catch (err) { return (err as Error).name }
  return 'no error'
}

describe('channel hub: labels per client and per peer, released when unused', () => {
  it('one client gets MAX_LABELS_PER_CLIENT new labels, then TooManyLabelsError; a label it has, or another client, still works', () => {
    const hub = new ChannelHub(log)
    const one = channelClient('one')
    for (let i = 0; i < MAX_LABELS_PER_CLIENT; i++) hub.endpoint(A, `l${i}`, one)
    expect(nameOf(() => hub.endpoint(A, 'more', one))).toBe('TooManyLabelsError')
    expect(() => hub.endpoint(A, 'more', one)).toThrow(TooManyLabelsError)
    expect(hub.endpoint(A, 'l3', one).label).toBe('l3')
    expect(hub.endpoint(A, 'more', channelClient('two')).label).toBe('more')
    expect(hub.labels(one)).toBe(MAX_LABELS_PER_CLIENT)
    expect(hub.labels(A)).toBe(MAX_LABELS_PER_CLIENT + 1)
    hub.close()
  })

  it('a label whose program left without a message and with no channel is released, and its client\'s count with it', () => {
    const hub = new ChannelHub(log)
    const client = channelClient('ws')
    const endpoint = hub.endpoint(A, 'flood', client)
    const detach = endpoint.addConsumer(consumer())
    expect(hub.labels(client)).toBe(1)
    detach()
    expect(hub.find(A, 'flood')).toBeUndefined()
    expect(hub.labels(client)).toBe(0)
    expect(hub.labels(A)).toBe(0)
    // A failed open: released by the caller.
    const failed = hub.endpoint(A, 'failed', client)
    expect(hub.releaseIfUnused(failed)).toBe(true)
    expect(hub.labels(A)).toBe(0)
  })

  it('a label that carried a message, or has an open channel, or a consumer, is kept', async () => {
    const hub = new ChannelHub(log)
    const used = hub.endpoint(A, 'used', channelClient('c'))
    const [far, near] = pairOf('used')
    hub.attach(A, near, 's1')
    const detach = used.addConsumer(consumer())
    expect(hub.releaseIfUnused(used)).toBe(false) // consumer and open channel
    far.send('hello')
    await tick()
    detach()
    near.close()
    expect(hub.find(A, 'used')).toBe(used)
    // An idle one with an open channel stays until the channel closes.
    const [, idleNear] = pairOf('idle')
    hub.attach(A, idleNear, 's1')
    expect(hub.find(A, 'idle')).toBeDefined()
    idleNear.close()
    expect(hub.find(A, 'idle')).toBeUndefined()
    hub.close()
  })

  it('the peer may open at most MAX_PEER_OPENED_LABELS labels; local programs keep the rest', () => {
    const hub = new ChannelHub(log)
    for (let i = 0; i < MAX_PEER_OPENED_LABELS; i++) hub.attach(A, new FakeChannel(`p${i}`), 's1')
    const extra = new FakeChannel('extra')
    hub.attach(A, extra, 's1')
    expect(extra.isClosed).toBe(true)
    expect(hub.find(A, 'extra')).toBeUndefined()
    expect(hub.endpoint(A, 'mine', channelClient('program')).label).toBe('mine')
    hub.close()
  })

  it('2,000 clients each opening a label and leaving: at most the peer\'s limit held at once, none after; an honest label stays', async () => {
    const hub = new ChannelHub(log)
    const got: string[] = []
    const honest = hub.endpoint(A, 'control', channelClient('honest'))
    honest.addConsumer(consumer(got))
    const [far, near] = pairOf('control')
    hub.attach(A, near, 's1')
    const detachers: Array<() => void> = []
    let refused = 0
    for (let i = 0; i < 2000; i++) {
      try {
        detachers.push(hub.endpoint(A, `r${i}`, channelClient(`ws ${i}`)).addConsumer(consumer()))
      } catch (err) {
        expect((err as Error).name).toBe('TooManyChannelsError')
        refused++
      }
    }
    expect(refused).toBe(2000 - 1023)
    for (const detach of detachers) detach()
    expect(hub.labels(A)).toBe(1)
    far.send('still here')
    await tick()
    expect(got).toEqual(['still here'])
    expect(hub.endpoint(A, 'new-after-flood', channelClient('later')).label).toBe('new-after-flood')
    hub.close()
  })
})
