import { describe, expect, it } from 'vitest'
import { ChannelCounters } from '../../src/transport/channel-stats.ts'
import { byteLength, checkMessageSize } from '../../src/transport/payload.ts'
import { Waiters } from '../../src/transport/waiters.ts'
import { WriteChain } from '../../src/transport/write-chain.ts'

const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('Waiters', () => {
  it('wakeAll() releases every parked caller at once, and only those parked before it', async () => {
    const waiters = new Waiters()
    const woken: string[] = []
    void waiters.next().then(() => { woken.push('a') })
    void waiters.next().then(() => { woken.push('b') })
    await tick()
    expect(woken).toEqual([])
    waiters.wakeAll()
    void waiters.next().then(() => { woken.push('late') })
    await tick()
    expect(woken).toEqual(['a', 'b'])
    waiters.wakeAll()
    await tick()
    expect(woken).toEqual(['a', 'b', 'late'])
  })

  it('a woken caller that must wait again parks until the next wakeAll()', async () => {
    const waiters = new Waiters()
    let ready = false
    let rounds = 0
    const done = (async () => {
      while (!ready) { rounds++; await waiters.next() }
    })()
    waiters.wakeAll()
    await tick()
    expect(rounds).toBe(2)
    ready = true
    waiters.wakeAll()
    await done
    expect(rounds).toBe(2)
  })

  it('next(pollMs) resolves by itself after pollMs, or sooner on wakeAll()', async () => {
    const waiters = new Waiters()
    const started = performance.now()
    await waiters.next(30)
    expect(performance.now() - started).toBeGreaterThanOrEqual(25)
    const woken = waiters.next(60_000)
    waiters.wakeAll()
    await woken
  })

  it('a poll that fires leaves no entry behind (a long wait does not pile up)', async () => {
    const waiters = new Waiters()
    for (let i = 0; i < 5; i++) await waiters.next(5)
    expect(waiters.size).toBe(0)
    void waiters.next()
    expect(waiters.size).toBe(1)
    waiters.wakeAll()
    expect(waiters.size).toBe(0)
  })
})

describe('WriteChain', () => {
  it('runs writes one at a time in call order; a failed one rejects alone', async () => {
    const chain = new WriteChain()
    const log: string[] = []
    let release!: () => void
    const first = chain.run(async () => {
      log.push('first start')
      await new Promise<void>(resolve => { release = resolve })
      log.push('first end')
    })
    const second = chain.run(async () => { log.push('second'); throw new Error('boom') })
    const third = chain.run(async () => { log.push('third') })
    await tick()
    expect(log).toEqual(['first start'])
    release()
    await first
    await expect(second).rejects.toThrow('boom')
    await third
    expect(log).toEqual(['first start', 'first end', 'second', 'third'])
  })
})

describe('payload', () => {
  it('counts text as UTF-8 bytes and binary by its length', () => {
    expect(byteLength('hé')).toBe(3)
    expect(byteLength(new Uint8Array(5))).toBe(5)
    expect(byteLength(Buffer.from('abcd').subarray(1))).toBe(3)
  })

  it('refuses a message over the limit with MessageTooLargeError, naming size and limit', () => {
    expect(() => { checkMessageSize('chat', 'abcd', 4) }).not.toThrow()
    let caught: unknown
    try {
      checkMessageSize('chat', 'abcdé', 4)
    } catch (err) {
      caught = err
    }
    expect((caught as Error).name).toBe('MessageTooLargeError')
    expect(caught).toMatchObject({ size: 6, limit: 4 })
  })
})

describe('ChannelCounters', () => {
  it('counts messages and bytes each way into stats in the ChannelStats order', () => {
    const counters = new ChannelCounters()
    counters.sent('hé')
    counters.sent(new Uint8Array(10))
    counters.received(Buffer.alloc(7))
    const stats = counters.stats({ label: 'l', options: { ordered: false, maxRetransmits: 0 }, open: true, bufferedAmount: 12, dropped: 1, queued: 2 })
    expect(stats).toEqual({
      label: 'l',
      ordered: false,
      maxRetransmits: 0,
      open: true,
      messagesSent: 2,
      messagesReceived: 1,
      bytesSent: 13,
      bytesReceived: 7,
      bufferedAmount: 12,
      dropped: 1,
      queued: 2
    })
    expect(Object.keys(stats)).toEqual(['label', 'ordered', 'maxRetransmits', 'open', 'messagesSent', 'messagesReceived', 'bytesSent', 'bytesReceived', 'bufferedAmount', 'dropped', 'queued'])
  })

  it('leaves out the lossy options a channel does not have', () => {
    const stats = new ChannelCounters().stats({ label: 'r', options: { ordered: true }, open: false, bufferedAmount: 0, dropped: 0, queued: 0 })
    expect(stats).not.toHaveProperty('maxRetransmits')
    expect(stats).not.toHaveProperty('maxPacketLifeTime')
    expect(stats.messagesSent).toBe(0)
  })
})
