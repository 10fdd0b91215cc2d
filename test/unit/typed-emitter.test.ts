import { describe, expect, it } from 'vitest'
import { TypedEmitter } from '../../src/util/typed-emitter.ts'

describe('TypedEmitter', () => {
  it('runs a once() listener at the first emit only', () => {
    const e = new TypedEmitter<{ tick: [number] }>()
    const seen: number[] = []
    e.once('tick', n => { seen.push(n) })
    expect(e.emit('tick', 1)).toBe(true)
    expect(e.emit('tick', 2)).toBe(false)
    expect(seen).toEqual([1])
    expect(e.listenerCount('tick')).toBe(0)
  })

  it('a throwing listener is reported and the others still run', () => {
    const e = new TypedEmitter<{ tick: [] }>()
    const errors: string[] = []
    e.onListenerError = (event, err) => { errors.push(`${event}: ${(err as Error).message}`) }
    let ran = false
    e.on('tick', () => { throw new Error('bad subscriber') })
    e.on('tick', () => { ran = true })
    e.emit('tick')
    expect(ran).toBe(true)
    expect(errors).toEqual(['tick: bad subscriber'])
  })
})
