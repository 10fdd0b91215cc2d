import { describe, expect, it } from 'vitest'
import { together, type Startable } from '../../src/util/startable.ts'

class Failure extends Error { override name = 'Failure' }

/** A service that records what happened to it, starting after `ms`. */
function service (log: string[], name: string, ms: number, fails = false): Startable {
  return {
    start: async () => {
      log.push(`${name} starting`)
      await new Promise(resolve => setTimeout(resolve, ms))
      if (fails) throw new Failure(`${name} failed`)
      log.push(`${name} started`)
    },
    stop: async () => { log.push(`${name} stopped`) }
  }
}

describe('together', () => {
  it('starts the services at the same time and stops them all', async () => {
    const log: string[] = []
    const group = together(service(log, 'a', 30), service(log, 'b', 5))
    await group.start()
    expect(log).toEqual(['a starting', 'b starting', 'b started', 'a started'])
    await group.stop()
    expect(log.slice(4).sort()).toEqual(['a stopped', 'b stopped'])
  })

  it('stops what started when one fails, and throws that failure', async () => {
    const log: string[] = []
    const group = together(service(log, 'a', 5), service(log, 'b', 20, true))
    const err = await group.start().then(() => undefined, (e: unknown) => e)
    expect((err as Error).name).toBe('Failure')
    expect(log).toContain('a stopped')
    expect(log).not.toContain('b stopped')
  })

  it('runs every stop and throws the first failure', async () => {
    const log: string[] = []
    const broken: Startable = { start: async () => {}, stop: async () => { throw new Failure('stop') } }
    const group = together(broken, service(log, 'b', 0))
    await group.start()
    const err = await group.stop().then(() => undefined, (e: unknown) => e)
    expect((err as Error).name).toBe('Failure')
    expect(log).toContain('b stopped')
  })
})
