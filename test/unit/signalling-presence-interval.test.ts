import { describe, expect, it } from 'vitest'
import { PEERS_PER_INTERVAL, presenceExpiryMs, presenceIntervalMs } from '../../src/signalling/presence-interval.ts'

describe('presence interval', () => {
  it('keeps the base interval in small swarms and stretches it in proportion beyond', () => {
    expect(presenceIntervalMs(5_000, 0)).toBe(5_000)
    expect(presenceIntervalMs(5_000, PEERS_PER_INTERVAL)).toBe(5_000)
    expect(presenceIntervalMs(5_000, PEERS_PER_INTERVAL + 1)).toBe(10_000)
    expect(presenceIntervalMs(5_000, 19)).toBe(15_000)
    // Records per second each daemon handles stay about the same as the swarm grows.
    const rate = (n: number): number => n / presenceIntervalMs(5_000, n - 1)
    expect(rate(200)).toBeLessThanOrEqual(rate(8) * 1.01)
  })

  it('waits as many of the peer\'s own intervals as ours before a silent peer is gone', () => {
    const base = { expiryMs: 20_000, intervalMs: 5_000 }
    expect(presenceExpiryMs(base, undefined)).toBe(20_000)
    expect(presenceExpiryMs(base, 5_000)).toBe(20_000)
    expect(presenceExpiryMs(base, 2_000)).toBe(20_000)
    expect(presenceExpiryMs(base, 15_000)).toBe(60_000)
  })
})
