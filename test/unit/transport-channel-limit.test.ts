import { afterEach, describe, expect, it } from 'vitest'
import type { Channel } from '../../src/transport/types.ts'
import { MAX_OPENING_CHANNELS } from '../../src/transport/peer-session.ts'
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
    // At most MAX_OPENING_CHANNELS opening at once: the 65th of a burst is refused, and says so.
    let burst: Error | undefined
    while (burst === undefined) {
      try { opened.push(p.offerer.openChannel(`c${opened.length}`)) } catch (err) { burst = err as Error }
    }
    expect(burst.name).toBe('ChannelOpenError')
    expect(burst.message).toMatch(/channels are opening already/)
    expect(opened.length).toBeGreaterThan(MAX_OPENING_CHANNELS - 2)
    expect(opened.length).toBeLessThan(4 * MAX_OPENING_CHANNELS) // (some may open while the burst is made)
    // In batches that open, until libdatachannel has no stream left.
    while (refused === undefined && opened.length < 1100) {
      await openChannel(p.answerer, opened[opened.length - 1].label)
      await new Promise(resolve => setTimeout(resolve, 20))
      for (let i = 0; i < 32 && refused === undefined; i++) {
        try {
          opened.push(p.offerer.openChannel(`c${opened.length}`))
        } catch (err) {
          if (/opening already/.test((err as Error).message)) break
          refused = err as Error
        }
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
