import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import type { PeerId } from '@libp2p/interface'
import { ConnectionCheck } from '../../src/signalling/connection-check.ts'

const log = pino({ level: 'silent' })
const peer = (id: string): PeerId => ({ toString: () => id, equals: (o: PeerId) => o.toString() === id }) as unknown as PeerId

/** A libp2p with connections to `alive` (pings answer) and `dead` (pings never do). */
function fakeLibp2p (alive: string[], dead: string[]): { libp2p: any, hungUp: string[] } {
  const hungUp: string[] = []
  const open = new Set([...alive, ...dead])
  const libp2p = {
    getPeers: () => [...open].map(peer),
    getConnections: (p: PeerId) => open.has(p.toString()) ? [{}] : [],
    hangUp: async (p: PeerId) => { hungUp.push(p.toString()); open.delete(p.toString()) },
    services: {
      ping: {
        ping: async (p: PeerId, { signal }: { signal: AbortSignal }) => {
          if (alive.includes(p.toString())) return 1
          await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('aborted')) }) })
        }
      }
    }
  }
  return { libp2p, hungUp }
}

describe('ConnectionCheck', () => {
  it('tells of the hosts that went away, not of new ones', () => {
    let hosts = new Set(['127.0.0.1', '10.0.0.1'])
    const told: string[][] = []
    const { libp2p } = fakeLibp2p([], [])
    const check = new ConnectionCheck({ libp2p, redial: () => {}, onLost: h => { told.push(h) }, log, hosts: () => hosts })
    check.look()
    hosts = new Set(['127.0.0.1', '10.0.0.1', '10.0.0.2'])
    check.look()
    expect(told).toEqual([])
    hosts = new Set(['127.0.0.1', '10.0.0.2'])
    check.look()
    expect(told).toEqual([['10.0.0.1']])
    expect([...check.hosts()]).toEqual(['127.0.0.1', '10.0.0.2'])
    check.stop()
  })

  it('after a loss, hangs up on the connections that do not answer and dials them again', async () => {
    let hosts = new Set(['10.0.0.1'])
    const { libp2p, hungUp } = fakeLibp2p(['alive'], ['dead'])
    const redialled: string[] = []
    const check = new ConnectionCheck({ libp2p, redial: p => { redialled.push(p.toString()) }, onLost: () => {}, log, hosts: () => hosts })
    check.look()
    hosts = new Set(['10.0.0.9'])
    check.look()
    await expect.poll(() => redialled, { timeout: 3_000 }).toEqual(['dead'])
    expect(hungUp).toEqual(['dead'])
    check.stop()
  })

  it('verify: a peer without a connection needs none checked; a dead one is hung up on', async () => {
    const { libp2p, hungUp } = fakeLibp2p(['alive'], ['dead'])
    const check = new ConnectionCheck({ libp2p, redial: () => {}, onLost: () => {}, log, hosts: () => new Set() })
    expect(await check.verify(peer('none'))).toBe(true)
    expect(await check.verify(peer('alive'))).toBe(true)
    expect(await check.verify(peer('dead'))).toBe(false)
    expect(hungUp).toEqual(['dead'])
    check.stop()
  })
})
