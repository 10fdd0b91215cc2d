import { afterEach, describe, expect, it } from 'vitest'
import type { Channel } from '../../src/transport/types.ts'
import { createPair, openChannel, waitForState, type Pair } from './transport-helpers.ts'

// libdatachannel has about 512 SCTP streams a side ("Too many DataChannels").
// A channel it refuses is a ChannelOpenError (or, created later, a channel
// that closes with its failure), and its label is free again in the session.

const pairs: Pair[] = []
afterEach(() => { for (const p of pairs.splice(0)) p.close() })

describe('transport: a data channel libdatachannel refuses', () => {
  it('is a ChannelOpenError once the streams run out, leaves no channel behind, and the session carries on', async () => {
    const p = createPair({ channels: {} })
    pairs.push(p)
    await Promise.all([waitForState(p.offerer, 'connected'), waitForState(p.answerer, 'connected')])
    // Until SCTP is up libdatachannel does not know its stream count: wait for a channel to open.
    p.offerer.openChannel('first')
    await openChannel(p.answerer, 'first')
    const opened: Channel[] = []
    let refused: Error | undefined
    for (let i = 0; i < 1100 && refused === undefined; i++) {
      try {
        opened.push(p.offerer.openChannel(`c${i}`))
      } catch (err) {
        refused = err as Error
      }
    }
    expect(refused?.name).toBe('ChannelOpenError')
    expect(refused?.message).toMatch(/Too many DataChannels/)
    expect(opened.length).toBeGreaterThan(400)
    const label = `c${opened.length}`
    expect(p.offerer.channel(label)).toBeUndefined()
    // The next one is refused without asking libdatachannel again.
    expect(() => p.offerer.openChannel('one-more')).toThrow(/Too many DataChannels/)
    // The ones created still open and carry messages.
    const far = await openChannel(p.answerer, 'c0')
    const got = new Promise(resolve => { far.once('message', resolve) })
    await opened[0].write('still works')
    expect(await got).toBe('still works')
  }, 30_000)
})
