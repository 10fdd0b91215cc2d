import { describe, expect, it } from 'vitest'
import { PublishRateLimit } from '../../src/signalling/publish-rate-limit.ts'

describe('PublishRateLimit', () => {
  it('lets a burst through, then the refill rate, per author', () => {
    let now = 0
    const limit = new PublishRateLimit({ burst: 3, perSecond: 2, now: () => now })
    expect([1, 2, 3, 4].map(() => limit.take('a'))).toEqual([true, true, true, false])
    expect(limit.take('b')).toBe(true) // another author has a bucket of its own
    now += 500 // one token back
    expect([limit.take('a'), limit.take('a')]).toEqual([true, false])
    now += 10_000 // refilled to the burst, not beyond
    expect([1, 2, 3, 4].map(() => limit.take('a'))).toEqual([true, true, true, false])
  })

  it('forgets idle authors, so memory follows the active ones', () => {
    let now = 0
    const limit = new PublishRateLimit({ now: () => now })
    for (let i = 0; i < 1000; i++) limit.take(`peer-${i}`)
    expect(limit.size).toBe(1000)
    now += 61_000
    limit.take('fresh')
    expect(limit.size).toBe(1)
  })

  it('keeps up with an honest daemon announcing every 100 ms', () => {
    let now = 0
    const limit = new PublishRateLimit({ now: () => now })
    for (let i = 0; i < 600; i++, now += 100) expect(limit.take('honest')).toBe(true)
  })
})
