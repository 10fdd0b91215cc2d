import { describe, expect, it } from 'vitest'
import { AddressBudget } from '../../src/signalling/address-budget.ts'

const addr = (i: number): string => `/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001`

describe('address budget', () => {
  it('lets a peer have maxPerPeer addresses, and the known ones again', () => {
    const b = new AddressBudget({ maxPerPeer: 3 })
    expect([0, 1, 2, 3, 4].map(i => b.allows('p', addr(i)))).toEqual([true, true, true, false, false])
    expect(b.allows('p', addr(1))).toBe(true)
    expect(b.allows('q', addr(4))).toBe(true)
  })

  it('forgets a peer\'s addresses after the TTL without news, so a peer that moved is heard', () => {
    let now = 0
    const b = new AddressBudget({ maxPerPeer: 1, ttlMs: 1000, now: () => now })
    expect(b.allows('p', addr(0))).toBe(true)
    expect(b.allows('p', addr(1))).toBe(false)
    now = 1001
    expect(b.allows('p', addr(1))).toBe(true)
  })

  it('tracks at most maxPeers peers, forgetting the least recently seen', () => {
    const b = new AddressBudget({ maxPerPeer: 1, maxPeers: 2 })
    b.allows('a', addr(0))
    b.allows('b', addr(0))
    b.allows('a', addr(0))
    b.allows('c', addr(0))
    expect(b.peers).toBe(2)
    // 'a' was seen again after 'b': it is still known and full; 'b' was forgotten and starts afresh.
    expect(b.allows('a', addr(9))).toBe(false)
    expect(b.allows('b', addr(9))).toBe(true)
  })
})
