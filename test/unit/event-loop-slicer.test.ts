import { describe, expect, it } from 'vitest'
import { EventLoopSlicer } from '../../src/util/event-loop-slicer.ts'

function busy (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* CPU work */ }
}

/** The longest the event loop went without running a timer, while `work` runs. */
async function maxLag (work: () => Promise<void>): Promise<number> {
  let last = performance.now()
  let max = 0
  const timer = setInterval(() => {
    const now = performance.now()
    max = Math.max(max, now - last)
    last = now
  }, 1)
  await work()
  clearInterval(timer)
  return Math.max(max, performance.now() - last)
}

describe('event loop slicer', () => {
  const burst = async (slicer?: EventLoopSlicer): Promise<void> => {
    // 300 pieces of 1 ms started at once, as gossipsub starts the validation of every message of an RPC.
    await Promise.all(Array.from({ length: 300 }, async () => {
      await slicer?.turn()
      busy(1)
    }))
  }

  it('a burst without it holds the event loop for all its work; with it, timers run between slices', async () => {
    const without = await maxLag(async () => { await burst() })
    const sliced = await maxLag(async () => { await burst(new EventLoopSlicer(10)) })
    expect(without).toBeGreaterThan(250)
    // About one 10 ms slice (plus a piece, plus a loaded machine's noise), not the 300 ms burst.
    expect(sliced).toBeLessThan(without / 3)
  })
})
