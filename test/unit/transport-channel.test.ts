import { afterEach, describe, expect, it } from 'vitest'
import type { Channel, ChannelLimits, ChannelOptions } from '../../src/transport/types.ts'
import { createPair, openChannel, waitFor, type Pair } from './transport-helpers.ts'

const pairs: Pair[] = []
afterEach(() => {
  for (const pair of pairs.splice(0)) pair.close()
})

async function connected (channels: Record<string, ChannelOptions>, label: string, limits: Partial<ChannelLimits> = {}): Promise<{ pair: Pair, local: Channel, remote: Channel }> {
  const pair = createPair({ channels, channelLimits: limits })
  pairs.push(pair)
  const [local, remote] = await Promise.all([openChannel(pair.offerer, label), openChannel(pair.answerer, label)])
  return { pair, local, remote }
}

function nameOf (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    return (err as Error).name
  }
  return 'no error'
}

/** Resolves once `check` holds, polling; rejects after timeoutMs. */
async function until (check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('Channel', () => {
  it('delivers 10,000 messages on a reliable channel complete and in order', async () => {
    const { local, remote } = await connected({ control: { ordered: true } }, 'control')
    const received: number[] = []
    remote.on('message', data => {
      received.push(typeof data === 'string' ? Number(data) : data.readUInt32BE(0))
    })
    for (let i = 0; i < 10_000; i++) {
      if (i % 2 === 0) local.send(String(i))
      else {
        const bytes = Buffer.alloc(4)
        bytes.writeUInt32BE(i)
        local.send(bytes)
      }
    }
    await until(() => received.length >= 10_000)
    expect(received).toEqual(Array.from({ length: 10_000 }, (_, i) => i))
    expect(local.stats()).toMatchObject({ messagesSent: 10_000, dropped: 0, queued: 0 })
    expect(remote.stats().messagesReceived).toBe(10_000)
  })

  it('keeps a lossy channel flowing under overload, dropping the oldest queued messages and counting them', async () => {
    const { local, remote } = await connected({ telemetry: { ordered: false, maxRetransmits: 0 } }, 'telemetry')
    expect(local.lossy).toBe(true)
    let received = 0
    let last = -1
    remote.on('message', data => {
      received++
      last = Math.max(last, (data as Buffer).readUInt32BE(0))
    })
    const total = 20_000
    const payload = Buffer.alloc(1024)
    for (let i = 0; i < total; i++) {
      payload.writeUInt32BE(i)
      local.send(payload)
    }
    const dropped = local.stats().dropped
    expect(dropped).toBeGreaterThan(0)
    await until(() => local.stats().queued === 0 && local.bufferedAmount === 0)
    await until(() => received + dropped >= total, 5000).catch(() => {}) // PR-SCTP may still abandon a few
    expect(received).toBeGreaterThan(0)
    expect(received).toBeLessThanOrEqual(total - dropped)
    // The newest message is never the one dropped: drop-oldest keeps the freshest data.
    expect(last).toBe(total - 1)
    expect(local.stats().messagesSent).toBe(total - dropped)
  })

  it('applies backpressure: 50 MB through write() keeps the send buffer bounded', async () => {
    const highWaterMark = 1024 * 1024
    const { local, remote } = await connected({ bulk: { ordered: true } }, 'bulk', { highWaterMark, lowWaterMark: 256 * 1024 })
    const chunk = 64 * 1024
    const total = 50 * 1024 * 1024
    let receivedBytes = 0
    let outOfOrder = 0
    let expected = 0
    remote.on('message', data => {
      const bytes = data as Buffer
      if (bytes[0] !== expected % 256) outOfOrder++
      expected++
      receivedBytes += bytes.byteLength
    })
    let maxBuffered = 0
    for (let sent = 0, n = 0; sent < total; sent += chunk, n++) {
      await local.write(Buffer.alloc(chunk, n % 256))
      maxBuffered = Math.max(maxBuffered, local.bufferedAmount)
    }
    expect(maxBuffered).toBeLessThanOrEqual(highWaterMark + chunk)
    await until(() => receivedBytes >= total, 60_000)
    expect(receivedBytes).toBe(total)
    expect(outOfOrder).toBe(0)
  }, 120_000)

  it('refuses a message over maxMessageSize with MessageTooLargeError and stays usable', async () => {
    const { local, remote } = await connected({ control: { ordered: true } }, 'control')
    expect(local.maxMessageSize).toBe(262_144)
    const tooBig = Buffer.alloc(local.maxMessageSize + 1)
    expect(nameOf(() => local.send(tooBig))).toBe('MessageTooLargeError')
    expect(nameOf(() => local.send('x'.repeat(local.maxMessageSize + 1)))).toBe('MessageTooLargeError')
    await expect(local.write(tooBig)).rejects.toMatchObject({ name: 'MessageTooLargeError', size: 262_145, limit: 262_144 })
    const got = waitFor<[string | Buffer]>(remote, 'message')
    local.send(Buffer.alloc(local.maxMessageSize, 7))
    const [data] = await got
    expect((data as Buffer).byteLength).toBe(262_144)
  })

  it('rejects waiting writes when the channel closes, and sending on a closed channel', async () => {
    const { local, remote } = await connected({ bulk: { ordered: true } }, 'bulk', { highWaterMark: 64 * 1024, lowWaterMark: 16 * 1024 })
    const writes: Array<Promise<void>> = []
    for (let i = 0; i < 200; i++) writes.push(local.write(Buffer.alloc(60 * 1024)))
    const remoteClosed = waitFor(remote, 'close')
    local.close()
    const results = await Promise.allSettled(writes)
    const rejected = results.filter(r => r.status === 'rejected')
    expect(rejected.length).toBeGreaterThan(0)
    for (const r of rejected) expect((r as PromiseRejectedResult).reason.name).toBe('ChannelNotOpenError')
    expect(nameOf(() => local.send('x'))).toBe('ChannelNotOpenError')
    await remoteClosed
    expect(local.isClosed && remote.isClosed).toBe(true)
  })

  it('removes a channel the far end closed from the session', async () => {
    const { pair, local } = await connected({ control: { ordered: true }, other: { ordered: true } }, 'control')
    await openChannel(pair.answerer, 'other')
    const closed = waitFor(pair.answerer.channel('control')!, 'close')
    local.close()
    await closed
    expect(pair.answerer.channels().map(c => c.label)).toEqual(['other'])
    expect(pair.offerer.channels().map(c => c.label)).toEqual(['other'])
  })

  it('sends a Uint8Array view as exactly its bytes', async () => {
    const { local, remote } = await connected({ control: { ordered: true } }, 'control')
    const got = waitFor<[string | Buffer]>(remote, 'message')
    local.send(new Uint8Array([1, 2, 3, 4, 5]).subarray(1, 3))
    const [data] = await got
    expect([...(data as Buffer)]).toEqual([2, 3])
  })

  it('counts messages and bytes both ways', async () => {
    const { local, remote } = await connected({ control: { ordered: true } }, 'control')
    const echoed = waitFor<[string | Buffer]>(local, 'message')
    remote.on('message', data => { remote.send(data) })
    local.send('héllo')
    await echoed
    expect(local.stats()).toMatchObject({ label: 'control', ordered: true, open: true, messagesSent: 1, messagesReceived: 1, bytesSent: 6, bytesReceived: 6 })
  })
})
