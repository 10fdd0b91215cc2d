import { describe, expect, it } from 'vitest'
import { oncePerTurn } from '../../src/util/once-per-turn.ts'

describe('oncePerTurn', () => {
  it('reads once for every call in a turn and its microtasks, and anew in the next turn', async () => {
    let reads = 0
    const get = oncePerTurn(() => ++reads)
    expect([get(), get()]).toEqual([1, 1])
    expect(await Promise.resolve().then(get)).toBe(1)
    await new Promise(resolve => setImmediate(resolve))
    expect(get()).toBe(2)
    expect(reads).toBe(2)
  })
})
